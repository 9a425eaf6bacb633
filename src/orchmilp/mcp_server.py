"""``orchmilp mcp``: the engine as Model Context Protocol tools, over stdio.

Coding agents (Claude Code, Cursor, any MCP client) call ``solve``,
``analyze``, ``predict``, ``whatif`` and ``check`` themselves, and ``run`` when
the server was started with ``--allow-run``. Results are the objects of
docs/spec (plan, prediction, analysis), not prose; errors are tool errors
carrying the command line's one-line message.

Safety:

* every path is relative to ``--root`` (default: the current folder);
  absolute paths, ``..`` and links leading outside are refused;
* each call runs in a child process of its own (its own process group) and
  is killed at its time limit + 1 s, so no call can hold the server or take
  it down; the server keeps answering after any bad call;
* nothing runs commands unless ``--allow-run``; only ``run`` writes files
  (its logs and history under ``ROOT/runs``).
"""

import math
import multiprocessing
import os
import signal
import threading
import time
from pathlib import Path
from typing import Annotated, Any

try:  # comes with the MCP SDK (pip install 'orchmilp[mcp]')
    from pydantic import Field
except ImportError:  # pragma: no cover
    Field = None  # type: ignore[assignment]

__all__ = ["build_server", "serve", "DEFAULT_TIME_LIMIT", "MAX_TIME_LIMIT"]

DEFAULT_TIME_LIMIT = 30.0
MAX_TIME_LIMIT = 120.0
#: what a call may take beyond its time limit before its process is stopped
KILL_AFTER = 1.0
#: the share of a certify call's time kept for checking the certificate, by method
CERTIFY_CHECK_SHARE = {"lp": 0.1, "sat": 0.4}
#: seconds a run's agents get between SIGTERM and SIGKILL when a call is stopped
RUN_GRACE = 2.0
#: seconds of a call's time limit kept for sending its answer
ANSWER_SECONDS = 0.5


class Refused(Exception):
    """A call the server will not make (bad path, bad argument): its message goes to the client."""


# ---- work done in the child process --------------------------------------------------------


def _inside(root: Path, relative: str, what: str) -> Path:
    """``relative`` resolved under ``root``, or :class:`Refused`."""
    if not isinstance(relative, str) or not relative:
        raise Refused(f"{what}: give a path relative to the server's root")
    if relative.startswith(("/", "\\")) or (len(relative) > 1 and relative[1] == ":"):
        raise Refused(f"{what}: {relative!r} is an absolute path; give a path relative to the server's root")
    if ".." in Path(relative).parts:
        raise Refused(f"{what}: {relative!r} contains '..'; paths must stay under the server's root")
    path = (root / relative).resolve()
    if path != root and root not in path.parents:
        raise Refused(f"{what}: {relative!r} leads outside the server's root")
    return path


def _workflow(root: Path, workflow: Any) -> Any:
    """An inline workflow (object) or a path under the root."""
    if isinstance(workflow, dict):
        return workflow
    if isinstance(workflow, str):
        stripped = workflow.lstrip()
        if stripped.startswith("{"):
            from .io.workflow import parse_json

            return parse_json(stripped, "workflow")
        return _inside(root, workflow, "workflow")
    raise Refused("workflow: give the workflow as a JSON object or as a path relative to the server's root")


def _plan(root: Path, plan: Any) -> dict | None:
    if plan is None or isinstance(plan, dict):
        return plan
    if isinstance(plan, str):
        from .io.plan import read_plan

        return read_plan(_inside(root, plan, "plan"))
    raise Refused("plan: give the plan as a JSON object or as a path relative to the server's root")


def _on_failure(a: dict) -> str:
    value = a.get("on_failure") or "stop"
    if value not in ("stop", "continue"):
        raise Refused("on_failure: 'stop' or 'continue'")
    return value


def _do_solve(root, a, deadline):
    from .services import PlanRequest, Reports, plan

    objective = a.get("objective") or "makespan"
    if not isinstance(objective, str) or not objective:
        raise Refused("objective: 'makespan', 'p90' or a consumes key such as 'usd'")
    from .options import SolveOptions

    workflow = _workflow(root, a["workflow"])
    if a.get("deadline") is not None:  # the workflow as written, with this deadline
        from .engine import load_as_written

        name = Path(workflow).stem if isinstance(workflow, (str, Path)) else "workflow"
        # checked with the workflow, as any deadline written in it (io.modes.mode_table)
        workflow = {"name": name, **load_as_written(workflow).workflow, "deadline": a["deadline"]}
    spend = None if objective in ("makespan", "p90") else objective
    request = PlanRequest(
        workflow,
        solve=SolveOptions(dispatch="waves" if a.get("waves") else "events", spend=spend),
        history=_histories(root, a.get("history")),
        objective="p90" if objective == "p90" else "makespan",
        reports=Reports(text=True) if a.get("report") else None,
    )
    outcome = plan(request, deadline)
    out = outcome.plan
    if outcome.reports is not None:
        out = {**out, "report": outcome.reports.markdown}
    return out


