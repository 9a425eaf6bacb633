"""Exact wave plans by best-first search over the agents already done.

A wave plan is a sequence of sets of done agents, each closed under dependencies; a wave is
what one set adds to the one before. The search (A*) starts from nothing done and adds one
feasible wave at a time, cheapest total first. Its estimate of what is left is a lower bound
on the remaining agents alone: their longest chain, and for each cumulative limit the
batching bound (a wave holds at most ``m`` of its users). The first complete plan taken
from the queue is optimal; when time runs out, the smallest estimate still queued is a
proven lower bound (models/waves.md).

Only maximal waves are tried: a wave whose longest agent is ``l`` holds every available
agent no longer than ``l`` that still fits, because moving an agent into an earlier wave that
it does not lengthen never lengthens a later one.
"""

from __future__ import annotations

import heapq
import time

import numpy as np

from ..bounds.critical_path import tails
from ..model.problem import Problem

__all__ = ["prefix_search", "wave_bound", "batching_bound", "layered_bound", "MAX_STATES", "MAX_CHAIN_BOUND_AGENTS"]

#: Largest workflow whose wave bound adds the chain part (n x n bit sets; 0.4 s at 1,000 agents)
MAX_CHAIN_BOUND_AGENTS = 1000
#: The search stops (with its bound) after this many sets of done agents (memory)
MAX_STATES = 400_000
_EPS = 1e-9


