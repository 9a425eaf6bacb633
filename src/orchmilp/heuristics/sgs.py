"""Schedule generation schemes, compiled with numba.

The serial scheme takes agents in the order of an activity list (every
agent after its dependencies) and starts each as early as its dependencies
and the remaining capacity allow. Durations may be any non-negative floats:
the resource profile is a list of breakpoints, not a time grid.

All kernels take the problem as plain arrays: ``pred_ptr``/``pred_idx`` (CSR
of dependencies), ``usage`` (n x K) and ``capacity`` (K) of
:attr:`Problem.cumulative` (resources and file locks).
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["serial_sgs", "priority_list", "serial_sgs_batch"]

_EPS = 1e-9


@njit(cache=True)
def _find_or_insert(times, load, nseg, t):
    """Index of the segment starting at ``t``, splitting a segment when needed."""
    lo, hi = 0, nseg
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if times[mid] <= t + _EPS:
            lo = mid
        else:
            hi = mid
    if abs(times[lo] - t) <= _EPS:
        return lo, nseg
    # split segment lo at t: new segment lo+1 starts at t with the same load
    for s in range(nseg, lo + 1, -1):
        times[s] = times[s - 1]
        load[s, :] = load[s - 1, :]
    times[lo + 1] = t
    load[lo + 1, :] = load[lo, :]
    return lo + 1, nseg + 1


@njit(cache=True)
def serial_sgs(order, durations, pred_ptr, pred_idx, usage, capacity):
    """Start times from the serial schedule generation scheme.

    ``order`` must list every agent after all of its dependencies.
    """
    n = order.shape[0]
    k_count = capacity.shape[0]
    start = np.zeros(durations.shape[0])
    times = np.zeros(2 * n + 2)
    load = np.zeros((2 * n + 2, k_count))
    nseg = 1
    for pos in range(n):
        j = order[pos]
        es = 0.0
        for p in range(pred_ptr[j], pred_ptr[j + 1]):
            f = start[pred_idx[p]] + durations[pred_idx[p]]
            if f > es:
                es = f
        d = durations[j]
        uses = False
        for k in range(k_count):
            if usage[j, k] > 0.0:
                uses = True
        if d <= 0.0 or not uses:
            start[j] = es
            continue
        # earliest feasible start >= es
        t = es
        lo, hi = 0, nseg
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if times[mid] <= t + _EPS:
                lo = mid
            else:
                hi = mid
        s = lo
        while True:
            ok = True
            seg = s
            while seg < nseg and times[seg] < t + d - _EPS:
                bad = False
                for k in range(k_count):
                    if load[seg, k] + usage[j, k] > capacity[k] + _EPS:
                        bad = True
                        break
                if bad:
                    ok = False
                    break
                seg += 1
            if ok:
                break
            # the segment seg blocks: try again from its end
            t = times[seg + 1]
            s = seg + 1
        start[j] = t
        first, nseg = _find_or_insert(times, load, nseg, t)
        last, nseg = _find_or_insert(times, load, nseg, t + d)
        for seg in range(first, last):
            for k in range(k_count):
                load[seg, k] += usage[j, k]
    return start


@njit(cache=True)
def priority_list(priority, pred_ptr, pred_idx, succ_ptr, succ_idx):
    """Activity list: repeatedly take the eligible agent of highest priority (lowest index on ties)."""
    n = priority.shape[0]
    indeg = np.zeros(n, np.int64)
    for j in range(n):
        indeg[j] = pred_ptr[j + 1] - pred_ptr[j]
    eligible = np.zeros(n, np.bool_)
    for j in range(n):
        if indeg[j] == 0:
            eligible[j] = True
    order = np.empty(n, np.int64)
    for pos in range(n):
        best = -1
        for j in range(n):
            if eligible[j] and (best < 0 or priority[j] > priority[best]):
                best = j
        order[pos] = best
        eligible[best] = False
        for p in range(succ_ptr[best], succ_ptr[best + 1]):
            k = succ_idx[p]
            indeg[k] -= 1
            if indeg[k] == 0:
                eligible[k] = True
    return order


@njit(cache=True)
def serial_sgs_batch(orders, durations, pred_ptr, pred_idx, usage, capacity):
    """Makespans of many activity lists (one per row of ``orders``)."""
    out = np.zeros(orders.shape[0])
    for r in range(orders.shape[0]):
        start = serial_sgs(orders[r], durations, pred_ptr, pred_idx, usage, capacity)
        out[r] = np.max(start + durations) if durations.shape[0] else 0.0
    return out
