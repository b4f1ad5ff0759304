"""Length-bucketed training batches: less padding, still random batches."""
from typing import Iterator, List, Sequence

import torch
from torch.utils.data import Sampler


class LengthBucketBatchSampler(Sampler[List[int]]):
    r"""Batches of samples of similar length, in a random order every epoch.

    Each epoch shuffles the samples (seeded by :obj:`seed + epoch`), cuts the
    permutation into pools of :obj:`pool_batches * batch_size` samples, sorts
    each pool by length and cuts it into batches, then shuffles the order of
    all batches. Batches hold samples of similar length, so the encoder pads
    little, and both their content (the pool a sample falls in) and their
    order change every epoch. Only the last batch of an epoch may be short.

    Under DDP every process builds the same global batches (the generator
    does not depend on the rank) and takes its share of each, rows
    :obj:`rank, rank + num_replicas, ...`: the split the trainer's
    :class:`~torch.utils.data.DistributedSampler` makes of a plain batch. A
    global batch whose size is not a multiple of :obj:`num_replicas` is
    completed with the first samples of the epoch's permutation (as
    :class:`DistributedSampler` completes the epoch), so that no process gets
    an empty batch.

    Args:
        lengths (Sequence[int]): The length of each sample (e.g. its
            sub-words, :meth:`jmere_pyg.nn.WordEncoder.subword_lengths`).
        batch_size (int): Samples per global batch, over all processes.
        num_replicas (int, optional): Processes. (default: :obj:`1`)
        rank (int, optional): This process. (default: :obj:`0`)
        seed (int, optional): Seed of the shuffles. (default: :obj:`0`)
        pool_batches (int, optional): Batches per sorted pool; larger pools
            pad less and mix less. (default: :obj:`50`)

    Yields:
        the dataset indices of this process's share of each global batch.
    """
    def __init__(self, lengths: Sequence[int], batch_size: int,
                 num_replicas: int = 1, rank: int = 0, seed: int = 0,
                 pool_batches: int = 50):
        super().__init__()
        if batch_size < 1 or pool_batches < 1:
            raise ValueError(f"batch_size ({batch_size}) and pool_batches "
                             f"({pool_batches}) must be positive")
        if batch_size % num_replicas:
            raise ValueError(f"batch_size {batch_size} must be divisible by "
                             f"the number of processes ({num_replicas})")
        if not 0 <= rank < num_replicas:
            raise ValueError(f"rank {rank} is not in [0, {num_replicas})")
        self.lengths = torch.as_tensor(list(lengths), dtype=torch.long)
        self.batch_size = batch_size
        self.num_replicas = num_replicas
        self.rank = rank
        self.seed = seed
        self.pool_batches = pool_batches
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        r"""Sets the epoch, which seeds the shuffles with the seed."""
        self.epoch = epoch

    def global_batches(self) -> List[List[int]]:
        r"""The batches of the current epoch over all processes, each
        completed to a multiple of :obj:`num_replicas`."""
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        permutation = torch.randperm(len(self.lengths), generator=generator)
        pool = self.pool_batches * self.batch_size
        batches = []
        for start in range(0, len(permutation), pool):
            chunk = permutation[start:start + pool]
            order = torch.sort(self.lengths[chunk], stable=True).indices
            batches.extend(chunk[order].split(self.batch_size))
        shuffled = torch.randperm(len(batches), generator=generator).tolist()
        batches = [batches[i].tolist() for i in shuffled]
        for batch in batches:
            short = -len(batch) % self.num_replicas
            batch.extend(permutation[k % len(permutation)].item()
                         for k in range(short))
        return batches

    def __iter__(self) -> Iterator[List[int]]:
        for batch in self.global_batches():
            yield batch[self.rank::self.num_replicas]

    def __len__(self) -> int:
        return -(-len(self.lengths) // self.batch_size)


def padding_ratio(lengths: Sequence[int],
                  batches: Sequence[Sequence[int]]) -> float:
    r"""Positions the encoder runs (each batch padded to its longest sample)
    over the real positions: :math:`\sum_b |b| \max_{i \in b} \ell_i /
    \sum_i \ell_i` over the samples of :obj:`batches`."""
    padded = sum(len(batch) * max(lengths[i] for i in batch)
                 for batch in batches if batch)
    real = sum(lengths[i] for batch in batches for i in batch)
    return padded / real
