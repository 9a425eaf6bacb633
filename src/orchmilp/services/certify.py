"""The certify service: a lower bound on every plan, with a certificate that someone who does
not trust orchmilp can check: a CNF and its DRAT refutation (``method="sat"``,
:mod:`orchmilp.certificate`), or LP shaving steps and a refutation, each a Farley inequality in
whole numbers (``method="lp"``, :mod:`orchmilp.lp_certificate`).

Without a bound, the workflow is solved first (with half of the time) and its proven lower
bound, rounded down to the durations' step, is certified; by the LP, when it cannot reach that
bound, the highest bound it certifies in the time left (bisection from the dependency chains)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from .. import lp_certificate
from ..certificate import Certified, Verified, available, read_question, verify
from ..certificate import certify as certify_bound
from ..engine import Source, load_as_written
from ..errors import InvalidOptions, OrchmilpError
from ..lp_certificate import LPCertified

__all__ = ["CertifyRequest", "CertifyOutcome", "certify", "check_certificate"]

#: without a bound, the share of the time limit that the solve gets
SOLVE_SHARE = 0.5


@dataclass(frozen=True)
class CertifyRequest:
    workflow: Source
    bound: float | None = None
    folder: Path | None = None  # default: NAME-bound-B in the current folder
    time_limit: float = 60.0
    check: bool = True  # check the certificate once written
    method: str = "sat"  # "sat" (CNF + DRAT) or "lp" (LP shaving, whole-number Farley inequalities)
    up_to: bool = False  # method "lp": the highest bound up to ``bound`` that the LP certifies
    on_progress: Callable[[str], None] | None = None  # method "lp": a line per shaving round


METHODS = ("sat", "lp")


@dataclass(frozen=True)
class CertifyOutcome:
    name: str
    certified: Certified | LPCertified
    verified: Verified | None
    solved: dict[str, Any] | None  # the solve that gave the bound: makespan, lower_bound, status

    def to_dict(self) -> dict[str, Any]:
        c = self.certified
        out: dict[str, Any] = {"bound": c.bound, "certificate": str(c.folder)}
        if isinstance(c, Certified):
            out.update(method="sat", variables=c.variables, clauses=c.clauses, lemmas=c.lemmas)
        else:
            out.update(method="lp", steps=c.steps, lp_solves=c.lp_solves)
        out["solve_seconds"] = round(c.solve_seconds, 3)
        if self.solved is not None:
            out["solved"] = self.solved
        if self.verified is not None:
            out["checked"] = {"ok": self.verified.ok, "reason": self.verified.reason}
        return out


def certify(request: CertifyRequest) -> CertifyOutcome:
    """Certify ``request.bound`` (or the bound a solve proves); see :class:`CertifyRequest`."""
    if request.method not in METHODS:
        raise InvalidOptions(f"--method {request.method!r}: one of {', '.join(METHODS)}")
    if request.up_to and (request.method != "lp" or request.bound is None):
        raise InvalidOptions("--up-to needs --method lp and a --bound")
    if request.method == "sat" and not available():
        raise InvalidOptions("certify needs python-sat and dratify: pip install 'orchmilp[certify]'")
    if request.time_limit <= 0 or not math.isfinite(request.time_limit):
        raise InvalidOptions("--time-limit must be a finite number > 0")
    started = time.perf_counter()
    loaded = load_as_written(request.workflow)
    workflow, name = loaded.workflow, loaded.problem.name
    bound, solved = request.bound, None
    if bound is None:
        from ..engine import solve

        result = solve(loaded.workflow, time_limit=SOLVE_SHARE * request.time_limit)
        bound = _on_grid(workflow, result.lower_bound)
        solved = {"makespan": result.makespan, "lower_bound": result.lower_bound, "status": result.status.value}
    if not math.isfinite(bound) or bound <= 0:
        raise InvalidOptions(f"--bound {bound:g}: must be a finite number > 0")
    deadline = started + request.time_limit
    if request.method == "lp":
        highest = request.bound is None or request.up_to
        lp = _certify_by_lp(loaded, bound, highest, request.folder, deadline, request.on_progress)
        return CertifyOutcome(name, lp, lp_certificate.verify(lp.folder) if request.check else None, solved)
    folder = Path(request.folder) if request.folder is not None else Path(f"{_safe(name)}-bound-{bound:g}")
    certified = certify_bound(workflow, bound, folder, max(deadline - time.perf_counter(), 0.1))
    return CertifyOutcome(name, certified, verify(folder) if request.check else None, solved)


def _certify_by_lp(
    loaded, bound: float, highest: bool, folder: Path | None, deadline: float, progress: Callable[[str], None] | None
) -> LPCertified:
    """LP shaving (:mod:`orchmilp.bounds.shaving`) refutes every plan shorter than ``bound``;
    with ``highest``, the highest bound up to ``bound`` that it refutes in the time."""
    from ..bounds.shaving import prove

    workflow = loaded.workflow
    started = time.perf_counter()
    question = read_question(workflow, bound)
    step = question.step
    top = int(Fraction(repr(float(bound))) / step)

    def attempt(steps: int):
        checker = lp_certificate.Checker(read_question(workflow, float(steps * step)))
        tell = None if progress is None else (lambda line: progress(f"{float(steps * step):g}: {line}"))
        return prove(loaded.problem, checker, deadline, tell)

    best = None  # (the bound in steps, its proof)
    if not highest:
        proof = attempt(top)
        best = (top, proof) if proof is not None else None
    else:  # the longest chain of dependencies is certified at once (a window closes); bisect above it
        lo = max((question.es[j] + question.p[j] + question.tail[j] for j in range(len(question.ids))), default=0)
        hi, trial = top, top
        while lo < hi and time.perf_counter() < deadline:
            proof = attempt(trial)
            if proof is not None:
                best, lo = (trial, proof), trial
            else:
                hi = trial - 1
            trial = (lo + hi + 1) // 2
        if best is None and lo > 0:
            proof = attempt(lo)
            best = (lo, proof) if proof is not None else None
    if best is None:
        raise OrchmilpError(
            f"certify: the LP does not refute every plan shorter than {bound:g}"
            + (" within the time (try a longer --time-limit)" if time.perf_counter() >= deadline else "")
            + " (--method sat may)"
        )
    steps, proof = best
    value = float(steps * step)
    folder = Path(folder) if folder is not None else Path(f"{_safe(loaded.problem.name)}-bound-{value:g}")
    lp_certificate.write(folder, workflow, value, proof.steps, proof.prices)
    return LPCertified(value, folder, len(proof.steps), proof.lp_solves, time.perf_counter() - started)


def check_certificate(folder: str | Path) -> Verified:
    """Check a certificate folder written by :func:`certify` (either method)."""
    if lp_certificate.is_lp_certificate(Path(folder)):
        return lp_certificate.verify(Path(folder))
    if not available():
        raise InvalidOptions("checking a certificate needs python-sat and dratify: pip install 'orchmilp[certify]'")
    return verify(Path(folder))


def _on_grid(workflow: dict[str, Any], bound: float) -> float:
    """``bound`` rounded down to a whole multiple of the durations' step."""
    from fractions import Fraction

    from ..certificate import _step

    step = _step([float(a["duration"]) for a in workflow["agents"]])
    return float(math.floor(Fraction(repr(float(bound))) / step + Fraction(1, 10**9)) * step)


def _safe(name: str) -> str:
    """A workflow's name as a file name part (anything but ``A-Za-z0-9_.-`` replaced)."""
    import re

    return re.sub(r"[^A-Za-z0-9_.-]", "_", name or "workflow").lstrip(".") or "workflow"
