"""Length-bucketed batches and the learning-rate schedules."""
import pytest
import torch

from jmere_pyg.training import TrainingConfig
from jmere_pyg.training.sampling import LengthBucketBatchSampler, padding_ratio
from jmere_pyg.training.trainer import build_scheduler


def random_lengths(n, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(5, 120, (n,), generator=generator).tolist()


def test_every_sample_once_per_epoch_in_sorted_pools():
    lengths = random_lengths(203)
    sampler = LengthBucketBatchSampler(lengths, batch_size=8, seed=3,
                                       pool_batches=5)
    batches = list(sampler)
    assert len(batches) == len(sampler) == 26
    assert sorted(i for b in batches for i in b) == list(range(203))
    assert sorted(len(b) for b in batches)[1:] == [8] * 25
    # Each batch is a run of its pool sorted by length.
    assert all([lengths[i] for i in b] == sorted(lengths[i] for i in b)
               for b in batches)
    plain = torch.randperm(203, generator=torch.Generator().manual_seed(3))
    whole = LengthBucketBatchSampler(lengths, batch_size=8, seed=3,
                                     pool_batches=100)
    ratios = [padding_ratio(lengths, [b.tolist() for b in plain.split(8)]),
              padding_ratio(lengths, batches),
              padding_ratio(lengths, list(whole))]
    assert ratios == sorted(ratios, reverse=True)
    assert ratios[0] > 1.5 and ratios[2] < 1.1


def test_batches_change_every_epoch_and_repeat_with_the_seed():
    lengths = random_lengths(160)
    sampler = LengthBucketBatchSampler(lengths, batch_size=8, seed=3)
    sampler.set_epoch(1)
    first = list(sampler)
    sampler.set_epoch(2)
    second = list(sampler)
    assert {tuple(sorted(b)) for b in first} != {tuple(sorted(b))
                                                 for b in second}
    again = LengthBucketBatchSampler(lengths, batch_size=8, seed=3)
    again.set_epoch(1)
    assert list(again) == first
    other = LengthBucketBatchSampler(lengths, batch_size=8, seed=4)
    other.set_epoch(1)
    assert list(other) != first


@pytest.mark.parametrize("replicas", [2, 4])
def test_every_process_takes_its_share_of_each_global_batch(replicas):
    lengths = random_lengths(50)
    single = LengthBucketBatchSampler(lengths, batch_size=8, seed=1)
    shares = [LengthBucketBatchSampler(lengths, batch_size=8, seed=1,
                                       num_replicas=replicas, rank=rank)
              for rank in range(replicas)]
    for sampler in [single] + shares:
        sampler.set_epoch(5)
    per_rank = [list(sampler) for sampler in shares]
    assert all(len(batches) == len(single) for batches in per_rank)
    for step, batch in enumerate(single):
        local = [batches[step] for batches in per_rank]
        # Equal, non-empty shares; a short last batch is completed.
        assert len({len(share) for share in local}) == 1 and local[0]
        merged = [i for k in range(len(local[0])) for i in
                  (share[k] for share in local)]
        assert merged[:len(batch)] == batch
        assert len(merged) == len(batch) + (-len(batch) % replicas)


def test_sampler_rejects_bad_settings():
    with pytest.raises(ValueError, match="divisible"):
        LengthBucketBatchSampler([3, 4, 5], batch_size=3, num_replicas=2)
    with pytest.raises(ValueError, match="rank"):
        LengthBucketBatchSampler([3, 4], batch_size=2, num_replicas=2, rank=2)
    with pytest.raises(ValueError, match="positive"):
        LengthBucketBatchSampler([3, 4], batch_size=0)


def test_padding_ratio():
    # Batches padded to 4 and 10: (2 * 4 + 3 * 10) / (2 + 4 + 10 + 10 + 10).
    lengths = [2, 4, 10, 10, 10]
    assert padding_ratio(lengths, [[0, 1], [2, 3, 4]]) == pytest.approx(
        38 / 36)


def lr_path(config, steps_per_epoch, steps):
    parameter = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([parameter], lr=0.5)
    scheduler = build_scheduler(optimizer, config, steps_per_epoch)
    rates = []
    for _ in range(steps):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return rates, optimizer.param_groups[0]["lr"], scheduler


def test_linear_warmup_rises_then_decays_to_zero():
    config = TrainingConfig(epochs=2, lr_schedule="linear_warmup",
                            warmup_ratio=0.2)
    # 10 steps, 2 of warm-up: the rate each optimiser step uses.
    rates, last, _ = lr_path(config, steps_per_epoch=5, steps=10)
    expected = [0.0, 0.25, 0.5, 0.4375, 0.375, 0.3125, 0.25, 0.1875, 0.125,
                0.0625]
    assert rates == pytest.approx(expected)
    assert last == 0.0


def test_plateau_is_the_default_and_waits_for_val():
    config = TrainingConfig(lr_decay=0.5, lr_decay_patience=1)
    assert config.lr_schedule == "plateau"
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.5)
    scheduler = build_scheduler(optimizer, config, steps_per_epoch=5)
    scheduler.step(0.3)
    scheduler.step(0.3)
    scheduler.step(0.3)
    assert optimizer.param_groups[0]["lr"] == 0.25
    assert isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)


def test_schedule_settings_are_checked():
    with pytest.raises(ValueError, match="lr_schedule"):
        TrainingConfig(lr_schedule="cosine")
    with pytest.raises(ValueError, match="warmup_ratio"):
        TrainingConfig(warmup_ratio=1.0)
