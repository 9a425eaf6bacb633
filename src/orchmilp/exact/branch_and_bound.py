"""Branch and bound over delaying alternatives with cutset memory: prove a makespan impossible, or meet it.

The search of Demeulemeester and Herroelen (1992, 1997). A node is a partial
schedule at a decision time ``t``: agents already started keep their times,
all others start at ``t`` or later. At each node every agent whose
dependencies have finished joins the agents in progress; if together they
exceed a capacity, the node branches over the *minimal delaying
alternatives*: the smallest sets of agents (waiting or already in progress;
a delayed agent in progress loses its start) whose removal makes the rest
fit. The next decision time is the earliest finish of the agents kept.

Pruning, for a trial makespan ``T``:

* windows from :mod:`.propagation` at ``T``: an agent that can no longer
  start before its latest start, or an agent in progress that finishes after
  its latest finish, fails the node;
* energy: the work on each resource due by an agent's latest finish must
  fit between the decision time and that finish;
* twins: of two identical agents (same duration, use, dependencies and
  dependants) the first in input order starts first;
* cutsets: a node whose set of started agents equals that of a node explored
  earlier without success, at a time no earlier, with every agent that was
  still running there finishing no later than here (or than ``t``), has no
  completion the earlier node lacked, so it fails too. The memory of
  explored nodes survives between trial makespans (a failure at ``T`` is a
  failure below ``T``).

This memory is what makes the method prove optimality on instances where a
search without it (:mod:`.set_times`) runs out of nodes. Each probe also stops
on the clock: the kernel looks at it every few hundred steps.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from ..bounds.critical_path import tails
from ..clock import NO_DEADLINE, kernel_section, now
from ..model.arrays import Resources
from ..model.problem import Problem
from .probe import FEASIBLE, INFEASIBLE, UNKNOWN, Probe

__all__ = ["BranchAndBound"]

#: Largest memory of failed nodes (it starts at 1/128 of this and grows when full).
MEMORY_BYTES = 160 * 2**20

_EPS = 1e-9
_MIX = np.uint64(0x9E3779B97F4A7C15)


@njit(cache=True)
def _hash(words):
    h = np.uint64(0x84222325CBF29CE4)
    for w in words:
        h = (h ^ w) * _MIX
        h ^= h >> np.uint64(29)
    return h


@njit(cache=True)
def _cutset(start, nw):
    words = np.zeros(nw, np.uint64)
    for j in range(start.shape[0]):
        if start[j] >= 0:
            words[j >> 6] |= np.uint64(1) << np.uint64(j & 63)
    return words


@njit(cache=True)
def _dominated(start, t, p, words, memo_head, memo_next, memo_t, memo_words, memo_ip_ptr, memo_ip, mask):
    """Is there a stored failed node with the same started set that dominates this one?"""
    nw = words.shape[0]
    e = memo_head[_hash(words) & mask]
    while e >= 0:
        same = True
        base = e * nw
        for w in range(nw):
            if memo_words[base + w] != words[w]:
                same = False
                break
        if same and memo_t[e] <= t:
            ok = True
            for q in range(memo_ip_ptr[e], memo_ip_ptr[e + 1]):
                i = memo_ip[2 * q]
                fin = memo_ip[2 * q + 1]
                here = start[i] + p[i]
                if fin > max(t, here):
                    ok = False
                    break
            if ok:
                return True
        e = memo_next[e]
    return False


@njit(cache=True)
def _remember(start, t, p, words, memo_head, memo_next, memo_t, memo_words, memo_ip_ptr, memo_ip, mask, counts):
    """Store a failed node; counts = [entries, ip pairs used]. Returns False when memory is full."""
    e = counts[0]
    nw = words.shape[0]
    if e + 1 >= memo_t.shape[0]:
        return False
    used = counts[1]
    running = 0
    for i in range(start.shape[0]):
        if start[i] >= 0 and start[i] + p[i] > t:
            running += 1
    if 2 * (used + running) > memo_ip.shape[0]:
        return False
    for w in range(nw):
        memo_words[e * nw + w] = words[w]
    memo_t[e] = t
    q = used
    for i in range(start.shape[0]):
        if start[i] >= 0 and start[i] + p[i] > t:
            memo_ip[2 * q] = i
            memo_ip[2 * q + 1] = start[i] + p[i]
            q += 1
    memo_ip_ptr[e + 1] = q
    slot = _hash(words) & mask
    memo_next[e] = memo_head[slot]
    memo_head[slot] = e
    counts[0] = e + 1
    counts[1] = q
    return True


@njit(cache=True)
def _maximal_subsets(members, k, usage, capacity, twin_pos, out, out_pos, out_limit, step_limit, deadline):
    """Write bit masks (over ``members[:k]``) of the maximal subsets that fit the capacities
    and keep every member whose twin (at ``twin_pos``, earlier, or -1) they keep.

    Returns the number written (-1 when more than ``out_limit - out_pos`` exist, -2 after
    ``step_limit`` steps or at ``deadline``) and the number of steps taken."""
    R = capacity.shape[0]
    load = np.zeros((k + 1, R))
    decision = np.zeros(k + 1, np.int64)  # 0 untried, 1 included, 2 excluded
    mask = np.uint64(0)
    count = 0
    depth = 0
    steps = 0
    while depth >= 0:
        steps += 1
        if steps > step_limit or (steps % 4096 == 0 and now() > deadline):
            return -2, steps
        if depth == k:
            maximal = True
            for pos in range(k):
                if (mask >> np.uint64(pos)) & np.uint64(1):
                    continue
                j = members[pos]
                fits = True
                for r in range(R):
                    if load[k, r] + usage[j, r] > capacity[r] + _EPS:
                        fits = False
                        break
                if fits:
                    maximal = False
                    break
            if maximal:
                if out_pos + count >= out_limit:
                    return -1, steps
                out[out_pos + count] = mask
                count += 1
            depth -= 1
            continue
        j = members[depth]
        bit = np.uint64(1) << np.uint64(depth)
        if decision[depth] == 0:
            decision[depth] = 1
            tp = twin_pos[depth]
            fits = tp < 0 or (mask >> np.uint64(tp)) & np.uint64(1) == np.uint64(1)
            for r in range(R):
                if load[depth, r] + usage[j, r] > capacity[r] + _EPS:
                    fits = False
                    break
            if fits:
                for r in range(R):
                    load[depth + 1, r] = load[depth, r] + usage[j, r]
                mask |= bit
                decision[depth + 1] = 0
                depth += 1
                continue
        if decision[depth] == 1:
            decision[depth] = 2
            mask &= ~bit
            for r in range(R):
                load[depth + 1, r] = load[depth, r]
            decision[depth + 1] = 0
            depth += 1
            continue
        decision[depth] = 0
        mask &= ~bit
        depth -= 1
    return count, steps


@njit(cache=True)
def _child_bound(start, t, p, topo, pred_ptr, pred_idx, usage, capacity, lf, by_lf, tail, horizon, est, twin):
    """Advance a child to its decision time; -1 if it cannot meet the windows (or starts an
    agent before its identical twin), else a score (the largest finish plus tail, a lower
    bound on its makespan). ``t`` is the child's time."""
    n = p.shape[0]
    for j in range(n):
        if start[j] >= 0 and twin[j] >= 0 and start[twin[j]] < 0:
            return -1
    score = t
    for q in range(n):
        j = topo[q]
        if start[j] >= 0:
            fin = start[j] + p[j]
            if fin > lf[j]:
                return -1
            v = fin + tail[j] - p[j]
        else:
            e = t
            for r in range(pred_ptr[j], pred_ptr[j + 1]):
                i = pred_idx[r]
                f = start[i] + p[i] if start[i] >= 0 else est[i] + p[i]
                if f > e:
                    e = f
            est[j] = e
            if e + p[j] > lf[j]:
                return -1
            v = e + tail[j]
        if v > score:
            score = v
    if score > horizon:
        return -1
    # energy: the work due by each latest finish must fit between t and that finish
    R = capacity.shape[0]
    for r in range(R):
        energy = 0.0
        for q in range(n):
            j = by_lf[q]
            if usage[j, r] == 0.0:
                continue
            if start[j] < 0:
                energy += p[j] * usage[j, r]
            elif start[j] + p[j] > t:
                energy += (start[j] + p[j] - t) * usage[j, r]
            else:
                continue
            if energy > capacity[r] * (lf[j] - t) + _EPS:
                return -1
    return score


