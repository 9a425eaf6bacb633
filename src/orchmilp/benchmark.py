"""``orchmilp bench``: solve many instances, compare with known optima and best-known bounds.

One row per instance and method (``milp``: the full solver; ``heuristic``:
the genetic algorithm alone with a schedule budget; ``cpsat``: the OR-Tools
peer). Every plan is checked by the independent checker, and a result that
contradicts the reference (a makespan below a proven optimum, a bound above
a known feasible makespan) is reported as a bug.
"""

from __future__ import annotations

import csv
import math
import statistics
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .errors import InvalidOptions, InvalidWorkflow, OrchmilpError
from .statuses import SolveStatus

__all__ = ["Reference", "BenchRow", "collect_instances", "read_reference", "run_one", "summarize", "METHODS"]

METHODS = ("milp", "heuristic", "cpsat")
SUFFIXES = (".sm", ".rcp", ".json")


@dataclass(frozen=True)
class Reference:
    """What is known of an instance: best lower bound, best feasible makespan, whether proven optimal."""

    lb: float | None
    ub: float | None
    optimal: bool

    @property
    def value(self) -> float | None:
        return self.ub


@dataclass
class BenchRow:
    instance: str
    method: str
    status: SolveStatus
    makespan: float | None
    lower_bound: float
    gap: float
    seconds: float
    schedules: int
    reference: float | None
    reference_optimal: bool
    critical_path: float
    path: str = ""
    problems: list[str] = field(default_factory=list)

    def csv_row(self) -> dict:
        row = asdict(self)
        row.pop("problems")
        row["problems"] = "; ".join(self.problems)
        return row


