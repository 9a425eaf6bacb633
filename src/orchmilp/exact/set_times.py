"""Depth-first "set times" search with propagation: prove a makespan impossible, or meet it.

The search (Le Pape et al. 1994) takes the agent with the earliest possible
start and either starts it exactly then, or postpones it: a postponed agent
is not chosen again until propagation moves its earliest start. When only
postponed agents remain, the node fails, since any schedule below it would
delay an agent that could have started earlier (every makespan reachable at
all is reached by such left-justified, *active*, schedules). Each node runs
the propagation of :mod:`.propagation` (dependencies, incompatible pairs,
time-tabling of resources, file locks and cliques).

Exhausting the tree proves that no schedule meets the trial makespan: a
destructive lower bound. Reaching a leaf gives a schedule. A node limit
keeps each probe short; the answer is then "unknown".
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..bounds.propagation import Propagator, _propagate_all
from ..clock import NO_DEADLINE, kernel_section, now
from ..model.problem import Problem
from .probe import FEASIBLE, INFEASIBLE, UNKNOWN, Probe

__all__ = ["probe"]

#: Most nodes between two looks at the clock, and the seconds aimed at between two looks: a
#: node of a few hundred agents can take 0.1 s (propagation over a long horizon), so the
#: interval is set from the measured time per node, from one node at the start.
_CLOCK_EVERY = 64
_CLOCK_SECONDS = 0.005
_FREE, _FIXED, _POSTPONED = 0, 1, 2


@njit(cache=True)
def _settimes(horizon, p, graph, resources, disjunctions, es0, lf0, node_limit, energetic, deadline):
    n = p.shape[0]
    max_depth = 4 * n + 16
    es = np.empty((max_depth, n), np.int64)
    lf = np.empty((max_depth, n), np.int64)
    state = np.empty((max_depth, n), np.int64)
    pes = np.empty((max_depth, n), np.int64)  # earliest start when postponed
    choice = np.full(max_depth, -1, np.int64)  # agent branched on at each depth
    branch = np.zeros(max_depth, np.int64)  # 0: next try "start now", 1: next try "postpone", 2: done
    es[0] = es0
    lf[0] = lf0
    for j in range(n):
        state[0, j] = _FIXED if p[j] == 0 and es0[j] + p[j] == lf0[j] else _FREE
        pes[0, j] = -1
    nodes = 0
    ticks = 0
    start = np.zeros(n, np.int64)
    if not _propagate_all(es[0], lf[0], p, graph, resources, disjunctions, horizon, energetic):
        return INFEASIBLE, start, nodes
    depth = 0
    branch[0] = 0
    choice[0] = -1
    every = 1  # nodes between looks at the clock, adapted to what a node costs
    looked_at, last_look = 1, now()  # as if looked at when the first node starts
    while depth >= 0:
        ticks += 1
        if nodes >= node_limit:
            return UNKNOWN, start, nodes
        if ticks - looked_at >= every:
            t = now()
            if t > deadline:
                return UNKNOWN, start, nodes
            per_tick = (t - last_look) / (ticks - looked_at)
            every = max(1, min(_CLOCK_EVERY, int(_CLOCK_SECONDS / max(per_tick, 1e-9))))
            looked_at, last_look = ticks, t
        # pick the agent of this node once, when we first arrive
        if choice[depth] < 0:
            best = -1
            unfinished = False
            for j in range(n):
                if state[depth, j] == _FIXED:
                    continue
                if es[depth, j] + p[j] == lf[depth, j] and p[j] == 0:
                    continue
                unfinished = True
                if state[depth, j] == _POSTPONED:
                    if es[depth, j] > pes[depth, j]:
                        state[depth, j] = _FREE
                    else:
                        continue
                if (
                    best < 0
                    or es[depth, j] < es[depth, best]
                    or (es[depth, j] == es[depth, best] and lf[depth, j] < lf[depth, best])
                ):
                    best = j
            if not unfinished:
                for j in range(n):
                    start[j] = es[depth, j]
                return FEASIBLE, start, nodes
            if best < 0:  # only postponed agents left: dominated
                depth -= 1
                continue
            choice[depth] = best
            branch[depth] = 0
        j = choice[depth]
        if branch[depth] >= 2 or depth + 1 >= max_depth:
            choice[depth] = -1
            depth -= 1
            continue
        child = depth + 1
        es[child] = es[depth]
        lf[child] = lf[depth]
        state[child] = state[depth]
        pes[child] = pes[depth]
        if branch[depth] == 0:
            lf[child, j] = es[child, j] + p[j]
            state[child, j] = _FIXED
        else:
            state[child, j] = _POSTPONED
            pes[child, j] = es[child, j]
        branch[depth] += 1
        nodes += 1
        if _propagate_all(es[child], lf[child], p, graph, resources, disjunctions, horizon, energetic):
            depth = child
            choice[depth] = -1
    return INFEASIBLE, start, nodes


def probe(
    prop: Propagator, horizon: int, node_limit: int = 10_000, energetic: bool = False, deadline: float = NO_DEADLINE
) -> Probe:
    """Search for a grid schedule of makespan at most ``horizon`` with the propagator's data
    (``energetic`` adds energetic reasoning at every node: fewer, slower nodes). It stops,
    UNKNOWN, after ``node_limit`` nodes or at ``deadline`` (a ``perf_counter`` time)."""
    prob: Problem = prop.problem
    n = prob.n
    es0 = np.zeros(n, np.int64)
    lf0 = np.full(n, int(horizon), np.int64)
    with kernel_section():  # a stop signal waits until the kernel returns
        status, start, nodes = _settimes(
            int(horizon),
            prop.p,
            prob.graph,
            prop.resources,
            prop.disjunctions,
            es0,
            lf0,
            int(node_limit),
            bool(energetic and prop.energetic),
            float(deadline),
        )
    return Probe(int(horizon), int(status), start.copy() if status == FEASIBLE else None, int(nodes))
