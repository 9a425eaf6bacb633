"""The certify service: a lower bound on every plan, with a certificate that someone who does
not trust orchmilp can check (:mod:`orchmilp.certificate`).

Without a bound, the workflow is solved first (with half of the time) and its proven lower
bound, rounded down to the durations' step, is certified."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..certificate import Certified, Verified, available, verify
from ..certificate import certify as certify_bound
from ..engine import Source, load_as_written
from ..errors import InvalidOptions

__all__ = ["CertifyRequest", "CertifyOutcome", "certify", "check_certificate"]

#: without a bound, the share of the time limit that the solve gets
SOLVE_SHARE = 0.5


@dataclass(frozen=True)
class CertifyRequest:
    workflow: Source
    bound: float | None = None
    folder: Path | None = None  # default: NAME-bound-B in the current folder
    time_limit: float = 60.0
    check: bool = True  # check the certificate once written (dratify)


@dataclass(frozen=True)
class CertifyOutcome:
    name: str
    certified: Certified
    verified: Verified | None
    solved: dict[str, Any] | None  # the solve that gave the bound: makespan, lower_bound, status

    def to_dict(self) -> dict[str, Any]:
        c = self.certified
        out: dict[str, Any] = {
            "bound": c.bound,
            "certificate": str(c.folder),
            "variables": c.variables,
            "clauses": c.clauses,
            "lemmas": c.lemmas,
            "solve_seconds": round(c.solve_seconds, 3),
        }
        if self.solved is not None:
            out["solved"] = self.solved
        if self.verified is not None:
            out["checked"] = {"ok": self.verified.ok, "reason": self.verified.reason}
        return out


def certify(request: CertifyRequest) -> CertifyOutcome:
    """Certify ``request.bound`` (or the bound a solve proves); see :class:`CertifyRequest`."""
    if not available():
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
    folder = Path(request.folder) if request.folder is not None else Path(f"{_safe(name)}-bound-{bound:g}")
    left = request.time_limit - (time.perf_counter() - started)
    certified = certify_bound(workflow, bound, folder, max(left, 0.1))
    return CertifyOutcome(name, certified, verify(folder) if request.check else None, solved)


def check_certificate(folder: str | Path) -> Verified:
    """Check a certificate folder written by :func:`certify`."""
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
