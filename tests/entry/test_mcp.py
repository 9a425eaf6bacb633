"""`orchmilp mcp` through a real stdio client: JSON-RPC lines over the server process's pipes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from orchmilp.check import check_plan
from tests.helpers import sleepers_alive

pytest.importorskip("mcp")

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "instances" / "examples").glob("*.json"))


class Client:
    def __init__(self, root: Path, *extra: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "orchmilp.cli", "mcp", "--root", str(root), *extra],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.next_id = 0
        init = self.request(
            "initialize",
            {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "orchmilp-tests", "version": "1"},
            },
        )
        assert init["result"]["serverInfo"]["name"] == "orchmilp"
        assert init["result"]["serverInfo"]["version"]
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def send(self, message: dict) -> None:
        self.proc.stdin.write(json.dumps(message) + "\n")
        self.proc.stdin.flush()

    def request(self, method: str, params: dict | None = None) -> dict:
        self.next_id += 1
        self.send({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params or {}})
        while True:
            reply = json.loads(self.proc.stdout.readline())
            if reply.get("id") == self.next_id:
                return reply

    def call(self, tool: str, **arguments) -> tuple[bool, object, float]:
        t0 = time.monotonic()
        reply = self.request("tools/call", {"name": tool, "arguments": arguments})
        took = time.monotonic() - t0
        if "error" in reply:
            return False, reply["error"]["message"], took
        result = reply["result"]
        if result.get("isError"):
            return False, result["content"][0]["text"], took
        return True, result["structuredContent"], took

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=20)


@pytest.fixture()
def root(tmp_path):
    folder = tmp_path / "root"
    (folder / "examples").mkdir(parents=True)
    for path in EXAMPLES:
        shutil.copy(path, folder / "examples" / path.name)
    shutil.copytree(ROOT / "instances" / "wfcommons" / "srasearch", folder / "history")
    (tmp_path / "outside.json").write_text(EXAMPLES[0].read_text())
    (folder / "link.json").symlink_to(tmp_path / "outside.json")
    return folder


def test_tools_and_schemas_and_solve_on_every_example(root):
    client = Client(root)
    try:
        tools = {t["name"]: t for t in client.request("tools/list")["result"]["tools"]}
        sessions = {"session_start", "session_done", "session_status", "session_cancel"}
        read_only = {"solve", "analyze", "predict", "whatif", "pareto", "check"}
        assert set(tools) == read_only | sessions | {"stats", "infer", "certify", "check_certificate"}  # no run
        for tool in (tools[name] for name in read_only):
            assert tool["inputSchema"]["type"] == "object" and "workflow" in tool["inputSchema"]["properties"]
            assert len(tool["description"]) > 100
        for path in EXAMPLES:
            ok, plan, took = client.call("solve", workflow=f"examples/{path.name}", time_limit=10)
            assert ok, plan
            assert took <= 10 + 1
            assert check_plan(json.loads(path.read_text()), plan) == []
            assert plan["status"] == "optimal" and plan["makespan"] == plan["lower_bound"]
        inline = {
            "resources": {"cpu": 1},
            "agents": [{"id": "a", "duration": 2, "uses": {"cpu": 1}}, {"id": "b", "duration": 3, "uses": {"cpu": 1}}],
        }
        ok, plan, _ = client.call("solve", workflow=inline)
        assert ok and plan["makespan"] == 5 and check_plan(inline, plan) == []
        ok, seen, _ = client.call("stats", history=["history"])
        assert ok and {w["workflow"]: w["runs"] for w in seen["workflows"]} == {
            "srasearch-chameleon-10a": 5,
            "srasearch-chameleon-20a": 5,
        }
        ok, why, _ = client.call("stats", history=["../outside.json"])
        assert not ok and "outside" in why
    finally:
        client.close()


def test_analyze_predict_whatif_check(root):
    client = Client(root)
    try:
        example = "examples/code-review.json"
        ok, facts, _ = client.call("analyze", workflow=example)
        assert ok and facts["agents"] == 7
        ok, plan, _ = client.call("solve", workflow=example)
        ok, pred, _ = client.call("predict", workflow=example, plan=plan, samples=2000)
        assert ok and pred["planned"] == plan["makespan"] and pred["interval"][0] < pred["p50"] < pred["interval"][1]
        assert {a["source"] for a in pred["agents"]} == {"assumed"}
        sra = json.loads(
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "orchmilp.cli",
                    "convert",
                    str(root / "history" / "srasearch-chameleon-10a-001.json"),
                ],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        ok, pred, _ = client.call("predict", workflow=sra, history=["history"], samples=1000)
        assert ok and {a["source"] for a in pred["agents"]} == {"history"}
        (root / "sra.json").write_text(json.dumps(sra))
        planned = json.loads(
            subprocess.run(
                [sys.executable, "-m", "orchmilp.cli", "solve", "sra.json", "--history", "history", "--json", "-q"],
                capture_output=True,
                text=True,
                check=True,
                cwd=root,
            ).stdout
        )
        ok, verdict, _ = client.call("check", workflow="sra.json", plan=planned, history=["history"])
        assert ok and verdict == {"valid": True, "violations": []}
        ok, verdict, _ = client.call("check", workflow="sra.json", plan=planned)  # the durations as written
        assert ok and not verdict["valid"] and "check it with the same history" in verdict["note"]
        # the command line's history, p90 objective and report, through the same service
        robust = json.loads(
            subprocess.run(
                [sys.executable, "-m", "orchmilp", "solve", "sra.json", "--history", "history", "--objective", "p90"]
                + ["--json", "-q", "--time-limit", "20"],
                capture_output=True,
                text=True,
                check=True,
                cwd=root,
            ).stdout
        )
        ok, served, _ = client.call(
            "solve", workflow="sra.json", history=["history"], objective="p90", report=True, time_limit=20
        )
        assert ok and served["objective"]["name"] == "p90" == robust["objective"]["name"]
        assert served["makespan"] == robust["makespan"] and served["prediction"]["p50"] == robust["prediction"]["p50"]
        assert served["report"].startswith("# Parallel Orchestration Optimization Report")
        ok, verdict, _ = client.call("check", workflow="sra.json", plan=served, history=["history"])
        assert ok and verdict == {"valid": True, "violations": []}
        ok, rows, _ = client.call("whatif", workflow=example, scenarios=[{"flag": "scale", "value": "ui-enhancer=0.5"}])
        assert ok and [r["scenario"] for r in rows["scenarios"]] == ["base", "--scale ui-enhancer=0.5"]
        assert rows["scenarios"][1]["makespan"] <= rows["scenarios"][0]["makespan"]
        ok, waved, _ = client.call("solve", workflow=example, waves=True, time_limit=20)
        assert ok and waved["dispatch"] == "waves" and waved["dispatch_cost"]["waves"] == waved["makespan"]
        assert check_plan(json.loads((root / example).read_text()), waved) == []
        two = {"resources": {"slots": 1}, "agents": [{"id": i, "duration": 4, "uses": {"slots": 1}} for i in "ab"]}
        ok, rows, _ = client.call("whatif", workflow=two, sweep="resources.slots=1..3", time_limit=10)
        assert ok and [r["makespan"] for r in rows["sweep"]] == [8, 4, 4] and rows["knee"] == 2
        ok, verdict, _ = client.call("check", workflow=example, plan=plan)
        assert ok and verdict == {"valid": True, "violations": []}
        broken = json.loads(json.dumps(plan))
        broken["schedule"][1]["start"] = 0
        ok, verdict, _ = client.call("check", workflow=example, plan=broken)
        assert ok and not verdict["valid"] and verdict["violations"]
    finally:
        client.close()


def test_refusals_are_tool_errors_and_the_server_keeps_answering(root, tmp_path):
    client = Client(root, "--max-time-limit", "5")
    before = sorted(p.name for p in tmp_path.iterdir())
    bad_calls = [
        ("solve", {"workflow": "/etc/passwd"}, "absolute path"),
        ("solve", {"workflow": "../outside.json"}, "contains '..'"),
        ("solve", {"workflow": "link.json"}, "leads outside the server's root"),
        ("solve", {"workflow": "{not json"}, "malformed JSON"),
        (
            "solve",
            {"workflow": {"agents": [{"id": "a", "duration": 1, "depends_on": ["ghost"]}]}},
            "agent 'a': depends_on names unknown agent 'ghost'",
        ),
        ("solve", {"workflow": "examples/missing.json"}, "no such file"),
        ("solve", {"workflow": "examples/code-review.json", "time_limit": -1}, "must be a positive number"),
        ("predict", {"workflow": "examples/code-review.json", "history": ["../x"]}, "contains '..'"),
        ("check", {"workflow": "examples/code-review.json", "plan": "/tmp/plan.json"}, "absolute path"),
        (
            "whatif",
            {"workflow": "examples/code-review.json", "scenarios": [{"flag": "split", "value": "ghost=2"}]},
            "no agent 'ghost'",
        ),
        ("run", {"workflow": "examples/code-review.json"}, "Unknown tool: run"),
        ("solve", {"workflow": "examples/code-review.json", "deadline": 1e300}, "deadline = 1e+300 is too large"),
        (
            "solve",
            {"workflow": "examples/code-review.json", "deadline": -5},
            "deadline: Input should be greater than 0",
        ),
        ("solve", {"workflow": "examples/code-review.json", "deadline": 10**400}, "deadline: Input should be a valid"),
        ("predict", {"workflow": "examples/code-review.json", "history": True}, "history"),
        ("pareto", {"workflow": "examples/code-review.json", "y": [None]}, "y"),
    ]
    try:
        for k in range(100):
            tool, arguments, message = bad_calls[k % len(bad_calls)]
            ok, text, _ = client.call(tool, **arguments)
            assert not ok and message in text, (tool, text)
            assert "\n" not in text.strip() and "Traceback" not in text
        # a huge time limit is capped at --max-time-limit; the server still answers well
        ok, plan, took = client.call("solve", workflow="examples/map-reduce.json", time_limit=1e9)
        assert ok and took <= 5 + 1 and check_plan(json.loads(EXAMPLES[1].read_text()), plan) == []
    finally:
        client.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written outside the root


def test_every_call_ends_within_its_time_limit(root):
    hard = ROOT / "instances" / "psplib" / "j120"
    shutil.copy(sorted(hard.glob("*.sm"))[0], root / "hard.sm")
    client = Client(root)
    try:
        ok, plan, took = client.call("solve", workflow="hard.sm", time_limit=2)
        assert took <= 2 + 1
        if ok:  # a plan within the limit, or the limit's error: never a late answer
            assert plan["makespan"] >= plan["lower_bound"]
    finally:
        client.close()


def test_run_only_with_allow_run(root):
    (root / "job").mkdir()
    workflow = {
        "agents": [
            {"id": "hello", "duration": 0.1, "command": "echo hi > hello.txt"},
            {"id": "after", "duration": 0.1, "command": "cat hello.txt", "depends_on": ["hello"]},
        ]
    }
    (root / "job" / "wf.json").write_text(json.dumps(workflow))
    client = Client(root, "--allow-run")
    try:
        tools = {t["name"] for t in client.request("tools/list")["result"]["tools"]}
        assert "run" in tools
        ok, report, _ = client.call("run", workflow="job/wf.json")
        assert ok, report
        assert [a["status"] for a in report["agents"]] == ["ok", "ok"]
        assert (root / "job" / "hello.txt").read_text() == "hi\n"
        assert (root / report["history"]).exists()
    finally:
        client.close()


def _slow_run(root: Path, marker: str) -> None:
    """A workflow whose first agent sleeps long and whose second would start after it."""
    (root / "slow").mkdir()
    sleep = f"{sys.executable} -c 'import time; time.sleep(60)' {marker}"
    workflow = {
        "agents": [
            {"id": "slow", "duration": 60, "command": sleep},
            {"id": "later", "duration": 1, "command": "touch later-ran", "depends_on": ["slow"]},
        ]
    }
    (root / "slow" / "wf.json").write_text(json.dumps(workflow))


def _wait(predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not predicate():
        time.sleep(0.05)
    return predicate()


def test_run_at_its_time_limit_stops_its_agents(root):
    marker = f"orchmilp-mcp-{uuid.uuid4().hex}"
    _slow_run(root, marker)
    client = Client(root, "--allow-run")
    try:
        ok, message, took = client.call("run", workflow="slow/wf.json", time_limit=4)
        assert not ok and "stopped" in message
        assert _wait(lambda: not sleepers_alive(marker), 5), "the agent outlived its call"
        assert not (root / "slow" / "later-ran").exists()
        lines = [json.loads(line) for line in (root / "runs" / "history.jsonl").read_text().splitlines()]
        assert [(line["agent"], line["status"]) for line in lines] == [("slow", "cancelled")]
    finally:
        client.close()


@pytest.mark.parametrize("how", ["client closes", "server killed"])
def test_run_stops_its_agents_when_the_client_or_server_goes(root, how):
    marker = f"orchmilp-mcp-{uuid.uuid4().hex}"
    _slow_run(root, marker)
    client = Client(root, "--allow-run")
    client.next_id += 1
    client.send(
        {
            "jsonrpc": "2.0",
            "id": client.next_id,
            "method": "tools/call",
            "params": {"name": "run", "arguments": {"workflow": "slow/wf.json", "time_limit": 60}},
        }
    )
    assert _wait(lambda: sleepers_alive(marker), 30), "the agent never started"
    if how == "client closes":
        client.proc.stdin.close()
    else:
        client.proc.kill()
    assert _wait(lambda: not sleepers_alive(marker), 15), "the agent outlived the server"
    time.sleep(1.5)
    assert not (root / "slow" / "later-ran").exists(), "an agent started after the server was gone"
    client.proc.kill()
    client.proc.wait(timeout=10)


def test_schemas_describe_the_format_annotations_version_and_summaries(root, tmp_path):
    import orchmilp

    client = Client(root, "--allow-run")
    try:
        tools = {t["name"]: t for t in client.request("tools/list")["result"]["tools"]}
        for name in ("solve", "analyze", "predict", "whatif", "check"):
            assert tools[name]["annotations"]["readOnlyHint"] is True
            assert "depends_on" in tools[name]["inputSchema"]["properties"]["workflow"]["description"]
            assert "summary" in tools[name]["inputSchema"]["properties"]["detail"]["description"]
        assert tools["run"]["annotations"]["destructiveHint"] is True
        for field in ("samples", "level"):
            assert tools["predict"]["inputSchema"]["properties"][field]["description"]
        assert tools["run"]["inputSchema"]["properties"]["on_failure"]["description"]
        big = {
            "resources": {"slots": 4},
            "agents": [
                {"id": f"agent-{k}", "duration": 1 + k % 7, "uses": {"slots": 1}, "writes": [f"f{k % 5}"]}
                for k in range(300)
            ],
        }
        ok, facts, _ = client.call("analyze", workflow=big, time_limit=60)
        assert ok, facts
        assert len(json.dumps(facts)) < 60_000 and facts["omitted"]
        ok, full, _ = client.call("analyze", workflow=big, time_limit=60, detail="full")
        assert ok and "omitted" not in full and len(full["slack"]) == 300
    finally:
        client.close()
    client = Client(root)
    try:
        assert client.request("ping")["result"] == {}
    finally:
        client.close()
    newest = next(line for line in (ROOT / "CHANGELOG.md").read_text().splitlines() if line.startswith("## "))
    assert newest.split()[1] == orchmilp.__version__  # the version is the CHANGELOG's newest


def test_a_history_folder_may_not_link_outside_the_root(root, tmp_path):
    (tmp_path / "secret.jsonl").write_text('{"agent": "a", "start": 0, "finish": 1, "status": "ok"}\n')
    (root / "hist").mkdir()
    (root / "hist" / "leak.jsonl").symlink_to(tmp_path / "secret.jsonl")
    client = Client(root)
    try:
        ok, message, _ = client.call("predict", workflow="examples/code-review.json", history=["hist"])
        assert not ok and "outside the server's root" in message
    finally:
        client.close()


def test_the_session_loop_through_the_official_sdk_client(root):
    """A coding agent's loop over MCP, with the SDK's own client: start, launch, report, until done;
    the session survives a restart of the server; the history it leaves keeps every rule."""
    import anyio
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    from orchmilp.check import check_run

    server = StdioServerParameters(command=sys.executable, args=["-m", "orchmilp.cli", "mcp", "--root", str(root)])
    workflow = json.loads((root / "examples" / "refactor.json").read_text())
    durations = {a["id"]: float(a["duration"]) for a in workflow["agents"]}

    async def call(client, tool, **arguments):
        result = await client.call_tool(tool, arguments)
        assert not result.is_error, result.content
        return result.structured_content

    async def first_half():
        async with stdio_client(server) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            tools = {t.name: t for t in (await session.list_tools()).tools}
            assert "session_done" in tools and "launch" in tools["session_start"].description
            return await call(session, "session_start", workflow="examples/refactor.json", waves=True)

    async def second_half(view):
        async with stdio_client(server) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            sid = view["session"]
            status = await call(session, "session_status", session=sid)
            assert status["running"] == [e["id"] for e in view["launch"]]
            calls = 0
            while view["remaining"]:
                wave = list(view["running"])  # waves: every running agent ends before the next wave
                view = await call(session, "session_done", session=sid, agents=wave)
                calls += 1
            refused = await session.call_tool("session_done", {"session": sid, "agents": ["plan-refactor"]})
            assert refused.is_error and "not running" in refused.content[0].text
            return view, calls

    view = anyio.run(first_half)
    assert view["dispatch"] == "waves" and view["launch"]
    end, calls = anyio.run(second_half, view)
    assert end["done"] and end["counts"] == {"ok": len(durations)}
    lines = [json.loads(x) for x in (root / "runs" / "history.jsonl").read_text().splitlines()]
    assert len(lines) == len(durations) and check_run(workflow, lines) == []
    saved = json.loads((root / "runs" / view["session"] / "session.json").read_text())
    waves = {tuple(sorted(w)) for w in saved["waits_for"].values() if w}
    assert calls == len(waves) + 1  # one session_done per wave (the first waits for nothing)


def test_background_runs_through_the_official_sdk_client(root):
    """run_start answers at once; the run goes on after the client has gone; run_status follows
    it to the end; run_cancel stops a long run's agents (real processes)."""
    import anyio
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    from orchmilp.check import check_run

    marker = f"orchmilp-mcp-{uuid.uuid4().hex}"
    _slow_run(root, marker)
    (root / "job").mkdir()
    nap = f"{sys.executable} -c 'import time; time.sleep(0.5)'"
    quick = {
        "resources": {"slots": 2},
        "agents": [
            {"id": x, "duration": 0.5, "command": nap, "uses": {"slots": 1}, "writes": [f"{x}.txt"]} for x in "abc"
        ]
        + [{"id": "d", "duration": 0.5, "command": nap, "depends_on": ["a"], "writes": ["a.txt"]}],
    }
    (root / "job" / "wf.json").write_text(json.dumps(quick))
    server = StdioServerParameters(
        command=sys.executable, args=["-m", "orchmilp.cli", "mcp", "--root", str(root), "--allow-run"]
    )

    async def call(client, tool, **arguments):
        result = await client.call_tool(tool, arguments)
        assert not result.is_error, result.content
        return result.structured_content

    async def start_both():
        async with stdio_client(server) as (read, write), ClientSession(read, write) as client:
            await client.initialize()
            t0 = time.monotonic()
            quick_run = await call(client, "run_start", workflow="job/wf.json")
            slow_run = await call(client, "run_start", workflow="slow/wf.json")
            assert time.monotonic() - t0 < 15
            bad = await client.call_tool("run_status", {"run": "../../etc"})
            assert bad.is_error
            return quick_run["run"], slow_run["run"]

    async def follow(quick_id, slow_id):
        async with stdio_client(server) as (read, write), ClientSession(read, write) as client:
            await client.initialize()
            for _ in range(600):
                status = await call(client, "run_status", run=quick_id)
                if status["state"] not in ("planning", "running"):
                    break
                await anyio.sleep(0.1)
            assert status["state"] == "ok" and status["counts"] == {"ok": 4}
            assert _wait(lambda: bool(sleepers_alive(marker)), 30), "the slow agent never started"
            running = await call(client, "run_status", run=slow_id)
            assert running["state"] == "running" and running["agents"]["slow"]["status"] == "running"
            cancelled = await call(client, "run_cancel", run=slow_id)
            assert cancelled["state"] == "cancelled" and cancelled["agents"]["slow"]["status"] == "cancelled"
            return status

    quick_id, slow_id = anyio.run(start_both)  # the client and its server are gone now
    anyio.run(follow, quick_id, slow_id)
    assert _wait(lambda: not sleepers_alive(marker), 10), "a cancelled run's agent outlived it"
    assert not (root / "slow" / "later-ran").exists()
    lines = [json.loads(x) for x in (root / "runs" / "history.jsonl").read_text().splitlines()]
    assert check_run(quick, [x for x in lines if x["run"] == quick_id]) == []
    assert [(x["agent"], x["status"]) for x in lines if x["run"] == slow_id] == [("slow", "cancelled")]


