"""Fuzz the command line: mutated workflows through solve, analyze and one of solve --waves, least
spend, pareto and whatif; mutated plans through check and export (bash, make, json, claude). A
finding is an exception escaping ``main`` (a traceback), an exit code other than 0, 1 or 2, an
error that is not one line, or a call that does not end within 60 s.

    python bench/fuzz.py [--workflows 1000] [--plans 300] [--seed 0] [--out bench/results/fuzz.txt] [--save DIR]

Each case runs in this process (``orchmilp.cli.main``), so thousands take minutes, not hours.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import json
import random
import signal
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from orchmilp.cli import main  # noqa: E402

HOSTILE = [
    None,
    True,
    -1,
    0,
    1e308,
    -1e308,
    10**400,
    1e-320,
    "",
    "x\ny",
    "\x1b[31m",
    "$(touch PWNED)",
    "[/bold]",
    "a/b",
    "../x",
    [],
    {},
    [None],
    {"": None},
    "NaN",
    2**63,
    0.25,
    "0",
]


#: One of these runs on each mutated workflow too: waves, model choice's least spend, the
#: Pareto front and a what-if of a budget.
EXTRA_CALLS = [
    lambda path: ["solve", path, "--time-limit", "1", "--waves", "--json"],
    lambda path: ["solve", path, "--time-limit", "1", "--objective", "usd", "--deadline", "900", "--json"],
    lambda path: ["pareto", path, "--time-limit", "0.5", "--points", "2", "--json"],
    lambda path: ["whatif", path, "--set", "budgets.usd=5", "--time-limit", "1", "--json"],
]


class Hang(Exception):
    pass


def _paths(obj, prefix=()):
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for k, v in enumerate(obj):
            yield from _paths(v, prefix + (k,))


def _mutate(obj, rng: random.Random):
    """One random structural change somewhere in ``obj`` (a copy)."""
    obj = copy.deepcopy(obj)
    paths = list(_paths(obj))
    path = rng.choice(paths[1:] or paths)
    parent = obj
    for key in path[:-1]:
        parent = parent[key]
    key = path[-1] if path else None
    op = rng.randrange(6)
    if key is None:
        return rng.choice(HOSTILE)
    if op == 0 and isinstance(parent, dict):
        del parent[key]
    elif op == 1 and isinstance(parent, list):
        parent.insert(rng.randrange(len(parent) + 1), copy.deepcopy(parent[key]))
    elif op == 2:
        parent[key] = [parent[key]]
    elif op == 3:
        nested = "x"
        for _ in range(rng.choice([3, 70])):
            nested = [nested]
        parent[key] = nested
    else:
        parent[key] = rng.choice(HOSTILE)
    return obj


def _text_mutation(text: str, rng: random.Random) -> str:
    op = rng.randrange(4)
    if op == 0:
        return text[: rng.randrange(len(text) + 1)]
    if op == 1:
        at = rng.randrange(len(text) + 1)
        return text[:at] + rng.choice(["\x00", "\xff", "}", "]", ",", '"', "\\u", "NaN", "\n"]) + text[at:]
    if op == 2:
        return text.replace('"agents":', '"agents": [], "agents":', 1) if rng.random() < 0.5 else "[" * 5000 + text

    return text.replace("{", "{" + '"id": "dup", ' * 2, 1)


def _call(argv: list[str], seconds: float = 60.0) -> tuple[int | None, str, str | None]:
    """(exit code, stderr, finding or None)."""
    out, err = io.StringIO(), io.StringIO()

    def alarm(signum, frame):
        raise Hang

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
    except Hang:
        return None, err.getvalue(), f"hang: {' '.join(argv[:2])}"
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 2
    except BaseException as exc:  # noqa: BLE001 - a traceback is what we are looking for
        return None, err.getvalue(), f"traceback: {type(exc).__name__}: {str(exc)[:120]}"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    text = err.getvalue()
    if code not in (0, 1, 2):
        return code, text, f"exit code {code}"
    if "internal error" in text:
        return code, text, f"internal error: {text.strip()[:200]!r}"
    errors = [line for line in text.splitlines() if line.startswith("orchmilp: error")]
    if code == 2 and (len(errors) != 1 or "Traceback" in text):
        return code, text, f"error not one line: {text[:200]!r}"
    return code, text, None


def seeds() -> list[dict]:
    found = [json.loads(p.read_text()) for p in sorted((ROOT / "instances" / "examples").rglob("*.json"))]
    found.append({"resources": {"r": 2}, "agents": [{"id": "a", "duration": 1, "uses": {"r": 1}, "writes": ["f"]}]})
    return found


def fuzz(workflows: int, plans: int, seed: int = 0, on_finding=None) -> dict:
    rng = random.Random(seed)
    base = seeds()
    findings: list[str] = []
    counts = {"workflow calls": 0, "plan calls": 0, "exit 0": 0, "exit 1": 0, "exit 2": 0}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for k in range(workflows):
            source = rng.choice(base)
            mutated = source
            for _ in range(rng.randint(1, 3)):
                mutated = _mutate(mutated, rng)
            try:
                text = json.dumps(mutated)
            except (ValueError, RecursionError):
                text = json.dumps(source)
            if rng.random() < 0.25:
                text = _text_mutation(text, rng)
            path = folder / f"wf{k}.json"
            path.write_text(text, encoding="utf-8", errors="surrogatepass")
            for argv in (
                ["solve", str(path), "--time-limit", "1", "--json"],
                ["analyze", str(path), "--json"],
                rng.choice(EXTRA_CALLS)(str(path)),
            ):
                code, _, finding = _call(argv)
                counts["workflow calls"] += 1
                counts[f"exit {code}"] = counts.get(f"exit {code}", 0) + 1
                if finding:
                    findings.append(f"wf{k} {argv[0]}: {finding}")
                    if on_finding:
                        on_finding(findings[-1], text)
        solved: dict[int, dict | None] = {}  # each example's plan, solved once
        for k in range(plans):
            pick = rng.randrange(len(base))
            wf_path = folder / f"base{pick}.json"
            plan_path = folder / f"plan{k}.json"
            if pick not in solved:
                wf_path.write_text(json.dumps(base[pick]))
                ok = _call(["solve", str(wf_path), "--time-limit", "2", "-o", str(plan_path), "--json"])[0] == 0
                solved[pick] = json.loads(plan_path.read_text()) if ok else None
            if solved[pick] is None:
                continue
            plan = solved[pick]
            for _ in range(rng.randint(1, 3)):
                plan = _mutate(plan, rng)
            plan_path.write_text(json.dumps(plan) if rng.random() < 0.8 else _text_mutation(json.dumps(plan), rng))
            for argv in (
                ["check", str(wf_path), str(plan_path)],
                ["export", str(plan_path), "--format", rng.choice(["bash", "make", "json", "claude"])],
            ):
                code, _, finding = _call(argv)
                counts["plan calls"] += 1
                counts[f"exit {code}"] = counts.get(f"exit {code}", 0) + 1
                if finding:
                    findings.append(f"plan{k} {argv[0]}: {finding}")
                    if on_finding:
                        on_finding(findings[-1], plan_path.read_text())
    return {"counts": counts, "findings": findings}


def run(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workflows", type=int, default=1000)
    parser.add_argument("--plans", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "fuzz.txt"))
    parser.add_argument("--save", metavar="DIR", help="write each finding's input to DIR/<case>-<command>.json")
    args = parser.parse_args(argv)
    t = time.perf_counter()

    def on_finding(finding: str, text: str) -> None:
        print(finding, text[:300], file=sys.stderr)
        if args.save:
            Path(args.save).mkdir(parents=True, exist_ok=True)
            case = finding.split(":")[0].replace(" ", "-")
            (Path(args.save) / f"{case}.json").write_text(text, encoding="utf-8", errors="surrogatepass")

    report = fuzz(args.workflows, args.plans, args.seed, on_finding=on_finding)
    lines = [
        f"fuzz: {args.workflows} mutated workflows (solve, analyze, one more), {args.plans} mutated plans (check, export), seed {args.seed}",
        f"calls: {report['counts']}",
        f"findings: {len(report['findings'])}",
        *report["findings"],
        f"took {time.perf_counter() - t:.0f} s",
    ]
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 1 if report["findings"] else 0


if __name__ == "__main__":
    sys.exit(run())
