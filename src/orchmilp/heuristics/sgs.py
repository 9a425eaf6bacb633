"""Schedule generation schemes, compiled with numba.

The serial scheme takes agents in the order of an activity list (every
agent after its dependencies) and starts each as early as its dependencies
and the remaining capacity allow. The parallel scheme walks through time
and, at each finish, starts the eligible agents in priority order while they
fit (Kolisch 1996). Durations may be any non-negative floats:
the resource profile is a list of breakpoints, not a time grid.

All kernels take the problem as plain arrays: ``pred_ptr``/``pred_idx`` (CSR
of dependencies), ``usage`` (n x K) and ``capacity`` (K) of
:attr:`Problem.cumulative` (resources and file locks).
"""

from __future__ import annotations

import heapq

import numpy as np
from numba import njit

__all__ = ["serial_sgs", "parallel_sgs", "priority_list", "serial_sgs_batch"]

_EPS = 1e-9
#: from this many columns :func:`serial_sgs` looks only at the columns each agent uses
MANY_COLUMNS = 32


@njit(cache=True)
def _segment_at(times, nseg, t):
    """Index of the profile segment that contains time ``t``."""
    lo, hi = 0, nseg
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if times[mid] <= t + _EPS:
            lo = mid
        else:
            hi = mid
    return lo


@njit(cache=True)
def _blocking_segment(times, load, nseg, seg, t, d, u, capacity):
    """First segment from ``seg`` on that cannot take ``u`` more during [t, t + d); -1 if none."""
    while seg < nseg and times[seg] < t + d - _EPS:
        for k in range(capacity.shape[0]):
            if load[seg, k] + u[k] > capacity[k] + _EPS:
                return seg
        seg += 1
    return -1


@njit(cache=True)
def _hold(times, load, nseg, t, d, u):
    """Add ``u`` to the profile on [t, t + d); returns the new number of segments."""
    first, nseg = _find_or_insert(times, load, nseg, t)
    last, nseg = _find_or_insert(times, load, nseg, t + d)
    for seg in range(first, last):
        for k in range(u.shape[0]):
            load[seg, k] += u[k]
    return nseg


@njit(cache=True)
def _find_or_insert(times, load, nseg, t):
    """Index of the segment starting at ``t``, splitting a segment when needed."""
    lo = _segment_at(times, nseg, t)
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

    ``order`` must list every agent after all of its dependencies. With at least
    :data:`MANY_COLUMNS` columns (many file locks), an agent looks only at the columns it uses.
    """
    if capacity.shape[0] >= MANY_COLUMNS:
        return _serial_sparse(order, durations, pred_ptr, pred_idx, usage, capacity)
    return _serial_dense(order, durations, pred_ptr, pred_idx, usage, capacity)


@njit(cache=True, inline="always")  # called, not inlined, it cost 6% of a j30 schedule
def _ready(j, start, durations, pred_ptr, pred_idx):
    """When the last of ``j``'s dependencies (as scheduled in ``start``) has finished; 0 without any."""
    es = 0.0
    for p in range(pred_ptr[j], pred_ptr[j + 1]):
        f = start[pred_idx[p]] + durations[pred_idx[p]]
        if f > es:
            es = f
    return es


@njit(cache=True)
def _serial_dense(order, durations, pred_ptr, pred_idx, usage, capacity):
    """:func:`serial_sgs` checking every column of each segment."""
    n = order.shape[0]
    k_count = capacity.shape[0]
    start = np.zeros(durations.shape[0])
    times = np.zeros(2 * n + 2)
    load = np.zeros((2 * n + 2, k_count))
    nseg = 1
    for pos in range(n):
        j = order[pos]
        es = _ready(j, start, durations, pred_ptr, pred_idx)
        d = durations[j]
        uses = False
        for k in range(k_count):
            if usage[j, k] > 0.0:
                uses = True
        if d <= 0.0 or not uses:
            start[j] = es
            continue
        # earliest feasible start >= es: jump past every blocking segment
        t = es
        seg = _blocking_segment(times, load, nseg, _segment_at(times, nseg, t), t, d, usage[j], capacity)
        while seg >= 0:
            t = times[seg + 1]
            seg = _blocking_segment(times, load, nseg, seg + 1, t, d, usage[j], capacity)
        start[j] = t
        nseg = _hold(times, load, nseg, t, d, usage[j])
    return start


