"""PNG charts: learning curves, per-relation F1, node transport plans."""
import json

import pytest
import torch

from jmere_pyg import EEGA, EEGAConfig
from jmere_pyg.data import Entity, Quintuple, Sample
from jmere_pyg.data import SceneGraph, SceneObject, SceneRelation
from jmere_pyg.graphs import GraphBuilder
from jmere_pyg.metrics import quintuple_metrics

pytest.importorskip("matplotlib")
from jmere_pyg.plots import plot_run, plot_transport_plan  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def assert_png(path):
    assert path.is_file() and path.read_bytes()[:8] == PNG_SIGNATURE


@pytest.mark.parametrize("averaged", [False, True])
def test_plot_run_writes_curves_and_per_relation(tmp_path, averaged):
    gold = [[Quintuple(Entity(0, 1, "per"), Entity(2, 3, "org"), "member_of")]]
    metrics = quintuple_metrics(gold, gold)
    with open(tmp_path / "log.jsonl", "w") as log:
        for epoch in (1, 2):
            record = {
                "epoch": epoch, "loss": 1.0 / epoch, "main_loss": 0.9 / epoch,
                "val_strict": metrics["strict"], "val_paper": metrics["paper"],
                "val_mner": metrics["mner"]}
            if averaged:  # a weight-averaged run scores both
                record["online"] = {"strict": metrics["strict"],
                                    "paper": metrics["paper"],
                                    "mner": metrics["mner"]}
            log.write(json.dumps(record) + "\n")
    (tmp_path / "metrics.json").write_text(json.dumps(metrics))
    written = plot_run(tmp_path)
    assert [p.name for p in written] == ["learning_curves.png",
                                         "per_relation_f1.png"]
    for path in written:
        assert_png(path)


def model_and_graph(tiny_encoder_path, **overrides):
    scene = SceneGraph([SceneObject("man", 0.9, [0, 0, 5, 5]),
                        SceneObject("ball", 0.8, [5, 5, 9, 9])],
                       [SceneRelation(0, "holding", 1)])
    sample = Sample(["Curry", "holds", "the", "ball"], "a.jpg",
                    [], scene)
    builder = GraphBuilder().fit([sample])
    torch.manual_seed(0)
    model = EEGA.from_builder(builder, EEGAConfig(
        encoder=tiny_encoder_path, heads=2, edge_dim=8, channel_dim=8,
        object_dim=16, **overrides))
    return model, builder.build(sample)


def test_transport_plan_plot_leaves_the_model_as_it_was(tmp_path,
                                                        tiny_encoder_path):
    model, graph = model_and_graph(tiny_encoder_path)
    model.train()
    path = plot_transport_plan(model, graph, tmp_path / "plan.png")
    assert_png(path)
    assert model.training


def test_transport_plan_plot_needs_the_alignment(tmp_path, tiny_encoder_path):
    model, graph = model_and_graph(tiny_encoder_path, use_alignment=False)
    with pytest.raises(ValueError, match="no alignment module"):
        plot_transport_plan(model, graph, tmp_path / "plan.png")
