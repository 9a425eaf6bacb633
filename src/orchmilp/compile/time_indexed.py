"""The time-indexed RCPSP formulation in step-variable form (see models/time-indexed.md).

Variables ``z[j, t] = 1`` when agent ``j`` has started by grid time ``t``, for
``t`` in ``[ES_j, LS_j)``; below the window ``z`` is 0, from ``LS_j`` on it is 1.
A dummy agent ``n`` (the end) starts at the makespan. Agent ``j`` runs at
``t`` exactly when ``z[j, t] - z[j, t - p_j] = 1``.

Constraint families, one function each, stacked once:

* ``monotone``    z[j, t] <= z[j, t+1]
* ``precedence``  z[j, t] <= z[i, t - p_i]           for each dependency i -> j
                  (and each agent without successors -> end)
* ``cumulative``  sum_j u_jk (z[j, t] - z[j, t - p_j]) <= c_k
                  for each resource or file lock k and time t

Objective: minimise the end's start ``LS_end - sum_t z[end, t]``.
Rows that can never be violated inside the windows are dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..errors import HorizonInfeasible
from ..model.problem import Problem
from .model import LinearModel
from .windows import time_windows

__all__ = ["TimeIndexed"]


@dataclass
class _Block:
    """Terms ``coef * z[node, t]`` of rows ``row`` (local numbering), with ``row <= rhs``."""

    name: str
    row: np.ndarray
    node: np.ndarray
    t: np.ndarray
    coef: np.ndarray
    rhs: np.ndarray


def _ranges(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For ranges ``[lo_i, hi_i)``: (owner index, value) of every element, concatenated."""
    length = np.maximum(hi - lo, 0)
    owner = np.repeat(np.arange(len(lo)), length)
    first = np.repeat(np.cumsum(length) - length, length)
    return owner, lo[owner] + (np.arange(int(length.sum())) - first)


