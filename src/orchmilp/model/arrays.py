"""The problem as bundles of arrays, the arguments of the numba kernels.

Numba compiles named tuples of arrays into plain structs: a kernel that takes a
:class:`Graph`, a :class:`Resources` and a :class:`Disjunctions` costs no more than one
that takes their 9 arrays one by one (measured: bench/kernels.py), and its callers cannot
pass them in the wrong order.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["Graph", "Resources", "Disjunctions"]


class Graph(NamedTuple):
    """The dependencies: a topological order and the predecessor and successor lists in
    compressed rows (``pred_idx[pred_ptr[j]:pred_ptr[j + 1]]``); all int64."""

    topo: np.ndarray
    pred_ptr: np.ndarray
    pred_idx: np.ndarray
    succ_ptr: np.ndarray
    succ_idx: np.ndarray


class Resources(NamedTuple):
    """Cumulative limits: ``sum_j usage[j, k] * running_j <= capacity[k]`` (float64)."""

    usage: np.ndarray  # (n, K)
    capacity: np.ndarray  # (K,)


class Disjunctions(NamedTuple):
    """Agents that never overlap: pairs ``(pair_a[i], pair_b[i])``, and cliques in
    compressed rows (``clique_idx[clique_ptr[c]:clique_ptr[c + 1]]``); all int64."""

    pair_a: np.ndarray
    pair_b: np.ndarray
    clique_ptr: np.ndarray
    clique_idx: np.ndarray
