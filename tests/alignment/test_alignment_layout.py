import torch

from jmere_pyg.alignment.batching import AlignmentLayout, AlignmentProblem
from jmere_pyg.alignment.costs import cosine_distance_dense


def test_layout_keeps_samples_with_objects_and_words():
    batch_word = torch.tensor([0, 0, 1, 1, 1, 2, 3, 3])
    # Sample 1 has no object, sample 4 no word.
    batch_obj = torch.tensor([0, 2, 2, 3, 4])
    layout = AlignmentLayout.from_batch(batch_word, batch_obj, num_graphs=5)
    assert layout.has_objects.tolist() == [True, False, True, True, False]
    assert layout.sample_index.tolist() == [0, 2, 3]
    assert layout.num_aligned == 3
    words, objects = layout.words, layout.objects
    assert (words.size, objects.size) == (2, 2)
    assert words.counts.tolist() == [2, 1, 2]
    assert words.ranges() == [(0, 2), (5, 1), (6, 2)]
    # Words of sample 1 are dropped (slot one past the end: 3 * 2).
    assert words.slot_of_node.tolist() == [0, 1, 6, 6, 6, 2, 4, 5]
    assert objects.slot_of_node.tolist() == [0, 2, 3, 4, 6]
    assert words.mask.tolist() == [[True, True], [True, False], [True, True]]
    assert layout.pair_mask.shape == (3, 2, 2)


def test_pad_and_kept_edges():
    batch_word = torch.tensor([0, 0, 1, 2, 2, 2])
    batch_obj = torch.tensor([0, 2])
    layout = AlignmentLayout.from_batch(batch_word, batch_obj, num_graphs=3)
    x = torch.arange(6.).unsqueeze(1).repeat(1, 2)
    padded = layout.words.pad(x)
    assert padded.shape == (2, 3, 2)
    assert padded[:, :, 0].tolist() == [[0, 1, 0], [3, 4, 5]]
    edge_index = torch.tensor([[0, 1, 2, 3, 5], [1, 0, 2, 4, 3]])
    kept, slots = layout.words.kept_edges(edge_index)
    assert kept.tolist() == [[0, 1, 3, 5], [1, 0, 4, 3]]
    assert slots.tolist() == [[0, 1, 3, 5], [1, 0, 4, 3]]


def test_uniform_mass():
    layout = AlignmentLayout.from_batch(torch.tensor([0, 0, 0, 1]),
                                        torch.tensor([0, 1]), num_graphs=2)
    mass = layout.words.uniform_mass(torch.float64)
    assert torch.allclose(mass, torch.tensor([[1 / 3] * 3, [1.0, 0, 0]],
                                             dtype=torch.float64))
    tiny = layout.words.uniform_mass(torch.float64, padding_mass=1e-12)
    assert torch.allclose(tiny.sum(1), torch.ones(2, dtype=torch.float64))
    assert (tiny[1, 1:] > 0).all()


def test_problem_node_cost_matches_padded_dense_cost(mixed_batch):
    problem = AlignmentProblem(mixed_batch.x_word, mixed_batch.batch_word,
                               mixed_batch.x_obj, mixed_batch.batch_obj,
                               mixed_batch.num_graphs)
    expected = cosine_distance_dense(problem.padded_objects,
                                     problem.padded_words)
    assert torch.allclose(problem.node_cost(), expected)
    values = torch.arange(4.0).unsqueeze(1)
    per_sample = problem.per_sample(values)
    assert per_sample.squeeze(1).tolist() == [0, 0, 1, 2, 3]
