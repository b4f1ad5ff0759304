"""bf16 autocast training (TrainingConfig.mixed_precision) follows float32,
and a device without native bfloat16 trains in float32 instead."""
import pytest
import torch
from torch_geometric.data import Batch

from jmere_pyg import EEGA, EEGAConfig
from jmere_pyg.data import (Entity, Quintuple, Sample, SceneGraph,
                            SceneObject, SceneRelation)
from jmere_pyg.graphs import GraphBuilder
from jmere_pyg.training import TrainingConfig
from jmere_pyg.training import precision
from jmere_pyg.training.precision import (autocast, device_precision,
                                          has_native_bf16)
from jmere_pyg.training.trainer import build_optimizer, train_step

#: Largest relative difference allowed between a bf16-autocast step's loss
#: and float32's, over the first steps from the same weights (bfloat16 keeps
#: 8 significant bits: a relative rounding of 0.4 % per operation; measured
#: here: at most 0.1 %).
LOSS_RTOL = 0.01
STEPS = 4


def samples():
    per, org = (lambda s, e, t=t: Entity(s, e, t) for t in ("per", "org"))
    scene = SceneGraph(
        [SceneObject(label, 0.9, [0.0, 0.0, 5.0, 5.0])
         for label in ("man", "trophy", "shirt")],
        [SceneRelation(0, "holding", 1), SceneRelation(0, "wearing", 2)])
    return [
        Sample(["Curry", "and", "Thompson", "won", "the", "NBA", "trophy"],
               "a.jpg", [Quintuple(per(0, 1), per(2, 3), "peer"),
                         Quintuple(per(2, 3), org(5, 6), "member_of")],
               scene),
        Sample(["RT", "@nba", ":", "Thompson", "joins", "the", "team"],
               "b.jpg", [Quintuple(per(3, 4), org(5, 7), "member_of")],
               scene),
        Sample(["so", "happy", "with", "the", "team"], None, []),
    ]


@pytest.fixture
def setup(tiny_encoder_path, chain_parser):
    data = samples()
    # The stub parser: GPU machines, where the bf16 test runs, often lack
    # spaCy.
    builder = GraphBuilder(parser=chain_parser).fit(data)
    batch = Batch.from_data_list(
        [builder.build(s, sample_index=i) for i, s in enumerate(data)])
    return builder, batch, tiny_encoder_path


def make_model(builder, encoder):
    torch.manual_seed(0)
    return EEGA.from_builder(builder, EEGAConfig(
        encoder=encoder, heads=2, edge_dim=8, channel_dim=8, object_dim=16,
        dropout=0.0)).train()


def losses(setup, mixed_precision, device="cpu"):
    builder, batch, encoder = setup
    model = make_model(builder, encoder).to(device)
    batch = batch.to(device)
    config = TrainingConfig(device=device, lr=1e-3, encoder_lr=1e-3,
                            mixed_precision=mixed_precision)
    optimizer = build_optimizer(model, config)
    return torch.stack([train_step(model, model, batch, optimizer, config)
                        for _ in range(STEPS)]).cpu()


@pytest.mark.parametrize("device", [
    "cpu", pytest.param("cuda", marks=[
        pytest.mark.cuda, pytest.mark.skipif(not torch.cuda.is_available(),
                                             reason="needs CUDA")])])
def test_bf16_losses_follow_float32(setup, device):
    reference = losses(setup, "no", device)
    mixed = losses(setup, "bf16", device)
    assert reference.dtype == mixed.dtype == torch.float32
    assert (reference[:, 2] > 0).all()  # the alignment took part
    # The loss falls over the steps, so the check is not trivially met.
    assert reference[-1, 0] < 0.9 * reference[0, 0]
    assert torch.allclose(mixed, reference, rtol=LOSS_RTOL, atol=0)
    assert not torch.equal(mixed, reference)  # autocast did take effect


def test_autocast_leaves_the_alignment_in_float32(setup):
    builder, batch, encoder = setup
    model = make_model(builder, encoder)
    with autocast("bf16", torch.device("cpu")):
        output = model(batch)
    assert output.logits.dtype == torch.bfloat16
    assert output.alignment.node_plan.dtype == torch.float32
    assert output.alignment.edge_plan.dtype == torch.float32
    assert output.graph_loss.dtype == torch.float32


def test_mixed_precision_option_is_checked():
    with pytest.raises(ValueError, match="mixed_precision must be one of"):
        TrainingConfig(mixed_precision="fp8")


@pytest.mark.parametrize("avx512_bf16, amx, native", [
    (False, False, False), (True, False, True), (False, True, True)])
def test_a_cpu_has_native_bf16_with_avx512_bf16_or_amx(monkeypatch,
                                                      avx512_bf16, amx,
                                                      native):
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported",
                        lambda: avx512_bf16)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)
    assert has_native_bf16(torch.device("cpu")) is native


@pytest.mark.parametrize("native", [False, True])
def test_bf16_falls_back_to_float32_without_native_bf16(monkeypatch,
                                                         native):
    monkeypatch.setattr(precision, "has_native_bf16", lambda device: native)
    asked = TrainingConfig(mixed_precision="bf16", seed=3)
    config, notice = device_precision(asked, torch.device("cpu"))
    if native:
        assert config == asked and notice is None
    else:
        assert config == asked.replace(mixed_precision="no")
        assert "this CPU has no AVX512-BF16 or AMX" in notice
        assert "training in float32" in notice
    # float32 asked for is float32 everywhere, without a word.
    plain = TrainingConfig()
    assert device_precision(plain, torch.device("cpu")) == (plain, None)


def test_a_gpu_that_emulates_bf16_trains_in_float32(monkeypatch):
    # torch counts emulated bfloat16 (GPUs before Ampere) unless told not to.
    monkeypatch.setattr(torch.cuda, "is_bf16_supported",
                        lambda including_emulation=True: including_emulation)
    config, notice = device_precision(TrainingConfig(mixed_precision="bf16"),
                                      torch.device("cuda", 0))
    assert config.mixed_precision == "no"
    assert "this GPU has no bfloat16" in notice
