"""Reading history: WfCommons traces (against hand-counted values) and JSONL lines (bad ones skipped)."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import orchmilp
from orchmilp.check import check_plan
from orchmilp.errors import InvalidHistory, OrchmilpWarning
from orchmilp.history import append_attempt, read_history
from orchmilp.io.wfcommons import read_trace, trace_to_workflow

ROOT = Path(__file__).resolve().parents[2]
SRA = ROOT / "instances" / "wfcommons" / "srasearch"
SRA_1 = SRA / "srasearch-chameleon-10a-001.json"


def test_trace_reading_matches_hand_counted_values():
    trace = read_trace(SRA_1)
    assert trace.name == "srasearch-chameleon-10a-001" and len(trace.tasks) == 22
    assert trace.machine_cores == 48 and trace.makespan == 3488.0
    kinds = [t.kind for t in trace.tasks]
    assert {k: kinds.count(k) for k in set(kinds)} == {
        "bowtie2-build": 1,
        "fasterq-dump": 10,
        "bowtie2": 10,
        "merge": 1,
    }
    task = next(t for t in trace.tasks if t.id == "bowtie2_ID0000003")
    assert task.parents == ("bowtie2-build_ID0000001", "fasterq-dump_ID0000002")
    # six reference index files (4226858 + 24280 + 24273 + 17 + 4226858 + 24280) and two reads files of 734761744
    assert task.input_bytes == 8526566 + 2 * 734761744 and len(task.inputs) == 8 and len(task.outputs) == 2
    assert task.runtime == 54.137


def test_convert_a_trace_into_a_workflow_that_solves(tmp_path):
    out = tmp_path / "sra.json"
    proc = subprocess.run(
        [sys.executable, "-m", "orchmilp.cli", "convert", str(SRA_1), "-o", str(out), "--cores", "8"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    workflow = json.loads(out.read_text())
    assert workflow["resources"] == {"cores": 8}
    agent = next(a for a in workflow["agents"] if a["id"] == "bowtie2_ID0000003")
    assert agent["kind"] == "bowtie2" and agent["duration"] == 54.137
    assert agent["depends_on"] == ["bowtie2-build_ID0000001", "fasterq-dump_ID0000002"]
    assert agent["features"] == {"input_bytes": 1478050054, "output_bytes": 316 + 24}
    assert agent["uses"] == {"cores": 1}
    assert "SRR3152141_1.fastq" in agent["reads"] and len(agent["writes"]) == 2
    result = orchmilp.solve(workflow, time_limit=20)
    assert check_plan(workflow, result.to_dict()) == []
    assert result.status.value == "optimal"  # the longest download-align chain on 8 cores


def test_wfformat_15_trace_with_separate_specification_and_execution(tmp_path):
    trace = {
        "name": "tiny",
        "schemaVersion": "1.5",
        "workflow": {
            "specification": {
                "tasks": [
                    {
                        "name": "split",
                        "id": "split_ID01",
                        "parents": [],
                        "children": ["count_ID02"],
                        "outputFiles": ["a"],
                    },
                    {
                        "name": "count",
                        "id": "count_ID02",
                        "parents": ["split_ID01"],
                        "children": [],
                        "inputFiles": ["a"],
                    },
                ],
                "files": [{"id": "a", "sizeInBytes": 1000}],
            },
            "execution": {
                "makespanInSeconds": 9,
                "executedAt": "2024",
                "tasks": [
                    {"id": "split_ID01", "runtimeInSeconds": 3},
                    {"id": "count_ID02", "runtimeInSeconds": 5, "coreCount": 2},
                ],
                "machines": [{"nodeName": "n1", "cpu": {"coreCount": 8}}],
            },
        },
    }
    parsed = read_trace(trace)
    assert [(t.id, t.kind, t.parents, t.input_bytes, t.cores) for t in parsed.tasks] == [
        ("split_ID01", "split", (), 0, 1.0),
        ("count_ID02", "count", ("split_ID01",), 1000, 2.0),
    ]
    workflow = trace_to_workflow(parsed)
    assert workflow["resources"] == {"cores": 8}
    result = orchmilp.solve(workflow, time_limit=5)
    assert result.makespan == 8 and check_plan(workflow, result.to_dict()) == []


@pytest.mark.parametrize(
    "broken, message",
    [
        (
            {"schemaVersion": "1.4", "workflow": {"tasks": [{"name": "a", "parents": ["zz"], "runtimeInSeconds": 1}]}},
            "task 'a': parent 'zz' is not a task of the trace",
        ),
        (
            {"schemaVersion": "1.4", "workflow": {"tasks": [{"name": "a", "parents": []}]}},
            "task 'a': missing runtimeInSeconds",
        ),
        (
            {"schemaVersion": "1.4", "workflow": {"tasks": [{"name": "a", "parents": [], "runtimeInSeconds": -3}]}},
            "-3 is less than the minimum of 0",
        ),
        ({"agents": []}, "not a WfCommons trace"),
    ],
)
def test_bad_traces_are_one_line_errors_naming_the_task(tmp_path, broken, message):
    path = tmp_path / "t.json"
    path.write_text(json.dumps(broken))
    with pytest.raises(InvalidHistory, match=message) as err:
        read_trace(path)
    assert str(err.value).startswith(str(path)) and "\n" not in str(err.value)


def test_traces_as_history_one_run_per_trace():
    history = read_history(SRA)
    assert len(history.runs) == 10 and len(history) == 5 * 22 + 5 * 42
    one = history.only_run("srasearch-chameleon-10a-001")
    i = one.agent.index("bowtie2_ID0000003")
    assert one.kind[i] == "bowtie2" and one.duration[i] == pytest.approx(54.137)
    assert one.features[i] == {"input_bytes": 1478050054.0, "output_bytes": 340.0}


def _line(**fields):
    base = {
        "run": "r1",
        "workflow": "w",
        "agent": "a",
        "kind": "k",
        "attempt": 1,
        "start": 100.0,
        "finish": 110.0,
        "status": "ok",
        "exit_code": 0,
        "host": "h",
    }
    base.update(fields)
    return json.dumps({k: v for k, v in base.items() if v is not ...})


def test_medians_by_host_for_kinds_that_ran_on_several_hosts(tmp_path):
    lines = [
        _line(agent=f"a{i}", kind="io", host=host, start=0.0, finish=finish)
        for i, (host, finish) in enumerate(
            [("slow", 12.0), ("slow", 14.0), ("slow", 30.0), ("fast", 2.0), ("fast", 3.0)]
        )
    ]
    lines.append(_line(agent="x", kind="io", host="fast", start=0.0, finish=99.0, status="failed"))  # not ok
    lines += [_line(agent=f"b{i}", kind="cpu", host="slow", finish=100.0 + i) for i in range(3)]  # one host
    path = tmp_path / "runs.jsonl"
    path.write_text("\n".join(lines) + "\n")
    assert read_history(path).medians_by_host() == {"io": {"fast": (2, 2.5), "slow": (3, 14.0)}}
    proc = subprocess.run(
        [sys.executable, "-m", "orchmilp.cli", "history", str(path), "--json"], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    rows = {row["kind"]: row for row in json.loads(proc.stdout)}
    assert rows["io"]["by_host"] == {"fast": {"attempts": 2, "median": 2.5}, "slow": {"attempts": 3, "median": 14.0}}
    assert rows["cpu"]["by_host"] == {}
    proc = subprocess.run([sys.executable, "-m", "orchmilp.cli", "history", str(path)], capture_output=True, text=True)
    assert "io: fast 2.5 (2), slow 14 (3)" in proc.stdout and "cpu:" not in proc.stdout


def test_bad_history_lines_are_skipped_with_a_warning_naming_file_and_line(tmp_path):
    path = tmp_path / "runs.jsonl"
    lines = [
        _line(),
        "{not json",
        _line(agent=...),
        _line(finish=90.0),
        _line(start=float("nan")).replace("NaN", "NaN"),
        _line(status="weird"),
        _line(agent="b", start=5, finish=8, features={"input_bytes": 12}),
        "[1, 2]",
    ]
    path.write_text("\n".join(lines) + "\n" + _line(agent="c")[:30])
    with pytest.warns(OrchmilpWarning) as caught:
        history = read_history(path)
    got = [str(w.message) for w in caught]
    assert got == [
        f"{path}:2: not JSON; line skipped",
        f"{path}:3: missing field 'agent'; line skipped",
        f"{path}:4: finish 90 is before start 100; line skipped",
        f"{path}:5: start = NaN is not a finite number; line skipped",
        f"{path}:6: status 'weird' is not one of ok, failed, timeout, cancelled, skipped; line skipped",
        f"{path}:8: not a JSON object; line skipped",
        f"{path}:9: torn last line (a run still writing?); line skipped",
    ]
    assert history.agent == ("a", "b") and history.duration.tolist() == [10.0, 3.0]
    assert history.features[1] == {"input_bytes": 12}


def test_a_history_file_without_a_readable_line_is_an_error(tmp_path):
    path = tmp_path / "runs.jsonl"
    path.write_text("garbage\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(InvalidHistory, match=f"{path}: no readable history line"):
            read_history(path)
    with pytest.raises(InvalidHistory, match="no such file or folder"):
        read_history(tmp_path / "missing.jsonl")


def test_appended_lines_are_read_back_whole(tmp_path):
    path = tmp_path / "runs.jsonl"
    for k in range(3):
        append_attempt(path, {"run": "r", "agent": f"a{k}", "start": 1.0, "finish": 2.0 + k, "status": "ok"})
    history = read_history(path)
    assert history.agent == ("a0", "a1", "a2") and np.allclose(history.duration, [1, 2, 3])


def test_a_folder_with_other_json_files_reads_its_traces_and_skips_the_rest(tmp_path):
    import shutil

    shutil.copy(SRA_1, tmp_path / "trace.json")
    (tmp_path / "workflow.json").write_text(json.dumps({"agents": []}))
    with pytest.warns(OrchmilpWarning, match="workflow.json: not a WfCommons trace; skipped"):
        history = read_history(tmp_path)
    assert len(history.runs) == 1 and len(history) == 22
    with pytest.raises(InvalidHistory, match="not a WfCommons trace"):
        read_history(tmp_path / "workflow.json")  # named explicitly: an error


def test_backtest_leaves_out_runs_whose_agents_did_not_all_end_ok(tmp_path):
    import subprocess
    import sys

    workflow = {"name": "w", "agents": [{"id": "a", "duration": 2}, {"id": "b", "duration": 3, "depends_on": ["a"]}]}
    (tmp_path / "wf.json").write_text(json.dumps(workflow))
    lines = []
    for r in range(5):
        t = 100.0 * r
        lines.append(
            {"run": f"r{r}", "workflow": "w", "agent": "a", "start": t, "finish": t + 2 + r / 10, "status": "ok"}
        )
        status = "cancelled" if r == 2 else "ok"
        lines.append({"run": f"r{r}", "workflow": "w", "agent": "b", "start": t + 3, "finish": t + 6, "status": status})
    (tmp_path / "h.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "orchmilp.cli",
            "backtest",
            str(tmp_path / "h.jsonl"),
            "--workflow",
            str(tmp_path / "wf.json"),
            "--samples",
            "300",
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert "run 'r2' left out" in proc.stderr and "Traceback" not in proc.stderr


def test_history_of_another_workflow_is_named_not_used_silently(tmp_path):
    import subprocess
    import sys

    (tmp_path / "wf.json").write_text(json.dumps({"name": "mine", "agents": [{"id": "a", "duration": 2}]}))
    line = {"run": "r1", "workflow": "theirs", "agent": "z", "start": 0, "finish": 5, "status": "ok"}
    (tmp_path / "h.jsonl").write_text(json.dumps(line) + "\n")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "orchmilp.cli",
            "solve",
            str(tmp_path / "wf.json"),
            "--history",
            str(tmp_path / "h.jsonl"),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert "of workflow 'theirs', not 'mine'" in proc.stderr
    assert "none of the agents has history" in proc.stderr