class TimeIndexed:
    """Time-indexed formulation of ``problem`` with grid durations ``p`` and horizon ``horizon``.

    ``lower`` is a known lower bound on the grid makespan (it narrows the end's
    window); ``windows`` (earliest starts and latest finishes from
    :mod:`orchmilp.bounds.propagation`, valid for makespans up to ``horizon``)
    narrow the agents' windows. :meth:`build` gives the matrix model;
    :meth:`encode` and :meth:`decode` map grid start times to the variable
    vector and back.
    """

    def __init__(
        self, problem: Problem, p: np.ndarray, horizon: int, lower: int = 0, windows=None, cliques: bool = True
    ):
        self.problem = problem
        self.cliques = cliques
        self.p = np.asarray(p, np.int64)
        self.horizon = int(horizon)
        es, ls = time_windows(problem, self.p, self.horizon)
        if windows is not None:
            if windows.horizon != self.horizon or not windows.feasible:
                raise ValueError("windows were propagated for another horizon")
            es = np.maximum(es, windows.es)
            ls = np.minimum(ls, windows.lf - self.p)
            if np.any(ls < es):
                raise HorizonInfeasible("empty time window")
        cp = int(np.max(es + self.p)) if problem.n else 0
        end_es = min(max(int(lower), cp), self.horizon)
        self.es = np.append(es, end_es)
        self.ls = np.append(ls, self.horizon)
        width = self.ls - self.es
        self.offset = np.concatenate(([0], np.cumsum(width)[:-1])).astype(np.int64)
        self.num_cols = int(width.sum())
        self.col_node, self.col_t = _ranges(self.es, self.ls)

    @property
    def end(self) -> int:
        return self.problem.n

    # -- variables -------------------------------------------------------
    def _z(self, node: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Column of ``z[node, t]`` (-1 where it is a constant) and its constant value."""
        es, ls = self.es[node], self.ls[node]
        var = (t >= es) & (t < ls)
        col = np.where(var, self.offset[node] + t - es, -1)
        return col, (t >= ls).astype(float)

    # -- constraint families --------------------------------------------
    def _monotone(self) -> _Block:
        owner, t = _ranges(self.es, self.ls - 1)
        rows = np.arange(len(t))
        return _Block(
            "monotone",
            np.concatenate([rows, rows]),
            np.concatenate([owner, owner]),
            np.concatenate([t, t + 1]),
            np.concatenate([np.ones(len(t)), -np.ones(len(t))]),
            np.zeros(len(t)),
        )

    def _precedence(self) -> _Block:
        prob = self.problem
        sinks = np.flatnonzero(np.diff(prob.succ_ptr) == 0)
        edges = np.concatenate([prob.edges, np.column_stack([sinks, np.full(len(sinks), self.end)])])
        pred, succ = edges[:, 0], edges[:, 1]
        owner, t = _ranges(self.es[succ], self.ls[succ])
        rows = np.arange(len(t))
        i, j = pred[owner], succ[owner]
        return _Block(
            "precedence",
            np.concatenate([rows, rows]),
            np.concatenate([j, i]),
            np.concatenate([t, t - self.p[i]]),
            np.concatenate([np.ones(len(t)), -np.ones(len(t))]),
            np.zeros(len(t)),
        )

    def _cumulative(self) -> _Block:
        cum = self.problem.cumulative_with_cliques if self.cliques else self.problem.cumulative
        n_res = cum.usage.shape[1]
        jobs, ks = np.nonzero((cum.usage > 0) & (self.p[: self.problem.n, None] > 0))
        lo = self.es[jobs]
        hi = self.ls[jobs] + self.p[jobs]
        owner, t = _ranges(lo, hi)
        j, k = jobs[owner], ks[owner]
        u = cum.usage[j, k]
        rows = k * (self.horizon + 1) + t
        return _Block(
            "cumulative",
            np.concatenate([rows, rows]),
            np.concatenate([j, j]),
            np.concatenate([t, t - self.p[j]]),
            np.concatenate([u, -u]),
            np.repeat(cum.capacity, self.horizon + 1) if n_res else np.zeros(0),
        )

    # -- assembly --------------------------------------------------------
    def _rows(self, block: _Block) -> tuple[sp.csr_matrix, np.ndarray]:
        """The block's rows as a sparse matrix and upper bounds, without constant or redundant rows."""
        n_rows = len(block.rhs)
        col, const = self._z(block.node, block.t)
        rhs = block.rhs - np.bincount(block.row, weights=block.coef * const, minlength=n_rows)
        var = col >= 0
        m = sp.csr_matrix((block.coef[var], (block.row[var], col[var])), shape=(n_rows, self.num_cols))
        m.sum_duplicates()
        m.eliminate_zeros()
        pos = m.maximum(0).sum(axis=1).A1
        neg = m.minimum(0).sum(axis=1).A1
        if np.any(neg > rhs + 1e-9):
            raise HorizonInfeasible(f"{block.name} rows infeasible inside the time windows")
        keep = np.flatnonzero(pos > rhs + 1e-9)
        return m[keep], rhs[keep]

    def build(self, names: bool = False) -> LinearModel:
        """Stack the constraint families into one sparse model (``names`` for LP/MPS export)."""
        parts, uppers, counts = [], [], {}
        for block in (self._monotone(), self._precedence(), self._cumulative()):
            m, ub = self._rows(block)
            parts.append(m)
            uppers.append(ub)
            counts[block.name] = m.shape[0]
        row_names = tuple(f"{name}_{i}" for name, count in counts.items() for i in range(count)) if names else ()
        matrix = sp.vstack(parts, format="csc") if parts else sp.csc_matrix((0, self.num_cols))
        row_upper = np.concatenate(uppers)
        cost = np.zeros(self.num_cols)
        cost[self.col_node == self.end] = -1.0
        return LinearModel(
            cost=cost,
            offset=float(self.ls[self.end]),
            matrix=matrix.tocsc(),
            row_lower=np.full(len(row_upper), -np.inf),
            row_upper=row_upper,
            col_lower=np.zeros(self.num_cols),
            col_upper=np.ones(self.num_cols),
            integral=np.ones(self.num_cols, bool),
            col_names=tuple(self.column_names()) if names else (),
            row_names=row_names,
        )

    def column_names(self) -> list[str]:
        """``z_<agent>_<t>`` names for LP/MPS export (other characters become ``_``)."""
        ids = [re.sub(r"[^A-Za-z0-9_]", "_", a) for a in self.problem.ids] + ["END"]
        return [f"z_{ids[j]}_{t}" for j, t in zip(self.col_node.tolist(), self.col_t.tolist())]

    # -- solutions -------------------------------------------------------
    def encode(self, start: np.ndarray) -> np.ndarray:
        """Variable vector of a grid schedule (start times in steps)."""
        start = np.asarray(start, np.int64)
        makespan = int(np.max(start + self.p)) if self.problem.n else 0
        full = np.append(start, max(makespan, int(self.es[self.end])))
        if np.any(full < self.es) or np.any(full > self.ls):
            raise ValueError("schedule outside the time windows")
        return (self.col_t >= full[self.col_node]).astype(float)

    def decode(self, x: np.ndarray) -> tuple[np.ndarray, int]:
        """Grid start times and makespan of a variable vector."""
        taken = np.bincount(self.col_node, weights=np.round(x), minlength=self.end + 1)
        start = self.ls - taken.astype(np.int64)
        return start[: self.end], int(start[self.end])