@njit(cache=True)
def _next_time(start, t, p, started_zero):
    """Earliest finish after ``t`` among agents in progress (``t`` again if a zero-length agent just ran)."""
    if started_zero:
        return t
    best = -1
    for i in range(p.shape[0]):
        if start[i] >= 0:
            f = start[i] + p[i]
            if f > t and (best < 0 or f < best):
                best = f
    return best


@njit(cache=True)
def _search(horizon, p, graph, resources, windows, memory, node_limit, alt_limit, deadline):
    topo, pred_ptr, pred_idx = graph.topo, graph.pred_ptr, graph.pred_idx
    usage, capacity = resources
    lf, by_lf, tail, twin = windows
    memo_head, memo_next, memo_t, memo_words, memo_ip_ptr, memo_ip, counts = memory
    n = p.shape[0]
    nw = (n + 63) // 64
    mask = np.uint64(memo_head.shape[0] - 1)
    max_depth = 2 * n + 4
    start = np.full((max_depth, n), -1, np.int64)
    when = np.zeros(max_depth, np.int64)
    members = np.zeros((max_depth, 64), np.int64)
    nmembers = np.zeros(max_depth, np.int64)
    alt_base = np.zeros(max_depth + 1, np.int64)
    alt_count = np.zeros(max_depth, np.int64)
    alt_next = np.zeros(max_depth, np.int64)
    arena = np.zeros(alt_limit, np.uint64)
    scores = np.zeros(alt_limit, np.int64)
    est = np.zeros(n, np.int64)
    child = np.empty(n, np.int64)
    position = np.zeros(n, np.int64)
    twin_pos = np.full(64, -1, np.int64)
    nodes = 0
    ticks = 0  # loop turns, for looking at the clock
    memory_full = False
    # the root: nothing started, decision time 0
    if _child_bound(start[0], 0, p, topo, pred_ptr, pred_idx, usage, capacity, lf, by_lf, tail, horizon, est, twin) < 0:
        return INFEASIBLE, start[0], nodes, memory_full
    when[0] = 0
    depth = 0
    alt_count[0] = -1  # alternatives not generated yet
    while depth >= 0:
        if alt_count[depth] < 0:
            # arrival at a node
            t = when[depth]
            s = start[depth]
            done = True
            for j in range(n):
                if s[j] < 0:
                    done = False
                    break
            if done:
                return FEASIBLE, s.copy(), nodes, memory_full
            words = _cutset(s, nw)
            if depth > 0 and _dominated(
                s, t, p, words, memo_head, memo_next, memo_t, memo_words, memo_ip_ptr, memo_ip, mask
            ):
                counts[2] += 1
                depth -= 1
                continue
            # candidates: agents in progress, then agents whose dependencies have finished
            k = 0
            overflow = False
            for j in range(n):
                if s[j] >= 0 and s[j] + p[j] > t:
                    if k >= 64:
                        overflow = True
                        break
                    members[depth, k] = j
                    k += 1
            for j in range(n):
                if s[j] >= 0 or overflow:
                    continue
                ready = True
                for r in range(pred_ptr[j], pred_ptr[j + 1]):
                    i = pred_idx[r]
                    if s[i] < 0 or s[i] + p[i] > t:
                        ready = False
                        break
                if ready:
                    if k >= 64:
                        overflow = True
                        break
                    members[depth, k] = j
                    k += 1
            if overflow:
                return UNKNOWN, s.copy(), nodes, memory_full
            nmembers[depth] = k
            for pos in range(k):
                position[members[depth, pos]] = pos
            for pos in range(k):
                tw = twin[members[depth, pos]]
                earlier = tw >= 0 and position[tw] < pos and members[depth, position[tw]] == tw
                twin_pos[pos] = position[tw] if earlier else -1
            base = alt_base[depth]
            cnt, steps = _maximal_subsets(
                members[depth],
                k,
                usage,
                capacity,
                twin_pos,
                arena,
                base,
                alt_limit,
                16 * (node_limit - nodes) + 64,
                deadline,
            )
            if cnt == -2:  # out of nodes or time while enumerating
                return UNKNOWN, s.copy(), max(node_limit, nodes), memory_full
            if cnt < 0:
                return UNKNOWN, s.copy(), nodes, memory_full
            # enumerating and scoring alternatives is most of the work: count it against the limit
            nodes += cnt + steps // 16
            # score the alternatives, drop the hopeless, order by score (insertion sort)
            kept = 0
            for a in range(cnt):
                if a % 256 == 255 and now() > deadline:
                    return UNKNOWN, s.copy(), max(node_limit, nodes), memory_full
                m = arena[base + a]
                child[:] = s
                zero = False
                for pos in range(k):
                    j = members[depth, pos]
                    if (m >> np.uint64(pos)) & np.uint64(1):
                        if child[j] < 0:
                            child[j] = t
                            if p[j] == 0:
                                zero = True
                    else:
                        child[j] = -1
                tn = _next_time(child, t, p, zero)
                if tn < 0:
                    continue
                sc = _child_bound(
                    child, tn, p, topo, pred_ptr, pred_idx, usage, capacity, lf, by_lf, tail, horizon, est, twin
                )
                if sc < 0:
                    continue
                pos2 = base + kept
                while pos2 > base and scores[pos2 - 1] > sc:
                    arena[pos2] = arena[pos2 - 1]
                    scores[pos2] = scores[pos2 - 1]
                    pos2 -= 1
                arena[pos2] = m
                scores[pos2] = sc
                kept += 1
            alt_count[depth] = kept
            alt_next[depth] = 0
            alt_base[depth + 1] = base + kept
        if depth + 1 >= max_depth:  # cannot happen (each level finishes an agent); never call it a failure
            return UNKNOWN, start[depth].copy(), max(node_limit, nodes), memory_full
        if alt_next[depth] >= alt_count[depth]:
            # every alternative failed: remember the node
            if depth > 0 and not memory_full:
                s = start[depth]
                if not _remember(
                    s,
                    when[depth],
                    p,
                    _cutset(s, nw),
                    memo_head,
                    memo_next,
                    memo_t,
                    memo_words,
                    memo_ip_ptr,
                    memo_ip,
                    mask,
                    counts,
                ):
                    memory_full = True
            depth -= 1
            continue
        ticks += 1
        if nodes >= node_limit or (ticks % 256 == 0 and now() > deadline):
            return UNKNOWN, start[depth].copy(), max(node_limit, nodes), memory_full
        nodes += 1
        a = alt_base[depth] + alt_next[depth]
        alt_next[depth] += 1
        m = arena[a]
        t = when[depth]
        c = depth + 1
        start[c] = start[depth]
        zero = False
        for pos in range(nmembers[depth]):
            j = members[depth, pos]
            if (m >> np.uint64(pos)) & np.uint64(1):
                if start[c, j] < 0:
                    start[c, j] = t
                    if p[j] == 0:
                        zero = True
            else:
                start[c, j] = -1
        when[c] = _next_time(start[c], t, p, zero)
        alt_count[c] = -1
        depth = c
    return INFEASIBLE, start[0], nodes, memory_full