def _do_pareto(root, a, deadline):
    from .services.pareto import ParetoRequest, pareto

    points = a.get("points") or 8
    if not isinstance(points, int) or not 1 <= points <= 50:
        raise Refused("points: a whole number from 1 to 50")
    key = a.get("y") or "usd"
    if not isinstance(key, str):
        raise Refused("y: a consumes key such as 'usd'")
    outcome = pareto(ParetoRequest(_workflow(root, a["workflow"]), key, points, float("inf")), deadline)
    return {"key": outcome.key, "unit": outcome.unit, "complete": outcome.complete, "points": outcome.points}


def _do_analyze(root, a, deadline):
    from .services import analyze

    return analyze(_workflow(root, a["workflow"]))


def _do_stats(root, a, deadline):
    import dataclasses

    from .services import stats

    paths = _histories(root, a.get("history"))
    if not paths:
        raise Refused("history: give the history files or folders to summarise")
    runs, rows = stats(paths)
    return {"workflows": rows, "runs": [dataclasses.asdict(r) for r in runs[-50:]]}


def _do_infer(root, a, deadline):
    from .services.infer import infer

    paths = _histories(root, a.get("history"))
    if not paths:
        raise Refused("history: give the history recorded by run or session")
    outcome = infer(_workflow(root, a["workflow"]), paths)
    return {"patch": outcome.patch(), "undeclared": outcome.undeclared, "workflow": outcome.workflow}


def _histories(root, paths):
    """History files or folders under the root; a file inside a folder (found by its walk) that
    is a link leading outside the root is refused too."""
    if not paths:
        return None
    if isinstance(paths, str):
        paths = [paths]
    if not isinstance(paths, list):
        raise Refused("history: a path, or a list of paths, under the server's root")
    from .history import history_files

    found = [_inside(root, p, "history") for p in paths]
    for f in history_files(found):
        real = f.resolve()
        if real != root and root not in real.parents:
            raise Refused(f"history: {f.relative_to(root) if root in f.parents else f} leads outside the server's root")
    return found


def _do_predict(root, a, deadline):
    from .services import PredictRequest, predict

    request = PredictRequest(
        _workflow(root, a["workflow"]),
        plan=_plan(root, a.get("plan")),
        history=_histories(root, a.get("history")),
        samples=int(a.get("samples") or 10_000),
        level=float(a.get("level") or 0.95),
    )
    return predict(request, deadline).to_dict()


def _do_whatif(root, a, deadline):
    from .analysis.scenarios import SCENARIO_FLAGS
    from .services import WhatIfRequest, whatif

    scenarios = []
    for item in a.get("scenarios") or []:
        if (
            not isinstance(item, dict)
            or item.get("flag") not in SCENARIO_FLAGS
            or not isinstance(item.get("value"), str)
        ):
            raise Refused(f"scenarios: each is {{'flag': one of {', '.join(SCENARIO_FLAGS)}, 'value': 'ID=K' ...}}")
        value = item["value"]
        if item["flag"] == "add":
            value = str(_inside(root, value, "scenarios.add"))
        scenarios.append((item["flag"], value))
    request = WhatIfRequest(
        _workflow(root, a["workflow"]),
        scenarios,
        sweep=a.get("sweep"),
        history=_histories(root, a.get("history")),
        seconds_each=float("inf"),
        samples=2000,
    )
    outcome = whatif(request, deadline)
    out: dict[str, Any] = {"scenarios": outcome.rows}
    if outcome.sweep_key is not None:
        out.update(sweep=outcome.sweep_rows, knee=outcome.knee)
    return out


def _do_check(root, a, deadline):
    from .services import CheckRequest, check

    plan = _plan(root, a.get("plan"))
    if plan is None:
        raise Refused("plan: required")
    request = CheckRequest(_workflow(root, a["workflow"]), plan, _histories(root, a.get("history")), samples=20)
    return check(request).to_dict()


def _do_certify(root, a, deadline):
    from .services.certify import CertifyRequest, certify

    method = a.get("method") or "lp"
    if method not in ("lp", "sat"):
        raise Refused("method: 'lp' or 'sat'")
    workflow = _workflow(root, a["workflow"])
    stem = workflow.stem if isinstance(workflow, Path) else "workflow"
    folder = _inside(root, a.get("output") or f"certificates/{stem}-{method}", "output")
    if folder.exists() and not folder.is_dir():
        raise Refused(f"output: {a.get('output')!r} is a file, not a folder")
    bound = a.get("bound")
    # the check runs after the time limit given to the service: keep it a share (DRAT checks are slow)
    deadline.reserve("check", math.inf, most_share=CERTIFY_CHECK_SHARE[method])
    request = CertifyRequest(
        workflow,
        None if bound is None else float(bound),
        folder,
        max(deadline.remaining(), 0.1),
        check=True,
        method=method,
        up_to=bool(a.get("up_to")) and bound is not None,
    )
    out = certify(request).to_dict()
    out["certificate"] = str(folder.relative_to(root))
    return out