def collect_instances(paths: list[str]) -> list[Path]:
    """Instance files named or found (recursively) under the given folders, in a stable order."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.suffix.lower() in SUFFIXES and p.is_file()))
        elif path.is_file():
            found.append(path)
        else:
            raise InvalidWorkflow(f"{path}: no such file or folder")
    return [p for p in found if p.name != "best_known.csv"]


def read_reference(path: str | Path) -> dict[str, Reference]:
    """Read ``best_known.csv`` (set,instance,lb,ub,optimal) or a Patterson ``optimum.csv`` (problem,optimum)."""
    refs: dict[str, Reference] = {}
    try:
        with open(path, newline="") as handle:
            for k, row in enumerate(csv.DictReader(handle), 2):
                try:
                    if "instance" in row:
                        lb = float(row["lb"]) if row.get("lb") else None
                        ub = float(row["ub"]) if row.get("ub") else None
                        refs[row["instance"]] = Reference(lb, ub, (row.get("optimal") or "").lower() == "true")
                    elif "problem" in row and "optimum" in row:
                        value = float(row["optimum"])
                        refs[Path(row["problem"]).stem] = Reference(value, value, True)
                    else:
                        raise InvalidWorkflow(f"{path}: expected columns instance,lb,ub,optimal or problem,optimum")
                except (TypeError, ValueError) as err:
                    if isinstance(err, InvalidWorkflow):
                        raise
                    raise InvalidWorkflow(f"{path}:{k}: a bound is not a number") from None
    except FileNotFoundError:
        raise InvalidOptions(f"--reference {path}: no such file") from None
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise InvalidOptions(f"--reference {path}: cannot read: {err}") from None
    return refs


def discover_references(files: list[Path]) -> dict[str, Reference]:
    """References found next to the instances (best_known.csv above, optimum.csv beside)."""
    refs: dict[str, Reference] = {}
    seen: set[Path] = set()
    for f in files:
        for folder in (f.parent, *f.parents):
            for name in ("best_known.csv", "optimum.csv"):
                candidate = folder / name
                if candidate.exists() and candidate not in seen:
                    seen.add(candidate)
                    refs.update(read_reference(candidate))
    return refs


def run_one(
    path: str, method: str, time_limit: float, schedules: int, seed: int, threads: int, reference: Reference | None
) -> BenchRow:
    """Solve one instance with one method, check the plan, compare with the reference."""
    from .bounds.critical_path import critical_path_bound
    from .check import check_plan
    from .engine import load, solve
    from .io.workflow import problem_to_workflow

    problem = load(path)
    cp = critical_path_bound(problem)
    name = Path(path).stem
    t0 = time.perf_counter()
    used = 0
    plan = None
    makespan: float | None
    if method == "milp":
        result = solve(problem, time_limit=time_limit, seed=seed, threads=threads)
        plan = result.to_dict()
        status, makespan, lb = result.status, result.makespan, result.lower_bound
        used = result.statistics.ga_schedules
    elif method == "heuristic":
        from .heuristics.ga import genetic_algorithm
        from .result import Result
        from .schedule.build import build_plan
        from .search.phases import simple_bounds
        from .search.state import SearchState

        ga = genetic_algorithm(problem, schedules=schedules, seed=seed, population=max(40, min(150, schedules // 60)))
        used = ga.schedules
        bounds = SearchState(problem, time_limit)
        simple_bounds(bounds, time_limit)
        built = build_plan(problem, ga.start)
        makespan = built.makespan(problem.durations)
        lb = min(bounds.lower_bound, makespan)
        status = SolveStatus.OPTIMAL if makespan <= lb + 1e-9 else SolveStatus.FEASIBLE
        plan = Result(
            problem,
            status,
            makespan,
            makespan if status == SolveStatus.OPTIMAL else lb,
            built.start,
            built.waits_for,
            built.critical_path,
            time.perf_counter() - t0,
        ).to_dict()
    elif method == "cpsat":
        from .cpsat_peer import solve_cpsat

        peer = solve_cpsat(problem, time_limit=time_limit, workers=threads, seed=seed)
        status, makespan, lb = peer.status, peer.makespan, peer.lower_bound
    else:
        raise OrchmilpError(f"unknown method {method!r} (choose from {', '.join(METHODS)})")
    seconds = time.perf_counter() - t0
    problems: list[str] = []
    if plan is not None:
        problems += check_plan(problem_to_workflow(problem), plan, samples=2)
    if reference is not None and makespan is not None:
        if reference.optimal and reference.ub is not None and makespan < reference.ub - 1e-6:
            problems.append(f"makespan {makespan:g} below the proven optimum {reference.ub:g}")
        if reference.ub is not None and lb > reference.ub + 1e-6:
            problems.append(f"lower bound {lb:g} above the known feasible makespan {reference.ub:g}")
    gap = 0.0 if not makespan else max(0.0, (makespan - lb) / makespan)
    return BenchRow(
        name,
        method,
        status,
        makespan,
        lb,
        gap,
        seconds,
        used,
        None if reference is None else reference.ub,
        bool(reference and reference.optimal),
        cp,
        str(path),
        problems,
    )


def run_all(
    files,
    methods,
    *,
    time_limit,
    schedules,
    seed,
    threads,
    jobs,
    references,
    on_row=None,
    dask_address: str | None = None,
) -> list[BenchRow]:
    """Run every (instance, method) pair, in ``jobs`` processes (or on a Dask cluster)."""
    tasks = [(str(f), m, time_limit, schedules, seed, threads, references.get(f.stem)) for f in files for m in methods]
    rows: list[BenchRow] = []
    if dask_address:
        from dask.distributed import Client
        from dask.distributed import as_completed as dask_completed

        with Client(dask_address) as client:
            futures = [client.submit(run_one, *t, pure=False) for t in tasks]
            for fut in dask_completed(futures):
                rows.append(fut.result())
                if on_row:
                    on_row(rows[-1])
    elif jobs <= 1:
        for t in tasks:
            rows.append(run_one(*t))
            if on_row:
                on_row(rows[-1])
    else:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            futures = [pool.submit(run_one, *t) for t in tasks]
            for fut in as_completed(futures):
                rows.append(fut.result())
                if on_row:
                    on_row(rows[-1])
    order = {(str(f), m): k for k, (f, m) in enumerate((t[0], t[1]) for t in tasks)}
    rows.sort(key=lambda r: order.get((r.path, r.method), 0))
    return rows


def summarize(rows: list[BenchRow]) -> list[dict]:
    """One summary line per method: proven optima, matches with the reference optimum,
    deviation from the reference (optimum or best-known makespan) and from the
    critical-path bound, average gap, time."""
    out = []
    for method in dict.fromkeys(r.method for r in rows):
        rs = [(r, r.makespan) for r in rows if r.method == method and r.makespan is not None]
        with_ref = [(r, m, r.reference) for r, m in rs if r.reference]
        devs = [100 * (m - ref) / ref for _, m, ref in with_ref]
        cps = [100 * (m - r.critical_path) / r.critical_path for r, m in rs if r.critical_path > 0]
        secs = [r.seconds for r in rows if r.method == method]
        out.append(
            {
                "method": method,
                "instances": len([r for r in rows if r.method == method]),
                "optimal": sum(r.status == SolveStatus.OPTIMAL for r, _ in rs),
                "= ref opt": sum(1 for r, m, ref in with_ref if r.reference_optimal and abs(m - ref) < 1e-6),
                "dev ref %": statistics.mean(devs) if devs else math.nan,
                "max dev %": max(devs) if devs else math.nan,
                "dev CP %": statistics.mean(cps) if cps else math.nan,
                "gap %": 100 * statistics.mean(r.gap for r, _ in rs) if rs else math.nan,
                "median s": statistics.median(secs) if secs else math.nan,
                "max s": max(secs) if secs else math.nan,
                "bugs": sum(1 for r in rows if r.method == method and r.problems),
            }
        )
    return out