def _can_bind(problem: Problem, usage: np.ndarray, capacity: np.ndarray) -> np.ndarray:
    """Columns that some set of agents able to run together can overload.

    Agents that run together are pairwise unordered by dependencies, so a
    column where every user plus all users unordered with it fit the capacity
    never binds (e.g. the file lock between a writer and an agent depending on it)."""
    before = problem.precedence_matrix
    unordered = ~(before | before.T)
    np.fill_diagonal(unordered, False)
    worst = usage + unordered.astype(np.float64) @ usage
    return np.any((usage > 0) & (worst > capacity[None, :] + _EPS), axis=0)


def _twins(problem: Problem, p: np.ndarray, usage: np.ndarray) -> np.ndarray:
    """For each agent the previous identical one (same duration, use, dependencies, dependants) or -1.

    Twins are interchangeable in every schedule, so the search starts them in index order."""
    twin = np.full(problem.n, -1, np.int64)
    last: dict[tuple, int] = {}
    for j in range(problem.n):
        key = (int(p[j]), usage[j].tobytes(), tuple(problem.preds(j)), tuple(problem.succs(j)))
        twin[j] = last.get(key, -1)
        last[key] = j
    return twin


@njit(cache=True)
def _rehash(memo_words, nw, count, memo_head, memo_next):
    mask = np.uint64(memo_head.shape[0] - 1)
    memo_head[:] = -1
    for e in range(count):
        slot = _hash(memo_words[e * nw : (e + 1) * nw]) & mask
        memo_next[e] = memo_head[slot]
        memo_head[slot] = e


