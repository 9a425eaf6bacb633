"""Certificates of lower bounds from the feasible-subset LP, checked in whole numbers.

The claim "every plan takes at least ``B``" is certified, as in :mod:`orchmilp.certificate`, by
refuting a plan of makespan at most ``H = B - step`` (in steps of the durations' grid). If any
plan shorter than ``B`` exists, a left-justified one does, whose starts are whole steps; the
argument below is about such plans only.

A certificate is a list of *steps* and a final *refutation*:

- a step ``{"agent": j, "start_at_least": a, "prices": y}`` (or ``"start_at_most": b``) proves
  that agent ``j`` starts at step ``a`` or later (at ``b`` or earlier) in every plan within ``H``
  that keeps the bounds of the steps before it, by refuting its negation, ``start <= a - 1``
  (``start >= b + 1``), beside those bounds;
- the refutation refutes the bounds of all steps together.

Each refutation is one Farley inequality with whole prices ``y_j >= 0``. Windows ``[es_j, lf_j)``
follow from the dependencies, ``H`` and the start bounds (one pass forward and one backward in a
topological order: they only push). The window ends cut the time line into intervals; at any
instant of interval ``k`` the agents running all have a window that covers ``k``, and together
they form a *feasible subset*: no two of them are ordered by a chain of dependencies or conflict
on a file, and each capacity holds. With ``z_k`` the largest total price of a feasible subset of
interval ``k`` (found by an exact search here, not read from the certificate),

    sum_j y_j p_j  =  integral over time of the price running  <=  sum_k z_k |k|

in every plan within the windows, so ``sum_j y_j p_j > sum_k z_k |k|`` refutes them. A window
that closes (``es_j > lf_j - p_j``) refutes with no prices. Everything here is whole numbers:
nothing is rounded.

Like :mod:`orchmilp.check` and :mod:`orchmilp.certificate`, this module imports nothing of
orchmilp's model, search or solvers (an import-linter contract holds it to that); the search
writes the prices (:mod:`orchmilp.bounds.shaving`), this module only believes the arithmetic.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .certificate import Question, Verified, read_question
from .errors import InvalidOptions

__all__ = ["FORMAT", "Checker", "LPCertified", "Refutation", "check", "verify", "write", "is_lp_certificate"]

FORMAT = "orchmilp-lp-certificate/1"
_BOUNDS = ("start_at_least", "start_at_most")


@dataclass(frozen=True)
class LPCertified:
    """A bound refuted below by LP steps, and its certificate folder."""

    bound: float
    folder: Path
    steps: int
    lp_solves: int
    solve_seconds: float


@dataclass(frozen=True)
class Refutation:
    """The outcome of one Farley inequality: ``ok`` when ``load > capacity``, with both sides."""

    ok: bool
    load: int  # sum of y_j p_j
    capacity: int  # sum of z_k |k|
    reason: str = ""


class Checker:
    """The whole-number arithmetic of one question: windows, intervals, feasible subsets."""

    def __init__(self, question: Question) -> None:
        self.q = question
        n = len(question.ids)
        self.index = {a: j for j, a in enumerate(question.ids)}
        # clash[j]: bitmask of the agents j may not overlap (chains of dependencies, files)
        before = [0] * n  # bitmask of every agent before j in a chain of dependencies
        for j in question.order:
            for i in question.preds[j]:
                before[j] |= before[i] | (1 << i)
        clash = list(before)
        for j in range(n):
            rest = before[j]
            while rest:
                low = rest & -rest
                clash[low.bit_length() - 1] |= 1 << j
                rest ^= low
        for i, j in question.conflicts():
            clash[i] |= 1 << j
            clash[j] |= 1 << i
        self.clash = clash
        capacities = question.capacities()
        self.limits = [cap for _, _, cap in capacities]
        self.use = [[0] * len(capacities) for _ in range(n)]  # use[j][r]: what agent j takes of capacity r
        for r, (users, amounts, _) in enumerate(capacities):
            for j, amount in zip(users, amounts):
                self.use[j][r] = amount
        self._best: dict[tuple[tuple[int, ...], tuple[int, ...]], int] = {}

    def windows(self, low: dict[int, int], high: dict[int, int]) -> tuple[list[int], list[int]] | None:
        """Earliest starts and latest finishes within the horizon when agent ``j`` starts at
        ``low[j]`` or later and at ``high[j]`` or earlier; None when a window closes."""
        q = self.q
        n = len(q.ids)
        es, ls = [0] * n, [0] * n
        for j in q.order:
            es[j] = max([low.get(j, 0)] + [es[i] + q.p[i] for i in q.preds[j]])
        for j in reversed(q.order):
            ls[j] = min([high.get(j, q.horizon), q.horizon - q.p[j]] + [ls[s] - q.p[j] for s in q.succs[j]])
        if any(es[j] > ls[j] for j in range(n)):
            return None
        return es, [ls[j] + q.p[j] for j in range(n)]

    def refutes(self, low: dict[int, int], high: dict[int, int], prices: dict[int, int]) -> Refutation:
        """Check the Farley inequality of ``prices`` against the windows of ``low`` and ``high``."""
        if any(not isinstance(y, int) or isinstance(y, bool) or y < 0 for y in prices.values()):
            return Refutation(False, 0, 0, "a price is not a whole number >= 0")
        bounds = self.windows(low, high)
        if bounds is None:
            return Refutation(True, 0, 0, "a window closes")
        es, lf = bounds
        p = self.q.p
        priced = [j for j, y in prices.items() if y > 0 and p[j] > 0]
        load = sum(prices[j] * p[j] for j in priced)
        points = sorted({es[j] for j in priced} | {lf[j] for j in priced})
        capacity = 0
        for a, b in zip(points, points[1:]):
            members = tuple(sorted((j for j in priced if es[j] <= a and lf[j] >= b), key=lambda j: (-prices[j], j)))
            if members:
                capacity += self._heaviest(members, prices) * (b - a)
        if load > capacity:
            return Refutation(True, load, capacity)
        return Refutation(False, load, capacity, f"the prices load {load} against a capacity of {capacity}")

    def _heaviest(self, members: tuple[int, ...], prices: dict[int, int]) -> int:
        """The largest total price of a feasible subset of ``members`` (heaviest first): an exact
        branch and bound over bitmasks, remembered per set of members and prices."""
        key = (members, tuple(prices[j] for j in members))
        if key in self._best:
            return self._best[key]
        weight = [prices[j] for j in members]
        bits = [1 << j for j in members]
        use = [self.use[j] for j in members]
        limits = self.limits
        m = len(members)
        best = 0

        def search(at: int, chosen: int, load: list[int], total: int) -> None:
            nonlocal best
            if total > best:
                best = total
            room = 0
            for q in range(at, m):
                if not chosen & self.clash[members[q]] and all(
                    load[r] + use[q][r] <= limits[r] for r in range(len(limits))
                ):
                    room += weight[q]
            if total + room <= best:
                return
            for q in range(at, m):
                if chosen & self.clash[members[q]]:
                    continue
                if any(load[r] + use[q][r] > limits[r] for r in range(len(limits))):
                    continue
                search(q + 1, chosen | bits[q], [load[r] + use[q][r] for r in range(len(limits))], total + weight[q])
                room -= weight[q]
                if total + room <= best:
                    return

        search(0, 0, [0] * len(limits), 0)
        self._best[key] = best
        return best


def _prices(checker: Checker, raw: Any, where: str) -> dict[int, int]:
    if not isinstance(raw, dict):
        raise InvalidOptions(f"{where}: 'prices' is not an object of agent ids to whole numbers")
    out = {}
    for aid, y in raw.items():
        if aid not in checker.index:
            raise InvalidOptions(f"{where}: unknown agent {aid!r} in 'prices'")
        out[checker.index[aid]] = y
    return out


def check(meta: dict[str, Any]) -> Verified:
    """Check a certificate given as its JSON object."""
    bound = meta.get("bound")
    if not isinstance(bound, (int, float)) or isinstance(bound, bool):
        raise InvalidOptions("certificate.json: 'bound' is not a number")
    started = time.perf_counter()
    checker = Checker(read_question(meta.get("workflow"), float(bound)))  # type: ignore[arg-type]
    steps = meta.get("steps")
    if not isinstance(steps, list) or not isinstance(meta.get("refutation"), dict):
        raise InvalidOptions("certificate.json: no list of 'steps' or no 'refutation'")
    low: dict[int, int] = {}
    high: dict[int, int] = {}
    for number, step in enumerate(steps, 1):
        where = f"certificate.json: step {number}"
        if not isinstance(step, dict) or step.get("agent") not in checker.index:
            raise InvalidOptions(f"{where}: no known 'agent'")
        j = checker.index[step["agent"]]
        kind = [k for k in _BOUNDS if k in step]
        value = step.get(kind[0]) if len(kind) == 1 else None
        if not isinstance(value, int) or isinstance(value, bool):
            raise InvalidOptions(f"{where}: needs one whole-number 'start_at_least' or 'start_at_most'")
        trial_low, trial_high = dict(low), dict(high)
        if kind[0] == "start_at_least":  # refute "starts at value - 1 or earlier"
            trial_high[j] = min(trial_high.get(j, value - 1), value - 1)
        else:
            trial_low[j] = max(trial_low.get(j, value + 1), value + 1)
        outcome = checker.refutes(trial_low, trial_high, _prices(checker, step.get("prices", {}), where))
        if not outcome.ok:
            return Verified(False, bound, f"step {number} ({step['agent']} {kind[0]} {value}): {outcome.reason}")
        if kind[0] == "start_at_least":
            low[j] = max(low.get(j, value), value)
        else:
            high[j] = min(high.get(j, value), value)
    outcome = checker.refutes(low, high, _prices(checker, meta["refutation"].get("prices", {}), "the refutation"))
    elapsed = time.perf_counter() - started
    if not outcome.ok:
        return Verified(False, bound, f"the refutation fails: {outcome.reason}", len(steps) + 1, elapsed)
    return Verified(
        True,
        bound,
        f"every plan takes at least {bound:g}: {len(steps)} window steps and a refutation, "
        f"each a Farley inequality checked in whole numbers",
        len(steps) + 1,
        elapsed,
    )


def write(folder: Path, workflow: dict[str, Any], bound: float, steps: list[dict], prices: dict[str, int]) -> Path:
    """Write an LP certificate into ``folder`` (certificate.json, atomically)."""
    from .io.files import write_json_atomic

    question = read_question(workflow, bound)
    meta = {
        "format": FORMAT,
        "claim": f"every plan takes at least {bound:g}",
        "bound": bound,
        "step": str(question.step),
        "horizon_steps": question.horizon,
        "steps": steps,
        "refutation": {"prices": prices},
        "workflow": workflow,
    }
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    write_json_atomic(folder / "certificate.json", meta)
    return folder / "certificate.json"


def verify(folder: Path) -> Verified:
    """Check an LP certificate folder."""
    path = Path(folder) / "certificate.json"
    try:
        meta = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise InvalidOptions(f"{path}: not readable JSON ({err})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise InvalidOptions(f"{path}: not a {FORMAT} certificate")
    return check(meta)


def is_lp_certificate(folder: Path) -> bool:
    """The folder's certificate.json says it is an LP certificate (anything else is left to
    :func:`orchmilp.certificate.verify`)."""
    try:
        meta = json.loads((Path(folder) / "certificate.json").read_text())
    except (OSError, ValueError):
        return False
    return isinstance(meta, dict) and meta.get("format") == FORMAT
