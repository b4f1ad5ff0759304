"""Helpers for the tests and benchmarks of jmere_pyg, as PyG keeps
``torch_geometric.testing``: slow, obvious references that the fast code is
compared with, and random inputs. Nothing else in the package imports this
layer (it sits at the top of ``docs/architecture.md``'s list, so the
layering test forbids it).

* :func:`matrix_product_distances`: syntactic distances by dense matrix
  products, the reference of :func:`~jmere_pyg.graphs.dependency_distances`.
* :func:`per_sample_pot_distances`: the alignment's node and edge terms
  solved by POT one sample at a time, the reference of the batched solvers.
* :func:`random_alignment_batch`: random word and object graphs shaped like
  a PyG batch, the inputs of :class:`~jmere_pyg.alignment.GraphAlignment`.
* :func:`describe_machine`, :func:`git_commit`: the machine (CPU with its
  speed-setting flags, GPU, versions) and commit every benchmark report
  names.
"""
from .alignment_inputs import AlignmentInputs, random_alignment_batch
from .alignment_reference import PerSampleResult, per_sample_pot_distances
from .distance_reference import matrix_product_distances
from .machine import describe_machine, git_commit

__all__ = [
    "AlignmentInputs",
    "PerSampleResult",
    "describe_machine",
    "git_commit",
    "matrix_product_distances",
    "per_sample_pot_distances",
    "random_alignment_batch",
]
