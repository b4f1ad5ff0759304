"""Syntactic distances the slow, obvious way: the reference that the
breadth-first :func:`~jmere_pyg.graphs.dependency_distances` is tested
against, and the "before" of ``benchmarks/speed/long_input.py``.

It was the implementation until the breadth-first search replaced it (main
at 3a1375d): ``max_distance`` products of the dense ``[n, n]`` adjacency
matrix, cubic in the words (11.9 s for 1,000 words against 0.06 s,
``benchmarks/results/reliability.md``).
"""
from typing import Sequence

import numpy as np


def matrix_product_distances(heads: Sequence[int],
                             max_distance: int = 10) -> np.ndarray:
    """Hops between every two words of the undirected dependency tree, by
    repeated boolean products of its adjacency matrix.

    Args:
        heads (sequence of int): Head index of each of the ``n`` words, a
            root being its own head.
        max_distance (int, optional): Clip value. (default: ``10``)

    Returns:
        int64 array ``[n, n]``, equal to ``dependency_distances(heads,
        max_distance).numpy()``.
    """
    n = len(heads)
    words = np.arange(n)
    heads = np.asarray(heads, dtype=np.int64).reshape(n)
    adjacency = np.zeros((n, n), dtype=bool)
    adjacency[words, heads] = True
    adjacency[heads, words] = True
    adjacency[words, words] = False
    adjacency = adjacency.astype(np.int32)
    distances = np.full((n, n), max_distance, dtype=np.int64)
    reached = np.eye(n, dtype=bool)
    distances[reached] = 0
    for hops in range(1, max_distance):
        grown = reached | ((reached.astype(np.int32) @ adjacency) > 0)
        new = grown & ~reached
        if not new.any():
            break
        distances[new] = hops
        reached = grown
    return distances