class _Waves:
    """The problem as bit masks and plain lists (the inner loops stay in Python ints)."""

    def __init__(self, problem: Problem):
        n = problem.n
        d = problem.durations.astype(float)
        cum = problem.cumulative
        before = problem.precedence_matrix
        ordered = before | before.T
        binding = []  # limits that can bind within a wave: some two unordered users
        for r in range(cum.usage.shape[1]):
            users = np.flatnonzero(cum.usage[:, r] > _EPS)
            if cum.usage[users, r].sum() > cum.capacity[r] + _EPS and not ordered[np.ix_(users, users)].sum() == len(
                users
            ) * (len(users) - 1):
                binding.append(r)
        usage = cum.usage[:, binding]
        capacity = cum.capacity[binding] + _EPS
        self.n, self.d = n, d.tolist()
        self.full = (1 << n) - 1
        self.rank = np.lexsort((np.arange(n), -d)).tolist()  # longest first, ties by index
        self.position = [0] * n
        for pos, j in enumerate(self.rank):
            self.position[j] = pos
        self.pred_mask = [sum(1 << int(i) for i in problem.preds(j)) for j in range(n)]
        self.usage = usage.tolist()
        self.capacity = capacity.tolist()
        together = np.ones((n, n), bool)
        for r in range(usage.shape[1]):
            together &= usage[:, r][:, None] + usage[:, r][None, :] <= capacity[r]
        self.clash = [sum(1 << int(b) for b in np.flatnonzero(~together[a])) & ~(1 << a) for a in range(n)]
        # twins: agents alike in duration, use, dependencies and clashes are interchangeable, so
        # a wave takes the first of them available (by index) before the next
        self.twin_before = [-1] * n
        last: dict[tuple, int] = {}
        for j in range(n):
            key = (
                d[j],
                tuple(usage[j]),
                tuple(sorted(map(int, problem.preds(j)))),
                tuple(sorted(map(int, problem.succs(j)))),
            )
            i = last.get(key, -1)
            if i >= 0 and self.clash[i] & ~(1 << j) == self.clash[j] & ~(1 << i):
                self.twin_before[j] = i
            last[key] = j
        tail = tails(problem) + d
        self.by_tail = [(int(j), float(tail[j])) for j in np.argsort(-tail, kind="stable")]
        self.topological = [int(j) for j in problem.topological_order]
        self.earlier = [_mask(np.flatnonzero(before[:, j])) for j in range(n)]
        self.comparable = [_mask(np.flatnonzero(ordered[j])) for j in range(n)]
        self.levels = [(float(t), _mask(np.flatnonzero(d >= t - _EPS))) for t in sorted(set(d.tolist()), reverse=True)]
        self.batches: list[tuple[int, int, list[tuple[int, float]]]] = []
        for r in range(usage.shape[1]):
            users = np.flatnonzero(usage[:, r] > _EPS)
            m = int(np.searchsorted(np.cumsum(np.sort(usage[users, r])), capacity[r], side="right"))
            if 0 < m < len(users):
                longest = users[np.argsort(-d[users], kind="stable")]
                self.batches.append((m, _mask(users), [(int(j), float(d[j])) for j in longest]))

    def estimate(self, done: int, enough: float = float("inf")) -> float:
        """A lower bound on the waves still needed after ``done``: the longest remaining chain;
        and per limit, the batching bound over its remaining users plus the longest chain of
        the remaining agents ordered with every one of them (those never share their waves).
        Stops once it reaches ``enough``."""
        best = 0.0
        for j, length in self.by_tail:
            if not done >> j & 1:
                best = length
                break
        if best >= enough:
            return best
        left = self.full & ~done
        comparable = self.comparable
        for m, users_mask, users in self.batches:
            group = users_mask & left
            # users ordered with every other user never share a wave with them: they join the chain
            apart = [j for j, _ in users if group >> j & 1 and comparable[j] & group == group & ~(1 << j)]
            for j in apart:
                group &= ~(1 << j)
            total, k = 0.0, 0
            for j, length in users:
                if group >> j & 1:
                    if k % m == 0:
                        total += length
                    k += 1
            if k:
                best = max(best, total + self._chain_apart(left, group))
                if best >= enough:
                    return best
        return best

    def layered(self, done: int, cliques: bool = False) -> float:
        """:func:`layered_bound` of the agents left after ``done``: chains and batching, and with
        ``cliques`` the greedy cliques too (dearer: the search leaves them out and asks this only
        of the sets it takes from the queue)."""
        left = self.full & ~done
        total, needed, chosen = 0.0, 0, 0
        for k, (t, level_mask) in enumerate(self.levels):
            below = self.levels[k + 1][0] if k + 1 < len(self.levels) else 0.0
            added = level_mask & left & ~chosen
            if added:
                chosen |= added
                needed = self._longest_chain(chosen)
                if cliques:
                    needed = max(needed, self._greedy_clique(chosen))
                for m, users_mask, _ in self.batches:
                    needed = max(needed, -(-(users_mask & chosen).bit_count() // m))
            total += (t - below) * needed
        return total

    def _greedy_clique(self, chosen: int) -> int:
        """A set of agents of ``chosen`` no two of which can share a wave (ordered, or clashing
        on a file or a capacity), grown greedily from those apart from the most others."""
        members = [j for j in range(self.n) if chosen >> j & 1]
        apart = [(self.comparable[j] | self.clash[j]) & chosen for j in members]
        clique = 0
        for _, j, mask in sorted(zip((-a.bit_count() for a in apart), members, apart)):
            if mask & clique == clique:
                clique |= 1 << j
        return clique.bit_count()

    def _longest_chain(self, chosen: int) -> int:
        """The most agents of ``chosen`` in one chain (layers of equal chain count as bit masks)."""
        layers: list[int] = []
        earlier = self.earlier
        for j in self.topological:
            if chosen >> j & 1:
                before = earlier[j] & chosen
                c = len(layers)
                while c and not layers[c - 1] & before:
                    c -= 1
                if c == len(layers):
                    layers.append(1 << j)
                else:
                    layers[c] |= 1 << j
        return len(layers)

    def _chain_apart(self, left: int, users: int) -> float:
        """The longest chain of agents in ``left`` outside ``users`` ordered with all of ``users``."""
        chain: dict[int, float] = {}
        longest = 0.0
        for j in self.topological:
            if left >> j & 1 and not users >> j & 1 and self.comparable[j] & users == users:
                before = self.earlier[j]
                value = self.d[j] + max((v for i, v in chain.items() if before >> i & 1), default=0.0)
                chain[j] = value
                longest = max(longest, value)
        return longest

    def waves(self, done: int):
        """Every maximal feasible wave of the agents whose dependencies are all done, with its length."""
        available = [j for j in self.rank if not done >> j & 1 and self.pred_mask[j] & done == self.pred_mask[j]]
        twin = self.twin_before
        for pos, longest in enumerate(available):
            if twin[longest] >= 0 and not done >> twin[longest] & 1:
                continue  # its earlier twin is available and would be the wave's longest
            candidates = [j for j in available[pos + 1 :] if not self.clash[longest] >> j & 1]
            yield from ((wave, self.d[longest]) for wave in self._maximal(done, longest, candidates))

    def _maximal(self, done: int, longest: int, candidates: list[int]):
        usage, capacity, clash, twin = self.usage, self.capacity, self.clash, self.twin_before
        load = list(usage[longest])
        if self._fits_all(longest, candidates):
            yield (1 << longest) | sum(1 << j for j in candidates)
            return
        chosen = 1 << longest

        def extend(k: int, chosen: int, load: list[float]):
            if k == len(candidates):
                for j in candidates:  # maximal: nothing left out could still join
                    if not chosen >> j & 1 and not clash[j] & chosen and _fits(load, usage[j], capacity):
                        return
                yield chosen
                return
            j = candidates[k]
            t = twin[j]
            if t >= 0 and not done >> t & 1 and not chosen >> t & 1:
                yield from extend(k + 1, chosen, load)  # not before its earlier twin
                return
            if not clash[j] & chosen and _fits(load, usage[j], capacity):
                yield from extend(k + 1, chosen | 1 << j, [a + b for a, b in zip(load, usage[j])])
            yield from extend(k + 1, chosen, load)

        yield from extend(0, chosen, load)

    def _fits_all(self, longest: int, candidates: list[int]) -> bool:
        members = [longest, *candidates]
        mask = sum(1 << j for j in members)
        if any(self.clash[j] & mask for j in members):
            return False
        total = [sum(self.usage[j][r] for j in members) for r in range(len(self.capacity))]
        return all(t <= c for t, c in zip(total, self.capacity))


def _mask(indices) -> int:
    return sum(1 << int(i) for i in indices)


def _fits(load: list[float], use: list[float], capacity: list[float]) -> bool:
    return all(a + b <= c for a, b, c in zip(load, use, capacity))


def wave_bound(problem: Problem) -> float:
    """A lower bound on every wave plan: the search's estimate with nothing done; above
    :data:`MAX_CHAIN_BOUND_AGENTS` agents the batching bound alone (the chain part needs bit
    sets over all pairs of agents).

    >>> from orchmilp.api import load
    >>> wave_bound(load({"resources": {"slot": 2}, "agents": [
    ...     {"id": k, "duration": d, "uses": {"slot": 1}} for k, d in (("a", 5), ("b", 4), ("c", 3))]}))
    8.0
    """
    if problem.n > MAX_CHAIN_BOUND_AGENTS:
        return batching_bound(problem)
    if not problem.n:
        return 0.0
    w = _Waves(problem)
    return max(w.estimate(0), w.layered(0, cliques=True))


def layered_bound(problem: Problem) -> float:
    """The sum of wave lengths is the integral over ``t`` of the number of waves whose longest
    agent takes ``t`` or more; those waves hold every agent of duration ``t`` or more, so there
    are at least as many as any set of them of which no two can share a wave (a chain, or agents
    pairwise clashing on a file or a capacity: greedily grown), and at least as many as a
    cumulative limit's batching needs for them. Summed over the distinct durations
    (models/waves.md).

    >>> from orchmilp.api import load
    >>> layered_bound(load({"resources": {"slot": 2}, "agents": [
    ...     {"id": "a", "duration": 5, "uses": {"slot": 1}}, {"id": "b", "duration": 4, "uses": {"slot": 1}},
    ...     {"id": "c", "duration": 3, "uses": {"slot": 1}, "depends_on": ["a"]}]}))
    8.0
    """
    return _Waves(problem).layered(0, cliques=True) if problem.n else 0.0


def batching_bound(problem: Problem) -> float:
    """For each cumulative limit, at most ``m`` of the agents that use it fit in one wave (the
    ``m`` smallest uses fill it); so the agents using it, longest first, need a new wave at
    least every ``m``: the sum of wave lengths is at least ``d(1) + d(m+1) + d(2m+1) + ...``
    (linear in the agents, for workflows too large for :func:`wave_bound`'s chain part).

    >>> from orchmilp.api import load
    >>> batching_bound(load({"resources": {"slot": 2}, "agents": [
    ...     {"id": k, "duration": d, "uses": {"slot": 1}} for k, d in (("a", 5), ("b", 4), ("c", 3))]}))
    8.0
    """
    cum, d = problem.cumulative, problem.durations
    best = 0.0
    for r in range(cum.usage.shape[1]):
        users = np.flatnonzero(cum.usage[:, r] > _EPS)
        if len(users) < 2:
            continue
        uses = np.sort(cum.usage[users, r])
        m = int(np.searchsorted(np.cumsum(uses), cum.capacity[r] + _EPS, side="right"))
        if m >= len(users):
            continue
        longest = np.sort(d[users])[::-1]
        best = max(best, float(longest[:: max(m, 1)].sum()))
    return best


def prefix_search(
    problem: Problem, upper: float, deadline: float, lower: float = 0.0
) -> tuple[list[list[int]] | None, float]:
    """A wave plan shorter than ``upper`` that is optimal (or None when none is shorter), and a
    lower bound on the shortest wave plan: ``upper`` when the search ended, else the smallest
    estimate still queued at ``deadline`` or at :data:`MAX_STATES` (or ``lower``, a bound known
    beforehand, if larger)."""
    w = _Waves(problem)
    best: dict[int, tuple[float, int, int]] = {0: (0.0, -1, 0)}
    queue = [(w.estimate(0), 0.0, 0)]
    refined: set[int] = set()  # sets whose estimate the layered bound has raised (or not)
    while queue:
        f, negative_g, done = queue[0]
        g = -negative_g
        if g > best[done][0] + _EPS:
            heapq.heappop(queue)
            continue
        if done not in refined and done != w.full:  # lazily: only the sets taken from the queue pay
            refined.add(done)
            raised = g + w.layered(done)
            if raised > f + _EPS:
                heapq.heappop(queue)
                if raised < upper - _EPS:
                    heapq.heappush(queue, (raised, negative_g, done))
                continue
        if done == w.full:
            return _unwind(best, done), g
        if time.perf_counter() > deadline or len(best) > MAX_STATES:
            return None, min(max(f, lower), upper)
        heapq.heappop(queue)
        for count, (wave, length) in enumerate(w.waves(done)):
            if count % 256 == 255 and time.perf_counter() > deadline:  # one set can have many waves
                return None, min(max(f, lower), upper)
            after = done | wave
            cost = g + length
            if after in best and best[after][0] <= cost + _EPS:
                continue
            estimate = cost + w.estimate(after, upper - cost - _EPS)
            if estimate >= upper - _EPS:
                continue
            best[after] = (cost, done, wave)
            heapq.heappush(queue, (estimate, -cost, after))
    return None, upper


def _unwind(best: dict[int, tuple[float, int, int]], done: int) -> list[list[int]]:
    waves = []
    while done:
        _, before, wave = best[done]
        waves.append([j for j in range(wave.bit_length()) if wave >> j & 1])
        done = before
    return waves[::-1]