def test_model_choice_through_the_server_least_spend_by_a_deadline_and_the_front(root, four_models):
    client = Client(root)
    try:
        ok, plan, _ = client.call("solve", workflow=four_models, objective="usd", deadline=480, time_limit=10)
        assert ok, plan
        assert plan["objective"]["value"] == pytest.approx(1.8) and plan["objective"]["status"] == "optimal"
        assert check_plan({**four_models, "deadline": 480}, plan) == []
        ok, front, _ = client.call("pareto", workflow=four_models, y="usd", time_limit=20)
        assert ok, front
        assert front["complete"] and [(p["makespan"], round(p["usd"], 6)) for p in front["points"]] == [
            (310, 2.9),
            (400, 1.8),
            (490, 1.6),
            (580, 0.5),
        ]
        ok, refused, _ = client.call("solve", workflow=four_models, objective="eur", deadline=480)
        assert not ok and "no agent consumes 'eur'" in str(refused)
    finally:
        client.close()


def test_certify_and_check_a_certificate_through_the_server(root):
    shutil.copy(ROOT / "instances" / "psplib" / "patterson" / "pat16.rcp", root / "pat16.rcp")  # optimum 32
    client = Client(root)
    try:
        tools = {t["name"] for t in client.request("tools/list")["result"]["tools"]}
        assert {"certify", "check_certificate"} <= tools
        ok, out, took = client.call("certify", workflow="pat16.rcp", bound=32, time_limit=30)
        assert ok, out
        assert out["bound"] == 32 and out["method"] == "lp" and out["checked"]["ok"] and took <= 31
        assert out["certificate"] == "certificates/pat16-lp"
        assert json.loads((root / "certificates" / "pat16-lp" / "certificate.json").read_text())["steps"]
        ok, checked, _ = client.call("check_certificate", certificate="certificates/pat16-lp")
        assert ok and checked["ok"] and checked["bound"] == 32
        ok, refused, _ = client.call("certify", workflow="pat16.rcp", bound=33, output="c33", time_limit=30)
        assert not ok and "does not refute every plan shorter than 33" in str(refused)
        assert not (root / "c33").exists()
        ok, refused, _ = client.call("certify", workflow="pat16.rcp", bound=32, output="../outside")
        assert not ok and "'..'" in str(refused)
        ok, refused, _ = client.call("check_certificate", certificate="examples")
        assert not ok and "not a certificate folder" in str(refused)
    finally:
        client.close()
