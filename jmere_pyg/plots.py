"""PNG charts: learning curves, per-relation F1, node transport plans.

matplotlib is an optional extra (``pip install jmere_pyg[plot]``).
"""
import json
from pathlib import Path
from typing import Dict, List

import torch
from torch_geometric.data import Batch, HeteroData

from .graphs import OBJECT, WORD
from .run_folder import LEARNING_CURVES_PLOT, PER_RELATION_PLOT, RunFolder


def _pyplot():
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise ImportError("plots need matplotlib: pip install "
                          "'jmere_pyg[plot]'") from error
    return plt


def plot_learning_curves(log_path: Path, out_path: Path) -> Path:
    """Training loss and val F1 (strict, paper, MNER) per epoch; for a
    weight-averaged run also the strict F1 of the weights themselves."""
    plt = _pyplot()
    records = [json.loads(line) for line in Path(log_path).read_text()
               .splitlines() if line.strip()]
    epochs = [r["epoch"] for r in records]
    fig, (loss_ax, f1_ax) = plt.subplots(1, 2, figsize=(10, 4))
    loss_ax.plot(epochs, [r["loss"] for r in records], label="total")
    loss_ax.plot(epochs, [r["main_loss"] for r in records], label="word pairs")
    loss_ax.set(xlabel="epoch", ylabel="training loss", title="Loss")
    loss_ax.legend()
    for key, label in (("val_strict", "quintuple (strict)"),
                       ("val_paper", "quintuple (paper)"),
                       ("val_mner", "MNER")):
        f1_ax.plot(epochs, [r[key]["f1"] for r in records], marker="o",
                   label=label)
    if all("online" in r for r in records):
        # A weight-averaged run: the weights themselves, dashed.
        f1_ax.plot(epochs, [r["online"]["strict"]["f1"] for r in records],
                   linestyle="--", label="quintuple (strict), not averaged")
    f1_ax.set(xlabel="epoch", ylabel="val F1", title="Validation F1")
    f1_ax.legend()
    fig.tight_layout()
    fig.savefig(out_path, dpi=120)
    plt.close(fig)
    return Path(out_path)


def plot_per_relation(metrics: Dict, out_path: Path) -> Path:
    """Horizontal bars of strict F1 per relation, with the support."""
    plt = _pyplot()
    per_relation = metrics["per_relation"]
    names = sorted(per_relation, key=lambda r: per_relation[r]["support"])
    fig, ax = plt.subplots(figsize=(7, 0.3 * len(names) + 1))
    ax.barh(names, [per_relation[r]["f1"] for r in names])
    for y, name in enumerate(names):
        ax.text(per_relation[name]["f1"] + 0.01, y,
                f"n={per_relation[name]['support']}", va="center", fontsize=7)
    ax.set(xlim=(0, 1.15), xlabel="strict F1", title="F1 per relation")
    fig.tight_layout()
    fig.savefig(out_path, dpi=120)
    plt.close(fig)
    return Path(out_path)


@torch.no_grad()
def plot_transport_plan(model, graph: HeteroData, out_path: Path) -> Path:
    """The node transport plan between the objects and words of one sample
    (as the paper's Figure 7)."""
    plt = _pyplot()
    if getattr(model, "alignment", None) is None:
        raise ValueError("the model has no alignment module (use_image or "
                         "use_alignment is off)")
    was_training = model.training
    model.eval()
    batch = Batch.from_data_list([graph]).to(model.device)
    output = model(batch)
    model.train(was_training)
    plan = output.alignment.node_plan[0]
    k, n = graph[OBJECT].num_nodes, graph[WORD].num_nodes
    plan = plan[:k, :n].cpu().numpy()
    labels = model.graph_builder.object_vocab.to_list()
    fig, ax = plt.subplots(figsize=(0.35 * n + 2, 0.35 * k + 2))
    ax.imshow(plan, cmap="Blues")
    ax.set_xticks(range(n), graph.tokens, rotation=90)
    ax.set_yticks(range(k), [labels[i] for i in graph[OBJECT].label.tolist()])
    ax.set_title("Node transport plan (objects x words)")
    fig.tight_layout()
    fig.savefig(out_path, dpi=120)
    plt.close(fig)
    return Path(out_path)


def plot_run(run_dir: Path) -> List[Path]:
    """Learning curves and per-relation F1 of a finished training run."""
    run = RunFolder(run_dir)
    written = [plot_learning_curves(run.log,
                                    run.path / LEARNING_CURVES_PLOT)]
    metrics = json.loads(run.metrics.read_text())
    written.append(plot_per_relation(metrics, run.path / PER_RELATION_PLOT))
    return written