def _do_check_certificate(root, a, deadline):
    from .services.certify import check_certificate

    verified = check_certificate(_inside(root, a["certificate"], "certificate"))
    return {"ok": verified.ok, "bound": verified.bound, "reason": verified.reason}


def _do_run(root, a, deadline):
    from .run import RunOptions
    from .services import RunRequest, run, run_summary

    source = _workflow(root, a["workflow"])
    if not isinstance(source, Path):
        raise Refused("workflow: run needs a workflow file under the root (its commands run in its folder)")
    request = RunRequest(
        source,
        history_path=root / "runs" / "history.jsonl",
        workdir=source.parent,
        options=RunOptions(on_failure=_on_failure(a), grace=RUN_GRACE),
    )
    return run_summary(run(request, deadline), root)


def _do_session_start(root, a, deadline):
    from .services.session import SessionStart, session_start

    source = _workflow(root, a["workflow"])
    if not isinstance(source, Path):
        raise Refused("workflow: a session needs a workflow file under the root")
    request = SessionStart(
        source,
        state=root / "runs",
        waves=bool(a.get("waves")),
        history=_histories(root, a.get("history")),
        on_failure=_on_failure(a),
        isolate="worktree" if a.get("isolate") else "none",
    )
    return session_start(request, deadline)


def _do_session_done(root, a, deadline):
    from .services.session import session_done

    agents = a.get("agents")
    if isinstance(agents, str):
        agents = [agents]
    return session_done(
        root / "runs", a["session"], agents or [], status=a.get("status") or "ok", exit_code=a.get("exit_code")
    )


def _do_session_status(root, a, deadline):
    from .services.session import session_status

    return session_status(root / "runs", a["session"])


def _do_session_cancel(root, a, deadline):
    from .services.session import session_cancel

    return session_cancel(root / "runs", a["session"])


def _do_run_start(root, a, deadline):
    from .run import background

    source = _workflow(root, a["workflow"])
    if not isinstance(source, Path):
        raise Refused("workflow: run_start needs a workflow file under the root (its commands run in its folder)")
    from .engine import load

    load(source)  # bad input is an error now, not a run that fails later
    return background.start(root, source, on_failure=_on_failure(a), grace=RUN_GRACE)


def _do_run_status(root, a, deadline):
    from .run import background

    return background.status(root, a["run"])


def _do_run_cancel(root, a, deadline):
    from .run import background

    return background.cancel(root, a["run"], wait=max(min(deadline.remaining() - 0.5, 10.0), 0.5))


_WORK = {
    "run_start": _do_run_start,
    "run_status": _do_run_status,
    "run_cancel": _do_run_cancel,
    "session_start": _do_session_start,
    "session_done": _do_session_done,
    "session_status": _do_session_status,
    "session_cancel": _do_session_cancel,
    "solve": _do_solve,
    "analyze": _do_analyze,
    "stats": _do_stats,
    "infer": _do_infer,
    "predict": _do_predict,
    "whatif": _do_whatif,
    "pareto": _do_pareto,
    "check": _do_check,
    "certify": _do_certify,
    "check_certificate": _do_check_certificate,
    "run": _do_run,
}


def _watch_server(server: int) -> None:
    """End this call (SIGTERM to itself: a run cancels its agents) when the server process ends,
    for example because the client went away; SIGKILL to the call's group 10 s later."""
    import select
    import threading

    def watch() -> None:
        try:
            fd = os.pidfd_open(server)
        except (AttributeError, OSError):
            fd = None
        while True:
            if fd is not None:
                select.select([fd], [], [], 1.0)
            else:
                time.sleep(0.5)
            if not _alive(server, fd):
                break
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(10)
        os.killpg(0, signal.SIGKILL)

    threading.Thread(target=watch, name="orchmilp-watch-server", daemon=True).start()


def _alive(pid: int, fd: int | None) -> bool:
    if fd is not None:
        import select

        return not select.select([fd], [], [], 0)[0]
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


#: a result longer than this (characters of JSON) is summarised unless ``detail`` is "full"
SUMMARY_CHARS = 50_000
#: items kept of each long list (or object) of a summarised result
SUMMARY_ITEMS = 50


def compact(result: Any, items: int = SUMMARY_ITEMS) -> Any:
    """``result`` with every list or object longer than ``items`` cut to its first ``items``;
    ``omitted`` says where and how many were left out (the whole result: ``detail: "full"``).

    >>> compact({"a": list(range(5)), "b": 1}, items=2)
    {'a': [0, 1], 'b': 1, 'omitted': {'a': 3}}
    """
    omitted: dict[str, int] = {}

    def cut(value: Any, where: str) -> Any:
        if isinstance(value, list):
            if len(value) > items:
                omitted[where] = len(value) - items
            return [cut(v, f"{where}[{k}]") for k, v in enumerate(value[:items])]
        if isinstance(value, dict):
            keys = list(value)
            if len(keys) > items and where:
                omitted[where] = len(keys) - items
                keys = keys[:items]
            return {k: cut(value[k], f"{where}.{k}" if where else str(k)) for k in keys}
        return value

    out = cut(result, "")
    if omitted and isinstance(out, dict):
        out["omitted"] = omitted
    return out


