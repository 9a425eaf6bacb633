"""Certificates of lower bounds that someone who does not trust orchmilp can check.

A claim "every plan of this workflow takes at least ``B``" is certified by refuting "a plan of
makespan at most ``B - step`` exists" (``step``: the largest step every duration is a whole
multiple of; an optimal plan can start every agent at a sum of durations, so its makespan is
a whole number of steps and nothing between ``B - step`` and ``B`` needs refuting). The
certificate is a folder:

- ``certificate.json``: the workflow as JSON, the bound, the grid, the SHA-256 of the CNF and
  the versions of the encoder and the PB library;
- ``encoding.cnf``: the question as a CNF in DIMACS (the encoding of :func:`encode`, written
  out in models/sat-encoding.md, "Certificates");
- ``proof.drat``: a DRAT refutation of it from the solver (Glucose through python-sat).

:func:`verify` encodes the workflow again, requires the same CNF byte for byte, and checks the
proof with ``dratify`` (a DRAT checker independent of the solver and of orchmilp); any DRAT
checker (``drat-trim encoding.cnf proof.drat``) accepts the two files as well.

Like :mod:`orchmilp.check`, this module imports nothing of orchmilp's model, search or
solvers: the encoding reads the workflow as written (the checker's own path logic decides
which agents conflict on files), so a bug there cannot certify a wrong bound. Single-mode
workflows only (``modes``, budgets and deadlines are refused).
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from .check import _Conflicts
from .errors import InvalidOptions, InvalidWorkflow, OrchmilpError
from .signals import run_interruptible

__all__ = ["encode", "certify", "verify", "Encoding", "Certified", "Verified", "FORMAT", "available"]

FORMAT = "orchmilp-certificate/1"
SOLVER = "glucose4"  # a python-sat solver that writes DRAT proofs and can be interrupted
_FILES = ("certificate.json", "encoding.cnf", "proof.drat")
#: the longest horizon encoded, in steps of the durations' grid (the encoding grows with it)
MAX_STEPS = 100_000
MAX_CELLS = 2_000_000


def available() -> bool:
    """python-sat (with its PB encoder) and dratify are installed."""
    try:
        import dratify  # noqa: F401
        from pysat.pb import PBEnc  # noqa: F401
        from pysat.solvers import Solver  # noqa: F401
    except (ImportError, AssertionError):
        return False
    return True


def _step(values: list[float]) -> Fraction:
    """The largest step every positive value is a whole multiple of."""
    fracs = [Fraction(repr(float(v))) for v in values if v > 0]
    if not fracs:
        return Fraction(1)
    den = 1
    for f in fracs:
        den = math.lcm(den, f.denominator)
    g = 0
    for f in fracs:
        g = math.gcd(g, int(f * den))
    return Fraction(g, den)


def _whole(values: list[float], capacity: float, what: str) -> tuple[list[int], int]:
    """Uses and capacity as whole numbers in a common unit (the capacity rounded down)."""
    fracs = [Fraction(repr(float(v))) for v in values]
    den = 1
    for f in fracs:
        den = math.lcm(den, f.denominator)
    if den > 10**6:
        raise InvalidOptions(f"certify: {what}: the amounts have no common unit")
    return [int(f * den) for f in fracs], math.floor(Fraction(repr(float(capacity))) * den)


@dataclass(frozen=True)
class Encoding:
    """The CNF of "a plan of makespan at most ``horizon`` steps of ``step`` exists"."""

    step: Fraction
    horizon: int
    variables: int
    clauses: list[list[int]]

    def dimacs(self) -> str:
        head = f"c {FORMAT}: a plan of makespan <= {self.horizon} x {self.step} exists\n"
        body = "".join(" ".join(map(str, c)) + " 0\n" for c in self.clauses)
        return head + f"p cnf {self.variables} {len(self.clauses)}\n" + body

    def sha256(self) -> str:
        return hashlib.sha256(self.dimacs().encode()).hexdigest()


@dataclass(frozen=True)
class Question:
    """The question "a plan of makespan at most ``horizon`` steps of ``step`` exists", read from the workflow
    as written: durations ``p`` in steps, the dependencies, a topological ``order``, the earliest
    starts ``es`` and the chains after each finish ``tail`` (dependencies only), the capacities."""

    agents: list[dict[str, Any]]
    ids: list[str]
    step: Fraction
    horizon: int
    p: list[int]
    preds: list[list[int]]
    succs: list[list[int]]
    order: list[int]
    es: list[int]
    tail: list[int]
    resources: dict[str, Any]

    def capacities(self) -> list[tuple[list[int], list[int], int]]:
        """Every capacity that agents with a duration could exceed together: (users, their
        amounts, the capacity), as whole numbers in a common unit."""
        out = []
        capacities, n = self.resources, len(self.ids)
        for name in sorted(capacities):
            users = [j for j in range(n) if self.p[j] > 0 and float(self.agents[j].get("uses", {}).get(name, 0)) > 0]
            amounts, cap = _whole([float(self.agents[j]["uses"][name]) for j in users], float(capacities[name]), name)
            if sum(amounts) > cap:
                out.append((users, amounts, cap))
        return out

    def conflicts(self) -> list[tuple[int, int]]:
        """Pairs of agents with a duration that may not overlap because of files (the checker's logic)."""
        index = {a: j for j, a in enumerate(self.ids)}
        pairs = _Conflicts({aid: agent for aid, agent in zip(self.ids, self.agents)}).pairs()
        return [(index[a], index[b]) for a, b in pairs if self.p[index[a]] > 0 and self.p[index[b]] > 0]


def read_question(workflow: dict[str, Any], bound: float) -> Question:
    """The question that certifies ``bound``: "a plan of makespan ``bound - step`` exists"."""
    if not isinstance(workflow, dict) or not isinstance(workflow.get("agents"), list):
        raise InvalidWorkflow("certify: the workflow has no list of agents")
    if any(k in workflow for k in ("budgets", "deadline")) or any(
        "modes" in a or "consumes" in a for a in workflow["agents"]
    ):
        raise InvalidOptions("certify: workflows with modes, budgets or a deadline are not supported")
    agents = workflow["agents"]
    for k, a in enumerate(agents):  # the claim must be about a workflow the checker can read
        if not isinstance(a, dict) or not isinstance(a.get("id"), str):
            raise InvalidWorkflow(f"certify: agent {k + 1} has no id")
        d = a.get("duration")
        if not isinstance(d, (int, float)) or isinstance(d, bool) or not math.isfinite(d) or d < 0:
            raise InvalidWorkflow(f"certify: agent '{a['id']}': duration must be a number >= 0")
    ids = [a["id"] for a in agents]
    index = {a: j for j, a in enumerate(ids)}
    if len(index) < len(ids):
        raise InvalidWorkflow("certify: two agents have the same id")
    n = len(ids)
    step = _step([float(a["duration"]) for a in agents])
    p = [int(Fraction(repr(float(a["duration"]))) / step) for a in agents]
    bound_steps = Fraction(repr(float(bound))) / step
    if bound_steps.denominator != 1:
        raise InvalidOptions(f"certify: the bound {bound:g} is not a whole multiple of the durations' step {step}")
    horizon = int(bound_steps) - 1
    if horizon > MAX_STEPS:
        raise InvalidOptions(
            f"certify: the bound {bound:g} is {horizon + 1:,} steps of {float(step):g}; at most {MAX_STEPS:,} "
            "(durations with fewer decimals give a coarser step)"
        )
    preds: list[list[int]] = [[] for _ in range(n)]
    succs: list[list[int]] = [[] for _ in range(n)]
    for j, a in enumerate(agents):
        for dep in a.get("depends_on", []):
            if dep not in index:
                raise InvalidWorkflow(f"certify: agent '{a['id']}' depends on unknown agent '{dep}'")
            preds[j].append(index[dep])
            succs[index[dep]].append(j)
    waiting = [len(preds[j]) for j in range(n)]  # Kahn's topological order
    order = [j for j in range(n) if waiting[j] == 0]
    for j in order:
        for s in succs[j]:
            waiting[s] -= 1
            if waiting[s] == 0:
                order.append(s)
    if len(order) < n:
        raise InvalidWorkflow("certify: the dependencies form a cycle")
    es = [0] * n  # earliest start: the longest chain of predecessors
    for j in order:
        es[j] = max((es[i] + p[i] for i in preds[j]), default=0)
    tail = [0] * n  # the longest chain after j's finish
    for j in reversed(order):
        tail[j] = max((p[s] + tail[s] for s in succs[j]), default=0)
    return Question(agents, ids, step, horizon, p, preds, succs, order, es, tail, workflow.get("resources") or {})


def encode(workflow: dict[str, Any], bound: float) -> Encoding:
    """The order encoding (models/sat-encoding.md) of "a plan shorter than ``bound`` exists"."""
    from pysat.formula import IDPool
    from pysat.pb import EncType, PBEnc

    q = read_question(workflow, bound)
    n, p, step, horizon, es, preds = len(q.ids), q.p, q.step, q.horizon, q.es, q.preds
    if horizon * n > MAX_CELLS:
        raise InvalidOptions(
            f"certify: {n:,} agents over {horizon + 1:,} steps is more than the {MAX_CELLS:,} agent-steps encoded"
        )
    ls = [horizon - q.tail[j] - p[j] for j in range(n)]  # latest start of a plan within the horizon

    pool = IDPool()
    TRUE = pool.id("true")
    clauses: list[list[int]] = [[TRUE]]

    def y(j: int, t: int) -> int:
        """'j starts at or before step t' (constants outside its window)."""
        if t < es[j]:
            return -TRUE
        if t >= ls[j]:
            return TRUE
        return pool.id(("y", j, t))

    if any(ls[j] < es[j] for j in range(n)):
        clauses.append([-TRUE])  # a chain of dependencies alone is longer than the horizon
        return Encoding(step, horizon, pool.top, clauses)
    for j in range(n):
        for t in range(es[j], ls[j] - 1):
            clauses.append([-y(j, t), y(j, t + 1)])
    for j in range(n):
        for i in preds[j]:
            for t in range(es[j], ls[j] + 1):
                if y(i, t - p[i]) != TRUE:
                    clauses.append([-y(j, t), y(i, t - p[i])])

    def runs(j: int, t: int) -> int:
        """A literal true whenever j runs at step t."""
        r = pool.id(("r", j, t))
        clauses.append([-y(j, t), y(j, t - p[j]), r])
        return r

    for users, amounts, cap in q.capacities():
        for t in range(horizon):
            lits, weights, fixed = [], [], 0
            for j, u in zip(users, amounts):
                if not es[j] <= t < ls[j] + p[j]:
                    continue
                if ls[j] <= t < es[j] + p[j]:
                    fixed += u  # runs at t in every plan within the horizon
                    continue
                lits.append(runs(j, t))
                weights.append(u)
            if fixed > cap:
                clauses.append([-TRUE])
            elif sum(weights) > cap - fixed:
                pb = PBEnc.atmost(lits=lits, weights=weights, bound=cap - fixed, vpool=pool, encoding=EncType.best)
                clauses.extend(pb.clauses)
    for i, j in q.conflicts():
        for t in range(max(es[i], es[j]), min(ls[i] + p[i], ls[j] + p[j])):
            clause = [-y(i, t), y(i, t - p[i]), -y(j, t), y(j, t - p[j])]
            if TRUE not in clause:
                clauses.append([lit for lit in clause if lit != -TRUE])
    return Encoding(step, horizon, pool.top, clauses)


@dataclass(frozen=True)
class Certified:
    """A bound refuted below and its certificate folder."""

    bound: float
    folder: Path
    variables: int
    clauses: int
    lemmas: int
    solve_seconds: float


@dataclass(frozen=True)
class Verified:
    """The outcome of checking a certificate: ``ok`` and why."""

    ok: bool
    bound: float | None
    reason: str
    steps: int = 0
    seconds: float = 0.0


def certify(workflow: dict[str, Any], bound: float, folder: Path, seconds: float) -> Certified:
    """Refute every plan shorter than ``bound`` and write the certificate into ``folder``
    (the files appear only once the refutation is complete)."""
    from pysat import __version__ as pysat_version
    from pysat.solvers import Solver

    encoding = encode(workflow, bound)
    started = time.perf_counter()
    solver = Solver(name=SOLVER, bootstrap_with=encoding.clauses, with_proof=True)
    try:  # in a helper thread: Ctrl-C and SIGTERM are handled at once
        answer = run_interruptible(lambda: solver.solve_limited(expect_interrupt=True), solver.interrupt, seconds)
        proof = solver.get_proof() if answer is False else None
    finally:
        solver.delete()
    elapsed = time.perf_counter() - started
    if answer is None:
        raise OrchmilpError(f"certify: no refutation below {bound:g} within {seconds:g} s (try a longer --time-limit)")
    if answer is True:
        raise OrchmilpError(f"certify: {bound:g} is not a lower bound: a plan shorter than it exists")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    text = encoding.dimacs()
    meta = {
        "format": FORMAT,
        "claim": f"every plan takes at least {bound:g}",
        "bound": bound,
        "step": str(encoding.step),
        "horizon_steps": encoding.horizon,
        "variables": encoding.variables,
        "clauses": len(encoding.clauses),
        "cnf_sha256": encoding.sha256(),
        "solver": SOLVER,
        "pysat": pysat_version,
        "workflow": workflow,
    }
    from .io.files import write_json_atomic, write_text_atomic

    write_text_atomic(folder / "encoding.cnf", text)
    write_text_atomic(folder / "proof.drat", "".join(line + "\n" for line in proof or ()))
    write_json_atomic(folder / "certificate.json", meta)
    return Certified(bound, folder, encoding.variables, len(encoding.clauses), len(proof or ()), elapsed)


def verify(folder: Path) -> Verified:
    """Re-encode the certificate's workflow, compare the CNF, check the DRAT proof."""
    import dratify

    folder = Path(folder)
    missing = [name for name in _FILES if not (folder / name).is_file()]
    if missing:
        raise InvalidOptions(f"{folder}: not a certificate folder (no {', '.join(missing)})")
    try:
        meta = json.loads((folder / "certificate.json").read_text())
    except (OSError, ValueError) as err:
        raise InvalidOptions(f"{folder / 'certificate.json'}: not readable JSON ({err})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise InvalidOptions(f"{folder / 'certificate.json'}: not a {FORMAT} certificate")
    bound = meta.get("bound")
    if not isinstance(bound, (int, float)) or isinstance(bound, bool):
        raise InvalidOptions(f"{folder / 'certificate.json'}: 'bound' is not a number")
    started = time.perf_counter()
    encoding = encode(meta.get("workflow"), float(bound))  # type: ignore[arg-type]
    stored = (folder / "encoding.cnf").read_text()
    if stored != encoding.dimacs():
        return Verified(
            False,
            bound,
            "encoding.cnf is not the encoding of the certificate's workflow and bound"
            + (
                f" (made with python-sat {meta.get('pysat')}, this machine has another version)"
                if meta.get("pysat") != _pysat_version()
                else ""
            ),
        )
    result = dratify.check_proof(dratify.parse_dimacs(stored), (folder / "proof.drat").read_text())
    elapsed = time.perf_counter() - started
    if not result.ok:
        return Verified(False, bound, f"the DRAT proof is rejected: {result.reason}", result.steps, elapsed)
    return Verified(True, bound, f"every plan takes at least {bound:g}: {result.reason}", result.steps, elapsed)


def _pysat_version() -> str:
    from pysat import __version__

    return str(__version__)