@njit(cache=True)
def _uses(usage):
    """The columns each agent uses, as CSR: (pointers, columns, amounts)."""
    n, k_count = usage.shape
    ptr = np.zeros(n + 1, np.int64)
    for j in range(n):
        ptr[j + 1] = ptr[j]
        for k in range(k_count):
            if usage[j, k] > 0.0:
                ptr[j + 1] += 1
    column = np.empty(ptr[n], np.int64)
    amount = np.empty(ptr[n])
    q = 0
    for j in range(n):
        for k in range(k_count):
            if usage[j, k] > 0.0:
                column[q] = k
                amount[q] = usage[j, k]
                q += 1
    return ptr, column, amount


@njit(cache=True)
def _serial_sparse(order, durations, pred_ptr, pred_idx, usage, capacity):
    """:func:`serial_sgs` checking and adding only the columns an agent uses (the profile
    stays one row of every column per segment)."""
    n = order.shape[0]
    ptr, column, amount = _uses(usage)
    start = np.zeros(durations.shape[0])
    times = np.zeros(2 * n + 2)
    load = np.zeros((2 * n + 2, capacity.shape[0]))
    nseg = 1
    for pos in range(n):
        j = order[pos]
        es = _ready(j, start, durations, pred_ptr, pred_idx)
        d = durations[j]
        if d <= 0.0 or ptr[j] == ptr[j + 1]:
            start[j] = es
            continue
        t = es
        seg = _segment_at(times, nseg, t)
        while seg < nseg and times[seg] < t + d - _EPS:  # past every blocking segment
            blocked = False
            for q in range(ptr[j], ptr[j + 1]):
                if load[seg, column[q]] + amount[q] > capacity[column[q]] + _EPS:
                    blocked = True
                    break
            if blocked:
                t = times[seg + 1]
            seg += 1
        start[j] = t
        first, nseg = _find_or_insert(times, load, nseg, t)
        last, nseg = _find_or_insert(times, load, nseg, t + d)
        for s in range(first, last):
            for q in range(ptr[j], ptr[j + 1]):
                load[s, column[q]] += amount[q]
    return start


@njit(cache=True)
def priority_list(priority, pred_ptr, pred_idx, succ_ptr, succ_idx):
    """Activity list: repeatedly take the eligible agent of highest priority (lowest index on ties)."""
    n = priority.shape[0]
    indeg = np.zeros(n, np.int64)
    heap = [(0.0, 0)]  # (-priority, agent): a binary heap of the eligible agents
    heap.pop()
    for j in range(n):
        indeg[j] = pred_ptr[j + 1] - pred_ptr[j]
        if indeg[j] == 0:
            heapq.heappush(heap, (-float(priority[j]), j))
    order = np.empty(n, np.int64)
    for pos in range(n):
        best = heapq.heappop(heap)[1]
        order[pos] = best
        for p in range(succ_ptr[best], succ_ptr[best + 1]):
            k = succ_idx[p]
            indeg[k] -= 1
            if indeg[k] == 0:
                heapq.heappush(heap, (-float(priority[k]), k))
    return order


@njit(cache=True)
def serial_sgs_batch(orders, durations, pred_ptr, pred_idx, usage, capacity):
    """Makespans of many activity lists (one per row of ``orders``)."""
    out = np.zeros(orders.shape[0])
    for r in range(orders.shape[0]):
        start = serial_sgs(orders[r], durations, pred_ptr, pred_idx, usage, capacity)
        out[r] = np.max(start + durations) if durations.shape[0] else 0.0
    return out