def _shaped(result: Any, detail: str | None) -> Any:
    """The full result, or its summary: asked for, or when the full one is too long to read."""
    import json

    if detail == "full" or not isinstance(result, dict):
        return result
    if detail == "summary" or len(json.dumps(result, default=str)) > SUMMARY_CHARS:
        return compact(result)
    return result


def _child(conn, tool: str, root: str, arguments: dict, limit: float, started: float, server: int) -> None:
    """Runs in the call's own process (and process group). SIGTERM (the time limit, or the
    server gone) stops the work as Ctrl-C does: a run cancels its agents and records them."""
    from .signals import raise_interrupt

    os.setpgrp()
    signal.signal(signal.SIGTERM, raise_interrupt)
    signal.signal(signal.SIGHUP, raise_interrupt)
    _watch_server(server)
    import warnings

    from .deadline import Deadline
    from .errors import OrchmilpError

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            deadline = Deadline(limit, started=started)
            deadline.reserve("answer", ANSWER_SECONDS, most_share=0.5)
            result = _WORK[tool](Path(root), arguments, deadline)
        result = _shaped(result, arguments.get("detail"))
        notes = list(dict.fromkeys(str(w.message) for w in caught))
        if notes and isinstance(result, dict):
            result = {**result, "warnings": notes}
        conn.send(("ok", result))
    except (OrchmilpError, Refused) as err:
        conn.send(("error", str(err)))
    except (KeyboardInterrupt, SystemError, ImportError) as err:
        from .clock import is_interrupt

        if not is_interrupt(err):
            raise
        conn.send(("error", f"{tool}: stopped (time limit reached or server stopping)"))
    except Exception as err:  # a bug: still one line, and the server lives on
        conn.send(("error", f"internal error: {type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"))
    finally:
        conn.close()


# ---- the server ----------------------------------------------------------------------------


class _Calls:
    """Runs each call in a child process, killed at its time limit + 1 s."""

    def __init__(self, root: Path, max_time_limit: float) -> None:
        self.root = root
        self.max_time_limit = max_time_limit
        self.context = multiprocessing.get_context("forkserver")
        self.context.set_forkserver_preload(["orchmilp.services", "orchmilp.mcp_server"])
        self.lock = threading.Lock()
        self.under_way: set = set()

    def limit(self, value: Any) -> float:
        if value is None:
            return min(DEFAULT_TIME_LIMIT, self.max_time_limit)
        try:
            value = float(value)
        except (TypeError, ValueError, OverflowError):
            raise Refused(f"time_limit: {repr(value)[:40]} is not a number of seconds") from None
        if not math.isfinite(value) or value <= 0:
            raise Refused(f"time_limit: {value!r} must be a positive number of seconds")
        return min(value, self.max_time_limit)

    def stop_all(self) -> None:
        """Stop every call under way (the server is ending)."""
        with self.lock:
            processes = list(self.under_way)
        for process in processes:
            _stop(process)

    def call(self, tool: str, arguments: dict) -> Any:
        limit = self.limit(arguments.get("time_limit"))
        started = time.perf_counter()
        here, there = self.context.Pipe(duplex=False)
        process = self.context.Process(
            target=_child, args=(there, tool, str(self.root), arguments, limit, started, os.getpid())
        )
        process.start()
        with self.lock:
            self.under_way.add(process)
        there.close()
        try:
            if here.poll(limit + KILL_AFTER - (time.perf_counter() - started)):
                try:
                    kind, value = here.recv()
                except EOFError:
                    kind, value = "error", "internal error: the call's process ended without an answer"
                process.join(timeout=1)  # it ends by itself once it has answered
            else:
                kind, value = "error", f"{tool}: stopped at the time limit ({limit:g} s + {KILL_AFTER:g} s)"
        finally:
            _stop(process)
            here.close()
            with self.lock:
                self.under_way.discard(process)
        if kind == "error":
            raise Refused(value)
        return value