class ProbeWindows(NamedTuple):
    """A probe's latest finishes, the agents by latest finish, tails and twins (int64 arrays)."""

    lf: np.ndarray
    by_lf: np.ndarray
    tail: np.ndarray
    twin: np.ndarray


class MemoryTables(NamedTuple):
    """The cutset memory's arrays (see :class:`_Memory`) and its counters."""

    head: np.ndarray
    next: np.ndarray
    t: np.ndarray
    words: np.ndarray
    ip_ptr: np.ndarray
    ip: np.ndarray
    counts: np.ndarray


class _Memory:
    """The failed nodes: started set (bit words), time, and (agent, finish) of those still running.

    Starts small and grows fourfold when full, up to ``max_entries``."""

    t: np.ndarray  # (entries,) the node's time
    words: np.ndarray  # (entries * nw,) its started set
    ip_ptr: np.ndarray  # (entries + 1,) where its running (agent, finish) pairs start in ip
    ip: np.ndarray
    next: np.ndarray  # the hash chains
    head: np.ndarray

    def __init__(self, n: int, entries: int, max_entries: int):
        self.nw = (n + 63) // 64
        self.max_entries = max_entries
        self.counts = np.zeros(3, np.int64)  # entries, running pairs, nodes cut by the memory
        self._allocate(entries)

    def _allocate(self, entries: int) -> None:
        used, pairs = int(self.counts[0]), int(self.counts[1])
        t = np.zeros(entries, np.int64)
        words = np.zeros(entries * self.nw, np.uint64)
        ip_ptr = np.zeros(entries + 1, np.int64)
        ip = np.zeros(2 * 4 * entries, np.int32)
        if hasattr(self, "t"):  # growing: keep what is remembered
            t[:used] = self.t[:used]
            words[: used * self.nw] = self.words[: used * self.nw]
            ip_ptr[: used + 1] = self.ip_ptr[: used + 1]
            ip[: 2 * pairs] = self.ip[: 2 * pairs]
        self.t, self.words, self.ip_ptr, self.ip = t, words, ip_ptr, ip
        self.next = np.full(entries, -1, np.int64)
        self.head = np.full(1 << max(10, entries.bit_length()), -1, np.int64)
        _rehash(self.words, self.nw, used, self.head, self.next)

    def tables(self) -> MemoryTables:
        """The arrays, as the search kernel takes them."""
        return MemoryTables(self.head, self.next, self.t, self.words, self.ip_ptr, self.ip, self.counts)

    @property
    def entries(self) -> int:
        return int(self.counts[0])

    def grow(self) -> bool:
        """Make room after the memory filled up; False when it may not grow further."""
        size = self.t.shape[0]
        if size >= self.max_entries:
            return False
        self._allocate(min(self.max_entries, 4 * size))
        return True