@njit(cache=True)
def _start_candidates(
    t,
    start,
    cand,
    m,
    finishes,
    priority,
    durations,
    ptr,
    column,
    amount,
    capacity,
    latest_start,
    wcs,
    times,
    load,
    nseg,
    key,
    top,
):
    """One pass at time t over the eligible agents ``cand[:m]``: start them in priority order
    (ties by index) while they fit, each finish pushed on the heap ``finishes``. Each agent's
    columns as CSR (``ptr``, ``column``, ``amount``: :func:`_uses`); ``top`` (3 x K) is
    scratch. Keeps the agents not started in ``cand`` and returns (number started, the number
    kept, nseg)."""
    cand[:m] = np.sort(cand[:m])
    if wcs:  # per column, the largest use of a candidate, its agent, and the second largest
        for q in range(m):
            j = cand[q]
            for c in range(ptr[j], ptr[j + 1]):
                top[0, column[c]] = 0.0
                top[1, column[c]] = -1.0
                top[2, column[c]] = 0.0
        for q in range(m):
            j = cand[q]
            for c in range(ptr[j], ptr[j + 1]):
                k, u = column[c], amount[c]
                if u > top[0, k]:
                    top[2, k] = top[0, k]
                    top[0, k] = u
                    top[1, k] = j
                elif u > top[2, k]:
                    top[2, k] = u
    for q in range(m):
        j = cand[q]
        if wcs:  # Kolisch's worst case: t + d_j when another candidate cannot run beside j
            worst = t
            for c in range(ptr[j], ptr[j + 1]):
                k = column[c]
                other = top[2, k] if top[1, k] == j else top[0, k]
                if other + amount[c] > capacity[k] + _EPS:
                    worst = t + durations[j]
                    break
            key[q] = -(latest_start[j] - worst)
        else:
            key[q] = priority[j]
    started = 0
    order = np.argsort(-key[:m], kind="mergesort")
    for q in range(m):
        j = cand[order[q]]
        d = durations[j]
        fits = True
        if d > 0.0:
            seg = _segment_at(times, nseg, t)
            while fits and seg < nseg and times[seg] < t + d - _EPS:
                for c in range(ptr[j], ptr[j + 1]):
                    if load[seg, column[c]] + amount[c] > capacity[column[c]] + _EPS:
                        fits = False
                        break
                seg += 1
        if fits:
            start[j] = t
            started += 1
            heapq.heappush(finishes, (t + d, j))
            if d > 0.0 and ptr[j] < ptr[j + 1]:
                first, nseg = _find_or_insert(times, load, nseg, t)
                last, nseg = _find_or_insert(times, load, nseg, t + d)
                for s in range(first, last):
                    for c in range(ptr[j], ptr[j + 1]):
                        load[s, column[c]] += amount[c]
    kept = 0
    for q in range(m):
        if start[cand[q]] < 0:
            cand[kept] = cand[q]
            kept += 1
    return started, kept, nseg


@njit(cache=True)
def parallel_sgs(
    priority, durations, pred_ptr, pred_idx, succ_ptr, succ_idx, usage, capacity, latest_start, wcs, max_visits=-1
):
    """Start times from the parallel schedule generation scheme.

    Time moves from one finish to the next; at each time the eligible agents
    (dependencies finished) start in priority order while they fit. With
    ``wcs`` the priority is the worst-case slack rule of Kolisch (1996),
    recomputed at every decision time from ``latest_start``; ``succ_ptr`` and
    ``succ_idx`` are the dependants as CSR. The finishes are a heap and the eligible agents a list kept between times, and only the
    columns an agent uses are looked at (2,000 LLM agents on 170 columns:
    23 s a schedule when every agent and every column was looked at each time).
    Each time looks at every eligible agent: with ``max_visits`` (>= 0), once
    that many looks are spent the scheme stops, and the agents not started
    keep the start -1 (20,000 LLM agents waiting on rate buckets: 10^9 looks).
    """
    n = durations.shape[0]
    ptr, column, amount = _uses(usage)
    waiting = pred_ptr[1:] - pred_ptr[:-1]  # dependencies not yet finished
    start = np.full(n, -1.0)
    times = np.zeros(2 * n + 2)
    load = np.zeros((2 * n + 2, capacity.shape[0]))
    top = np.zeros((3, capacity.shape[0]))
    cand = np.empty(n, np.int64)
    key = np.empty(n)
    m = 0
    for j in range(n):
        if waiting[j] == 0:
            cand[m] = j
            m += 1
    finishes = [(0.0, 0)]  # (finish, agent): a binary heap of the agents started
    finishes.pop()
    nseg = 1
    done = 0
    visits = 0
    t = 0.0
    while done < n:
        started = 1
        while started > 0 and done < n:  # zero-length agents can make others eligible at the same time
            while len(finishes) > 0 and finishes[0][0] <= t + _EPS:
                i = heapq.heappop(finishes)[1]
                for p in range(succ_ptr[i], succ_ptr[i + 1]):
                    k = succ_idx[p]
                    waiting[k] -= 1
                    if waiting[k] == 0:
                        cand[m] = k
                        m += 1
            if max_visits >= 0 and visits + m > max_visits:
                return start
            visits += m
            started, m, nseg = _start_candidates(
                t,
                start,
                cand,
                m,
                finishes,
                priority,
                durations,
                ptr,
                column,
                amount,
                capacity,
                latest_start,
                wcs,
                times,
                load,
                nseg,
                key,
                top,
            )
            done += started
        if done >= n or len(finishes) == 0:
            break  # (no finish left with agents unstarted: impossible for a DAG)
        t = finishes[0][0]
    return start
