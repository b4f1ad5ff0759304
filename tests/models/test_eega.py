"""EEGA end to end on tiny random encoders: masks, gradients, save/load."""
import pytest
import torch
from torch_geometric.data import Batch

from jmere_pyg import EEGA, EEGAConfig, Predictor
from jmere_pyg.graphs import GraphBuilder

from tiny_eega import fit_builder, graphs, make_model, make_samples


@pytest.fixture(scope="module")
def builder():
    return fit_builder()


@pytest.mark.parametrize("mode,overrides", [
    ("sparse", {}), ("dense", {}), ("sparse", {"pair_conv_channels": 4}),
    ("sparse", {"pair_bilinear_dim": 4})])
def test_sample_alone_equals_sample_in_batch(builder, tiny_encoder_path, mode,
                                             overrides):
    model = make_model(builder, tiny_encoder_path, alignment_mode=mode,
                       **overrides).eval()
    data = graphs(builder, make_samples())
    with torch.no_grad():
        alone = model(Batch.from_data_list([data[0]])).logits
        batched = model(Batch.from_data_list([data[1], data[0], data[2],
                                              data[3]])).logits
    n1, n0 = data[1]["word"].num_nodes, data[0]["word"].num_nodes
    start = n1 * n1
    torch.testing.assert_close(batched[start:start + n0 * n0], alone,
                               atol=1e-5, rtol=1e-5)


def test_graph_term_keeps_the_papers_balance(builder, tiny_encoder_path):
    model = make_model(builder, tiny_encoder_path)
    batch = Batch.from_data_list(graphs(builder, make_samples()))
    output = model(batch)
    pairs_per_sample = batch["word", "pair", "word"].num_edges / batch.num_graphs
    expected = model.config.graph_loss_weight * output.graph_loss / pairs_per_sample
    torch.testing.assert_close(output.graph_term, expected)
    torch.testing.assert_close(output.loss, output.main_loss + expected)


def test_loss_and_gradients_reach_every_part(builder, tiny_encoder_path):
    model = make_model(builder, tiny_encoder_path)
    batch = Batch.from_data_list(graphs(builder, make_samples()))
    output = model(batch)
    assert torch.isfinite(output.loss)
    assert output.graph_loss is not None and output.graph_loss > 0
    output.loss.backward()
    for name, module in [("encoder", model.encoder),
                         ("word graph", model.word_graph),
                         ("object graph", model.object_graph),
                         ("object classes", model.object_class_embedding)]:
        grads = [p.grad for p in module.parameters() if p.grad is not None]
        assert grads, f"no gradient reaches the {name}"
        assert all(torch.isfinite(g).all() for g in grads)
        assert any(g.abs().sum() > 0 for g in grads), name


def test_object_features_get_gradients_only_with_image(tiny_encoder_path):
    samples = make_samples()
    for sample in samples:
        if sample.scene_graph is not None:
            for obj in sample.scene_graph.objects:
                obj.feature = [0.5, -1.0, 2.0, 0.1]
    builder = GraphBuilder(object_feature_dim=4).fit(samples)
    for use_image in (True, False):
        model = make_model(builder, tiny_encoder_path, use_image=use_image)
        batch = Batch.from_data_list(graphs(builder, samples))
        batch["object"].x.requires_grad_(True)
        model(batch).loss.backward()
        grad = batch["object"].x.grad
        if use_image:
            assert grad is not None and torch.isfinite(grad).all()
            assert grad.abs().sum() > 0
        else:
            assert grad is None


def test_batch_without_objects_has_no_graph_loss_and_no_nan(
        builder, tiny_encoder_path):
    model = make_model(builder, tiny_encoder_path)
    sample = make_samples()[2]
    assert sample.scene_graph is None
    output = model(Batch.from_data_list(graphs(builder, [sample])))
    assert torch.isfinite(output.loss)
    assert float(output.graph_loss.detach()) == 0.0
    output.loss.backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters()
               if p.grad is not None)


@pytest.mark.parametrize("overrides", [
    {"use_image": False}, {"use_alignment": False},
    {"use_edge_types": False}, {"use_multi_channel": False},
    {"alignment_nodes_only": True}, {"pair_conv_channels": 4},
    {"pair_bilinear_dim": 4}])
def test_ablations_run(builder, tiny_encoder_path, overrides):
    model = make_model(builder, tiny_encoder_path, **overrides)
    output = model(Batch.from_data_list(graphs(builder, make_samples())))
    assert torch.isfinite(output.loss)
    output.loss.backward()


@pytest.mark.parametrize("overrides", [{}, {"pair_conv_channels": 4},
                                       {"pair_bilinear_dim": 4}])
def test_save_and_reload_predict_the_same(builder, tiny_encoder_path,
                                          tmp_path, overrides):
    model = make_model(builder, tiny_encoder_path, **overrides).eval()
    samples = make_samples()
    batch = Batch.from_data_list(graphs(builder, samples))
    model.save_pretrained(tmp_path / "ckpt")
    for name in ("config.json", "model.safetensors", "graph_builder.json",
                 "encoder/config.json"):
        assert (tmp_path / "ckpt" / name).is_file(), name
    reloaded = EEGA.from_pretrained(tmp_path / "ckpt").eval()
    with torch.no_grad():
        torch.testing.assert_close(reloaded(batch).logits,
                                   model(batch).logits)
    assert (Predictor(reloaded).predict(samples)
            == Predictor(model).predict(samples))


def test_config_rejects_unknown_mode_and_fields():
    with pytest.raises(ValueError, match="alignment_mode"):
        EEGAConfig(alignment_mode="fast")
    with pytest.raises(ValueError, match="unknown EEGAConfig fields"):
        EEGAConfig.from_dict({"hidden": 3})
    with pytest.raises(ValueError, match="pair_conv_channels"):
        EEGAConfig(pair_hidden_dim=None, pair_conv_channels=8)
    with pytest.raises(ValueError, match="pair_bilinear_dim"):
        EEGAConfig(pair_bilinear_dim=0)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_cuda_matches_cpu(chain_parser, tiny_encoder_path):
    # The stub parser: GPU machines often lack spaCy.
    builder = fit_builder(chain_parser)
    model = make_model(builder, tiny_encoder_path).eval()
    batch = Batch.from_data_list(graphs(builder, make_samples()))
    with torch.no_grad():
        cpu = model(batch).logits
        gpu = model.to("cuda")(batch.to("cuda")).logits.cpu()
    torch.testing.assert_close(gpu, cpu, atol=1e-4, rtol=1e-4)


def test_config_rejects_an_unknown_entity_decoding():
    with pytest.raises(ValueError, match="entity_decoding"):
        EEGAConfig(entity_decoding="greedy")
