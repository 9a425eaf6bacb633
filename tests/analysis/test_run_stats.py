"""orchmilp stats: per workflow and per run, checked against a direct computation from the
27 WfCommons traces and from a history that orchmilp run wrote."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import defaultdict

from orchmilp.run import RunOptions, execute
from orchmilp.services import stats
from tests.helpers import ROOT

TRACES = ROOT / "instances" / "wfcommons"


def test_stats_of_the_traces_match_their_recorded_makespans():
    runs, rows = stats([TRACES])
    files = sorted(TRACES.rglob("*.json"))
    assert len(runs) == len(files) == 27
    expected = defaultdict(list)
    for path in files:
        data = json.loads(path.read_text())
        expected[re.sub(r"-\d+$", "", path.stem)].append(float(data["workflow"]["makespanInSeconds"]))
    by = {r["workflow"]: r for r in rows}
    assert set(by) == set(expected)
    for workflow, makespans in expected.items():
        makespans.sort()
        row = by[workflow]
        assert row["runs"] == len(makespans) and row["success_rate"] == 1.0
        assert row["makespan_min"] == makespans[0] and row["makespan_max"] == makespans[-1]
        mid = len(makespans) // 2
        median = makespans[mid] if len(makespans) % 2 else (makespans[mid - 1] + makespans[mid]) / 2
        assert row["makespan_median"] == median


def test_stats_of_a_history_written_by_run_match_the_lines(tmp_path):
    flaky = "test -f flaky.done || { touch flaky.done; exit 1; }"
    workflow = {
        "name": "flaky",
        "agents": [
            {"id": "a", "duration": 0.2, "retries": 1, "command": f"{flaky}; sleep 0.2"},
            {"id": "b", "duration": 0.3, "command": "sleep 0.3"},
            {"id": "c", "duration": 0.1, "depends_on": ["a", "b"], "command": "sleep 0.1"},
        ],
    }
    (tmp_path / "wf.json").write_text(json.dumps(workflow))
    for _ in range(2):
        execute(tmp_path / "wf.json", options=RunOptions(backoff=0.2))
        (tmp_path / "flaky.done").unlink()
    history = tmp_path / "runs" / "history.jsonl"
    lines = [json.loads(line) for line in history.read_text().splitlines()]
    runs, rows = stats(history)
    assert [r.run for r in runs] == list(dict.fromkeys(line["run"] for line in lines))
    for r in runs:
        mine = [line for line in lines if line["run"] == r.run]
        start, finish = min(x["start"] for x in mine), max(x["finish"] for x in mine)
        assert abs(r.makespan - (finish - start)) < 1e-6
        assert r.failures == {"a": 1} and r.retries == 1 and r.ok and r.attempts == 4
        # idle: the run's time when nothing ran (the backoff gap before a's second attempt, if b ended)
        busy, end = 0.0, start
        for s, f in sorted((x["start"], x["finish"]) for x in mine):
            busy += max(0.0, f - max(s, end))
            end = max(end, f)
        assert abs(r.idle - ((finish - start) - busy)) < 1e-6
        record = json.loads((tmp_path / "runs" / r.run / "run.json").read_text())
        lo, hi = record["prediction"]["interval"]
        assert r.planned == record["planned"] and r.inside == (lo <= r.makespan <= hi)
    (row,) = rows
    assert row["runs"] == 2 and row["failures"] == {"a": 2} and row["retries"] == 2
    assert row["inside_interval"] == sum(bool(r.inside) for r in runs) and row["predicted_runs"] == 2
    planned = [r.planned for r in runs]
    expected_error = sum(abs(r.makespan - p) / p for r, p in zip(runs, planned)) / 2
    assert abs(row["plan_error"] - expected_error) < 1e-9


def test_the_stats_command_writes_its_page_and_json(tmp_path):
    page = tmp_path / "stats.html"
    done = subprocess.run(
        [sys.executable, "-m", "orchmilp.cli", "stats", str(TRACES / "srasearch"), "--html", str(page), "--json"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert {w["workflow"] for w in out["workflows"]} == {"srasearch-chameleon-10a", "srasearch-chameleon-20a"}
    assert len(out["runs"]) == 10
    text = page.read_text()
    assert "data:image/png;base64," in text and "srasearch-chameleon-20a" in text
    bad = subprocess.run(
        [sys.executable, "-m", "orchmilp.cli", "stats", str(tmp_path / "none")], capture_output=True, text=True
    )
    assert bad.returncode == 2 and "no such file" in bad.stderr and "Traceback" not in bad.stderr