class BranchAndBound:
    """The branch and bound of one problem on an integer grid, with its cutset memory.

    Call :meth:`probe` with decreasing trial makespans; the memory of failed
    nodes carries over (it is only valid while the trial makespan does not grow).
    """

    def __init__(self, problem: Problem, p: np.ndarray, memory_entries: int | None = None):
        self.problem = problem
        self.p = np.asarray(p, np.int64)
        cum = problem.cumulative
        usage = cum.usage * (self.p[:, None] > 0)
        keep = _can_bind(problem, usage, cum.capacity)
        self.usage = np.ascontiguousarray(usage[:, keep])
        self.capacity = np.ascontiguousarray(cum.capacity[keep], dtype=np.float64)
        self.resources = Resources(self.usage, self.capacity)
        self.tail = self.p + tails(problem, self.p)  # longest chain from each agent's start to the end
        self.twin = _twins(problem, self.p, self.usage)
        if memory_entries is None:  # at most about MEMORY_BYTES, whatever the number of agents
            memory_entries = min(1 << 21, MEMORY_BYTES // (80 + 8 * ((problem.n + 63) // 64)))
        self.memory = _Memory(problem.n, min(1 << 14, memory_entries), memory_entries)
        self.horizon: int | None = None

    def probe(self, horizon: int, lf: np.ndarray, node_limit: int, deadline: float = NO_DEADLINE) -> Probe:
        """Look for a schedule of makespan at most ``horizon`` with latest finishes ``lf``
        (windows valid for every such schedule, e.g. from propagation). ``node_limit``
        counts nodes and the work of enumerating and scoring their alternatives; the probe
        also stops at ``deadline`` (a ``perf_counter`` time). An UNKNOWN outcome with fewer
        nodes than the limit means the search gave up (more than 64 agents at once)."""
        if self.horizon is not None and horizon > self.horizon:
            raise ValueError("the cutset memory only holds for trial makespans that do not grow")
        self.horizon = horizon
        prob, mem = self.problem, self.memory
        lf = np.minimum(np.asarray(lf, np.int64), horizon)
        with kernel_section():  # a stop signal waits until the kernel returns
            status, start, nodes, full = _search(
                int(horizon),
                self.p,
                prob.graph,
                self.resources,
                ProbeWindows(lf, np.argsort(lf, kind="stable"), self.tail, self.twin),
                mem.tables(),
                int(node_limit),
                1 << 20,
                float(deadline),
            )
        if full:
            mem.grow()
        return Probe(int(horizon), int(status), start.copy() if status == FEASIBLE else None, int(nodes))
