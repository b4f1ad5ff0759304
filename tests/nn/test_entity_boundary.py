"""The auxiliary entity boundary head: labels read from the gold grid, the
loss, and its place in EEGA's loss."""
import pytest
import torch
import torch.nn.functional as F
from torch_geometric.data import Batch

from jmere_pyg.data import Entity, Quintuple
from jmere_pyg.labels import ENTITY_TYPES, TAG_TO_ID
from jmere_pyg.nn import NUM_BOUNDARY_TAGS, EntityBoundaryHead, boundary_labels
from jmere_pyg.tagging import _decode_entities, encode_grid

from tiny_eega import fit_builder, graphs, make_model, make_samples


def grid_pairs(grids):
    """``pair_index`` and labels of a batch of grids, row-major per grid,
    words numbered over the batch (as the graphs store them)."""
    index, labels, offset = [], [], 0
    for grid in grids:
        n = grid.size(0)
        rows, cols = torch.meshgrid(torch.arange(n), torch.arange(n),
                                    indexing="ij")
        index.append(torch.stack([rows.reshape(-1), cols.reshape(-1)])
                     + offset)
        labels.append(grid.reshape(-1))
        offset += n
    return torch.cat(index, 1), torch.cat(labels), offset


def entities_of(tags):
    """The entities a boundary tag sequence spells (an inside tag follows
    the begin or inside tag of its type, as the labels are made)."""
    types, found = len(ENTITY_TYPES), []
    for i, tag in enumerate(tags):
        if 1 <= tag <= types:
            found.append([i, i + 1, ENTITY_TYPES[tag - 1]])
        elif tag > types:
            found[-1][1] = i + 1
    return [Entity(*entity) for entity in found]


def test_labels_spell_the_entities_that_diagonal_decoding_reads():
    per = lambda s, e: Entity(s, e, "per")
    gold = [
        # Two adjacent entities of one type, related: apart by their chain
        # cell alone.
        [Quintuple(per(0, 2), per(2, 3), "peer")],
        [Quintuple(Entity(1, 4, "org"), Entity(5, 6, "loc"), "locate_at"),
         Quintuple(per(6, 8), Entity(1, 4, "org"), "member_of")],
        [],
    ]
    grids = [encode_grid(n, q) for n, q in zip((4, 9, 3), gold)]
    index, labels, num_words = grid_pairs(grids)
    tags = boundary_labels(index, labels, num_words).tolist()
    offset = 0
    for grid in grids:
        n = grid.size(0)
        assert entities_of(tags[offset:offset + n]) == _decode_entities(grid)
        offset += n
    assert tags[:4] == [1, 5, 1, 0]  # B-per I-per B-per O
    assert max(tags) < NUM_BOUNDARY_TAGS


def test_a_relation_cell_on_the_chain_ends_an_entity():
    grid = torch.zeros(2, 2, dtype=torch.long)
    grid[0, 0] = grid[1, 1] = TAG_TO_ID["per"]
    index, labels, n = grid_pairs([grid])
    assert boundary_labels(index, labels, n).tolist() == [1, 1]
    grid[0, 1] = TAG_TO_ID["per"]
    index, labels, n = grid_pairs([grid])
    assert boundary_labels(index, labels, n).tolist() == [1, 5]


def test_loss_is_the_cross_entropy_of_the_labels():
    torch.manual_seed(0)
    head = EntityBoundaryHead(6, dropout=0.0)
    grid = encode_grid(3, [Quintuple(Entity(0, 2, "org"), Entity(2, 3, "loc"),
                                     "locate_at")])
    index, labels, n = grid_pairs([grid])
    x = torch.randn(n, 6)
    expected = F.cross_entropy(head(x), torch.tensor([2, 6, 3]))
    torch.testing.assert_close(head.loss(x, index, labels), expected)
    empty = head.loss(torch.zeros(0, 6), torch.zeros(2, 0, dtype=torch.long),
                      torch.zeros(0, dtype=torch.long))
    assert empty.item() == 0.0 and empty.requires_grad


@pytest.fixture(scope="module")
def builder():
    return fit_builder()


def test_eega_adds_the_weighted_boundary_loss(builder, tiny_encoder_path):
    batch = Batch.from_data_list(graphs(builder, make_samples()))
    plain = make_model(builder, tiny_encoder_path)
    assert plain.boundary_head is None and plain(batch).boundary_term is None
    model = make_model(builder, tiny_encoder_path, boundary_loss_weight=0.5)
    output = model(batch)
    assert output.boundary_term > 0
    torch.testing.assert_close(
        output.loss, output.main_loss + output.graph_term
        + output.boundary_term)
    output.boundary_term.backward()
    assert model.boundary_head.lin.weight.grad.abs().sum() > 0
    assert any(p.grad is not None and p.grad.abs().sum() > 0
               for p in model.encoder.parameters())
    # Without labels (prediction) the head costs nothing and changes nothing.
    model.eval()
    with torch.no_grad():
        unlabelled = batch.clone()
        del unlabelled["word", "pair", "word"].edge_label
        assert model(unlabelled).boundary_term is None


def test_config_rejects_a_negative_boundary_weight():
    from jmere_pyg import EEGAConfig
    with pytest.raises(ValueError, match="boundary_loss_weight"):
        EEGAConfig(boundary_loss_weight=-1.0)