def _stop(process) -> None:
    """SIGTERM to the call's process (a run cancels its agents: :data:`RUN_GRACE` + 1 s), then
    SIGKILL to its group. Agents never outlive it either way: their supervisors watch it."""
    if process.is_alive():
        try:
            os.kill(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        process.join(timeout=RUN_GRACE + 1)
    _kill_group(process)


def _kill_group(process) -> None:
    if process.is_alive():
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            process.kill()
    process.join(timeout=5)


WORKFLOW_HELP = (
    "The workflow: a path relative to the server's root, or a JSON object: "
    '{"name": str, "time_unit": "s", "resources": {NAME: capacity}, "agents": [{"id": str, "duration": number, '
    '"depends_on": [ids], "uses": {NAME: amount held while it runs}, "reads": [paths], "writes": [paths], '
    '"command": str}]}. Agents that write a path another reads or writes never overlap in time.'
)
DETAIL_HELP = (
    "'summary': long lists cut to their first 50 items ('omitted' says how many more); 'full': everything; "
    f"default: full unless the result is longer than {SUMMARY_CHARS:,} characters"
)


def _one_line(err: Exception) -> str:
    """A tool's error as one line: for arguments that break the input schema (the SDK's
    message spans lines), the first argument at fault; otherwise the message, line breaks
    folded."""
    errors = getattr(err.__cause__, "errors", None)
    details = errors() if callable(errors) else []
    if details:
        first = details[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "arguments"
        return f"{str(err).split(':', 1)[0]}: {where}: {first.get('msg')} (got {repr(first.get('input'))[:40]})"
    return " ".join(str(err).split())


def build_server(root: str | Path = ".", allow_run: bool = False, max_time_limit: float = MAX_TIME_LIMIT):
    """The MCP server with its tools (needs ``pip install 'orchmilp[mcp]'``)."""
    return _build(root, allow_run, max_time_limit)[0]


def _build(root: str | Path, allow_run: bool, max_time_limit: float):
    """The server and the calls it makes (so that :func:`serve` can stop those under way)."""
    try:
        from mcp.server.mcpserver import MCPServer
        from mcp.server.mcpserver.exceptions import ToolError
    except ImportError as err:  # pragma: no cover - depends on the installation
        from .errors import InvalidOptions

        raise InvalidOptions(f"orchmilp mcp needs the MCP SDK: pip install 'orchmilp[mcp]' ({err})") from None

    root = Path(root).resolve()
    calls = _Calls(root, max_time_limit)
    from mcp.types import ToolAnnotations

    from . import __version__

    class OneLineErrors(MCPServer):
        async def call_tool(self, name, arguments, context=None):
            try:
                return await super().call_tool(name, arguments, context)
            except ToolError as err:
                raise ToolError(_one_line(err)) from err.__cause__

    server = OneLineErrors(
        name="orchmilp",
        version=__version__,
        instructions=(
            "Plans workflows of agents (LLM agents, CI jobs, build steps) to finish as early as possible "
            "under dependencies, resource capacities and file conflicts, with a proven lower bound; predicts "
            "how long they really take; compares scenarios. Call analyze or solve before launching several "
            "sub-agents; start each agent when everything in its waits_for has finished."
        ),
    )

    async def call(tool: str, arguments: dict) -> Any:
        """The call in a worker thread, abandoned when the client goes (its process is stopped then)."""
        import functools

        import anyio

        try:
            return await anyio.to_thread.run_sync(
                functools.partial(calls.call, tool, arguments), abandon_on_cancel=True
            )
        except Refused as err:
            raise ToolError(str(err)) from None

    WorkflowArg = Annotated[dict[str, Any] | str, Field(description=WORKFLOW_HELP)]
    DetailArg = Annotated[str | None, Field(description=DETAIL_HELP, pattern="^(summary|full)$")]
    HistoryArg = Annotated[
        list[str] | None,
        Field(description="history files or folders under the root (JSONL run history or WfCommons traces)"),
    ]
    RunFailureArg = Annotated[
        str,
        Field(
            pattern="^(stop|continue)$",
            description="stop: cancel the run at the first failure; continue: skip only what needs the failed agent",
        ),
    ]
    read_only = ToolAnnotations(read_only_hint=True, destructive_hint=False, open_world_hint=False)
    limit_field = Field(
        default=None,
        description=f"seconds this call may take (default {DEFAULT_TIME_LIMIT:g}, at most {max_time_limit:g})",
    )

    @server.tool(
        annotations=read_only,
        description=(
            "Find the minimum-makespan plan of a workflow and prove how good it is. Call it before launching "
            "several agents, to know which can run in parallel without exceeding resources or touching the same "
            "files. Returns the plan object: status ('optimal' when makespan equals the proven lower_bound, else "
            "'feasible'), makespan, lower_bound, gap, schedule (per agent: start, finish, waits_for: start the agent "
            "as soon as every agent listed has finished), groups (agents starting together), critical_path, "
            "orderings (added to settle resource or file conflicts). With a history: planned with its median run "
            "times, and 'prediction' (p50, p90, interval)."
        ),
    )
    async def solve(
        workflow: WorkflowArg,
        history: HistoryArg = None,
        objective: Annotated[
            str,
            Field(
                pattern="^[A-Za-z_][A-Za-z0-9_]*$",
                description="'makespan' (default): the shortest plan; 'p90': among the plans within 5% of it, the "
                "one with the best predicted 90th percentile (from the history, else duration_range); a consumes "
                "key such as 'usd' (workflows whose agents have modes): the least spend that ends by the deadline",
            ),
        ] = "makespan",
        deadline: Annotated[
            float | None,
            Field(gt=0, description="the plan must end by then (replaces the workflow's deadline)"),
        ] = None,
        report: Annotated[
            bool,
            Field(description="also return the Markdown optimisation report (with its what-ifs) as 'report'"),
        ] = False,
        waves: Annotated[
            bool,
            Field(
                description="plan in waves for launching subagents in batches: launch every agent of 'waves'[0] in "
                "one message, wait for all of them, then the next wave; 'dispatch_cost' compares it with the "
                "event-driven plan"
            ),
        ] = False,
        time_limit: float | None = limit_field,
        detail: DetailArg = None,
    ) -> dict[str, Any]:
        return await call(
            "solve",
            {
                "workflow": workflow,
                "waves": waves,
                "history": history,
                "objective": objective,
                "deadline": deadline,
                "report": report,
                "time_limit": time_limit,
                "detail": detail,
            },
        )

    @server.tool(
        annotations=read_only,
        description=(
            "Analyse a workflow without solving it: dependency levels, redundant dependencies, longest chain, "
            "critical path and slack, whether dependencies or capacities bind, file conflicts pair by pair. Use it "
            "to explain a workflow or find what limits its parallelism. Returns the analysis object."
        ),
    )
    async def analyze(
        workflow: WorkflowArg, time_limit: float | None = limit_field, detail: DetailArg = None
    ) -> dict[str, Any]:
        return await call("analyze", {"workflow": workflow, "time_limit": time_limit, "detail": detail})

    @server.tool(
        annotations=read_only,
        description=(
            "What past runs say, per workflow: runs, success rate, makespan against plan and predicted interval "
            "(how often inside), failures by agent, retries, idle time, spend, undeclared writes; and the last 50 "
            "runs. Reads JSONL run history and WfCommons traces under the root."
        ),
    )
    async def stats(history: HistoryArg = None, time_limit: float | None = limit_field) -> dict[str, Any]:
        return await call("stats", {"history": history, "time_limit": time_limit})

    @server.tool(
        annotations=read_only,
        description=(
            "Learn each agent's reads and writes from the files its recorded runs touched (history written by run "
            "or a session): 'patch' (per agent add_/drop_ reads/writes), 'undeclared' (files written without "
            "being declared), and 'workflow' with the learnt declarations. Nothing is written."
        ),
    )
    async def infer(
        workflow: WorkflowArg, history: HistoryArg = None, time_limit: float | None = limit_field
    ) -> dict[str, Any]:
        return await call("infer", {"workflow": workflow, "history": history, "time_limit": time_limit})

    @server.tool(
        annotations=read_only,
        description=(
            "Predict how long a plan really takes, from history (JSONL run history or WfCommons traces, paths under "
            "the root) or, without it, from the agents' duration_range (or an assumed x/÷2 spread). Returns the "
            "prediction object: p50, p90, interval (the central `level` interval of the makespan), mean, planned, "
            "and per agent p10/p50/p90, source (history, range, assumed), runs, criticality (share of samples in "
            "which the agent is on the critical path: shorten the high ones first)."
        ),
    )
    async def predict(
        workflow: WorkflowArg,
        plan: Annotated[
            dict[str, Any] | str | None, Field(description="a plan object or path; default: solve first")
        ] = None,
        history: Annotated[list[str] | None, Field(description="history files or folders under the root")] = None,
        samples: Annotated[int, Field(ge=100, le=100_000, description="Monte Carlo samples of the run times")] = 10_000,
        level: Annotated[
            float, Field(gt=0, lt=1, description="probability of the central interval of the makespan, e.g. 0.9")
        ] = 0.95,
        time_limit: float | None = limit_field,
        detail: DetailArg = None,
    ) -> dict[str, Any]:
        return await call(
            "predict",
            {
                "workflow": workflow,
                "plan": plan,
                "history": history,
                "samples": samples,
                "level": level,
                "time_limit": time_limit,
                "detail": detail,
            },
        )

    @server.tool(
        annotations=read_only,
        description=(
            "Compare scenarios with the base workflow: each is solved (status, makespan, lower_bound) and predicted "
            "(p50, p90). Scenarios: {'flag': 'set', 'value': 'resources.cores=16'} (or 'AGENT.FIELD=V'), "
            "{'flag': 'add', 'value': 'extra.json'}, {'flag': 'remove', 'value': 'ID'}, "
            "{'flag': 'split', 'value': 'ID=3'} (work over 3 agents), {'flag': 'scale', 'value': 'ID=0.5'}. "
            "Answers 'will adding agents or capacity make it faster or slower?'. Returns {'scenarios': [base, ...]}, "
            "and with a sweep {'sweep': [one row per capacity], 'knee': the capacity beyond which more does not help}."
        ),
    )
    async def whatif(
        workflow: WorkflowArg,
        scenarios: Annotated[
            list[dict[str, str]] | None, Field(description="[{'flag': ..., 'value': ...}, ...]")
        ] = None,
        sweep: Annotated[
            str | None,
            Field(description="'resources.NAME=LO..HI' (or =1,2,4): makespan against capacity, and the knee"),
        ] = None,
        history: HistoryArg = None,
        time_limit: float | None = limit_field,
        detail: DetailArg = None,
    ) -> dict[str, Any]:
        return await call(
            "whatif",
            {
                "workflow": workflow,
                "scenarios": scenarios,
                "sweep": sweep,
                "history": history,
                "time_limit": time_limit,
                "detail": detail,
            },
        )

    @server.tool(
        annotations=read_only,
        description=(
            "For a workflow whose agents have modes (one per model, each with its duration and what it "
            "consumes): the front of makespan against spend, from the fastest plan to the cheapest. Each point: "
            "makespan (with makespan_bound and makespan_status), the spend (with its bound and status), the "
            "modes chosen and the plan. Answers 'what does each minute saved cost?'. Returns {'key', 'unit', "
            "'complete' (the cheapest point reached), 'points'}."
        ),
    )
    async def pareto(
        workflow: WorkflowArg,
        y: Annotated[str, Field(pattern="^[A-Za-z_][A-Za-z0-9_]*$", description="the spend: a consumes key")] = "usd",
        points: Annotated[int, Field(ge=1, le=50, description="at most this many points (8)")] = 8,
        time_limit: float | None = limit_field,
        detail: DetailArg = None,
    ) -> dict[str, Any]:
        return await call(
            "pareto",
            {"workflow": workflow, "y": y, "points": points, "time_limit": time_limit, "detail": detail},
        )

    @server.tool(
        annotations=read_only,
        description=(
            "Check a plan against a workflow with the independent checker: dependencies, capacities over time, "
            "file conflicts, makespan, bound, and that waits_for stays valid for other durations. Use it before "
            "running a plan you edited. Returns {'valid': bool, 'violations': [one line each]}."
        ),
    )
    async def check(
        workflow: WorkflowArg,
        plan: Annotated[dict[str, Any] | str, Field(description="the plan object, or a path under the root")],
        history: Annotated[
            list[str] | None,
            Field(description="for a plan made with a history (solve --history): the same history files or folders"),
        ] = None,
        time_limit: float | None = limit_field,
        detail: DetailArg = None,
    ) -> dict[str, Any]:
        return await call(
            "check",
            {"workflow": workflow, "plan": plan, "history": history, "time_limit": time_limit, "detail": detail},
        )

    @server.tool(
        annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=False),
        description=(
            "Certify a lower bound on every plan of a workflow, with a certificate that someone who does not "
            "trust orchmilp can check: method 'lp' (default) writes window-shaving steps and a refutation, each a "
            "Farley inequality of the feasible-subset LP checked in whole numbers; 'sat' writes a CNF and its DRAT "
            "proof (needs the certify extra). Without a bound, the bound a solve proves (by the LP: the highest "
            "it reaches up to it). The certificate goes to 'output' under the root (certificates/NAME-METHOD). "
            "Returns {'bound', 'certificate', 'checked': {'ok', 'reason'}, ...}."
        ),
    )
    async def certify(
        workflow: WorkflowArg,
        bound: Annotated[
            float | None, Field(gt=0, description="the bound to certify (default: what a solve proves)")
        ] = None,
        method: Annotated[str, Field(pattern="^(lp|sat)$", description="'lp' (default) or 'sat'")] = "lp",
        up_to: Annotated[
            bool, Field(description="method lp: the highest bound up to 'bound' that the LP certifies")
        ] = False,
        output: Annotated[str | None, Field(description="the certificate folder, a path under the root")] = None,
        time_limit: float | None = limit_field,
    ) -> dict[str, Any]:
        return await call(
            "certify",
            {
                "workflow": workflow,
                "bound": bound,
                "method": method,
                "up_to": up_to,
                "output": output,
                "time_limit": time_limit,
            },
        )

    @server.tool(
        annotations=read_only,
        description="Check a certificate folder that certify wrote (either method), independently of the search "
        "that made it. Returns {'ok', 'bound', 'reason'}.",
    )
    async def check_certificate(
        certificate: Annotated[str, Field(description="the certificate folder, a path under the root")],
        time_limit: float | None = limit_field,
    ) -> dict[str, Any]:
        return await call("check_certificate", {"certificate": certificate, "time_limit": time_limit})

    SessionArg = Annotated[str, Field(description="the session id that session_start returned")]
    session_loop = (
        " The loop: session_start; launch every agent in 'launch' at once (one message, one subagent each, "
        "with its prompt or command); whenever subagents end, call session_done with them; launch what it "
        "returns in 'launch'; repeat until 'remaining' is 0. 'running' is what should be running now, 'eta' the "
        "planned seconds left."
    )
    writes = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=False)

    @server.tool(
        annotations=writes,
        description="Start a coordinator session on a workflow file: orchmilp plans it (optimal, or in waves) "
        "and says which agents to launch now; the session is kept under runs/ at the root and every ended agent "
        "is recorded in runs/history.jsonl, which later predictions learn from." + session_loop,
    )
    async def session_start(
        workflow: Annotated[str, Field(description="path of the workflow file under the root")],
        waves: Annotated[
            bool, Field(description="launch in waves: all of a wave together, the next when all have ended")
        ] = False,
        history: HistoryArg = None,
        on_failure: Annotated[
            str,
            Field(
                pattern="^(stop|continue)$",
                description="stop: launch nothing more after a failure; continue: skip only what needs it",
            ),
        ] = "stop",
        isolate: Annotated[
            bool,
            Field(
                description="give each agent its own git worktree: run it in the 'workdir' of its launch entry; "
                "its changes are merged back when it is reported ok (a conflict fails it)"
            ),
        ] = False,
        time_limit: float | None = limit_field,
    ) -> dict[str, Any]:
        return await call(
            "session_start",
            {
                "workflow": workflow,
                "waves": waves,
                "history": history,
                "on_failure": on_failure,
                "isolate": isolate,
                "time_limit": time_limit,
            },
        )

    @server.tool(
        annotations=writes,
        description="Report agents of a session that ended (all with the same status) and get what to launch "
        "now in 'launch'. A failed agent with retries left comes back in 'launch'." + session_loop,
    )
    async def session_done(
        session: SessionArg,
        agents: Annotated[list[str], Field(description="ids of the agents that ended")],
        status: Annotated[str, Field(pattern="^(ok|failed|timeout)$", description="how they ended")] = "ok",
        exit_code: Annotated[int | None, Field(description="their exit code, if they have one")] = None,
    ) -> dict[str, Any]:
        return await call(
            "session_done", {"session": session, "agents": agents, "status": status, "exit_code": exit_code}
        )

    @server.tool(
        annotations=read_only,
        description="A session as it stands: running agents, counts per status, what is left and the ETA, "
        "failures. Launches nothing.",
    )
    async def session_status(session: SessionArg) -> dict[str, Any]:
        return await call("session_status", {"session": session})

    @server.tool(
        annotations=writes,
        description="Cancel a session: nothing more is launched; 'stop' lists the running agents to stop now "
        "(recorded as cancelled).",
    )
    async def session_cancel(session: SessionArg) -> dict[str, Any]:
        return await call("session_cancel", {"session": session})

    if allow_run:

        @server.tool(
            annotations=ToolAnnotations(destructive_hint=True, read_only_hint=False, open_world_hint=True),
            description=(
                "Run a workflow file's commands for real with the optimal plan: each agent in a shell in the "
                "workflow's folder when what it waits for has finished; capacities and file conflicts guarded live; "
                "timeouts, retries, run_if honoured; one history line per attempt in runs/history.jsonl. Returns "
                "each agent's status (ok, failed, timeout, cancelled, skipped), the makespans, and where logs are. "
                "Only available because the server was started with --allow-run."
            ),
        )
        async def run(
            workflow: Annotated[str, Field(description="path of the workflow file under the root")],
            on_failure: RunFailureArg = "stop",
            time_limit: float | None = limit_field,
            detail: DetailArg = None,
        ) -> dict[str, Any]:
            return await call(
                "run", {"workflow": workflow, "on_failure": on_failure, "time_limit": time_limit, "detail": detail}
            )

    if allow_run:
        RunArg = Annotated[str, Field(description="the run id that run_start returned")]

        @server.tool(
            annotations=ToolAnnotations(destructive_hint=True, read_only_hint=False, open_world_hint=True),
            description=(
                "Start running a workflow file's commands in the background with the optimal plan and return its "
                "run id at once (for workflows of any length; 'run' blocks and is for short ones). Poll run_status; "
                "stop it with run_cancel. The run goes on if this client or server goes away (its own coordinator "
                "stops its agents when it ends); history lines go to runs/history.jsonl."
            ),
        )
        async def run_start(
            workflow: Annotated[str, Field(description="path of the workflow file under the root")],
            on_failure: RunFailureArg = "stop",
        ) -> dict[str, Any]:
            return await call("run_start", {"workflow": workflow, "on_failure": on_failure})

        @server.tool(
            annotations=read_only,
            description="A background run's state (planning, running, ok, failed, cancelled, lost), each agent's "
            "status with its start and finish (seconds since the run started), counts, ETA and what failed.",
        )
        async def run_status(run: RunArg) -> dict[str, Any]:
            return await call("run_status", {"run": run})

        @server.tool(
            annotations=ToolAnnotations(destructive_hint=True, read_only_hint=False, open_world_hint=False),
            description="Cancel a background run: its running agents are stopped (SIGTERM, SIGKILL after a grace) "
            "and recorded as cancelled; returns the final status.",
        )
        async def run_cancel(run: RunArg) -> dict[str, Any]:
            return await call("run_cancel", {"run": run})

    return server, calls


def serve(root: str | Path = ".", allow_run: bool = False, max_time_limit: float = MAX_TIME_LIMIT) -> None:
    """Serve over stdio until the client disconnects; then stop the calls still under way
    (a run cancels its agents)."""
    server, calls = _build(root, allow_run, max_time_limit)
    try:
        server.run("stdio")
    finally:
        calls.stop_all()  # the client went away: stop the calls still under way
