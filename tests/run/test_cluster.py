"""Dask: `orchmilp run --cluster` and `orchmilp bench --dask` on a local cluster of processes
started by the test (two workers, each declaring 2 cores)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from orchmilp.check import check_run

distributed = pytest.importorskip("distributed")

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=4, processes=True, resources={"cores": 2}, dashboard_address=None
    ) as local:
        yield local


def _cli(*args, timeout=180):
    return subprocess.run([PY, "-m", "orchmilp.cli", *map(str, args)], capture_output=True, text=True, timeout=timeout)


def _peak_per_host(lines, cores_of):
    """Most cores held at once on each worker, from the history timestamps."""
    peak = {}
    for host in {line["host"] for line in lines}:
        events = []
        for line in lines:
            if line["host"] == host and line["status"] != "skipped":
                events += [(line["finish"], -cores_of[line["agent"]]), (line["start"], cores_of[line["agent"]])]
        load = best = 0
        for _, delta in sorted(events):
            load += delta
            best = max(best, load)
        peak[host] = best
    return peak


def test_run_on_a_cluster_respects_worker_and_global_resources(tmp_path, cluster):
    agents = [
        {
            "id": "prepare",
            "duration": 0.3,
            "command": "sleep 0.3; echo ready > ready.txt",
            "writes": ["ready.txt"],
            "uses": {"cores": 1},
        }
    ]
    for i in range(8):
        agents.append(
            {
                "id": f"job{i}",
                "duration": 0.5,
                "command": f"sleep 0.5; cat ready.txt > out{i}.txt",
                "depends_on": ["prepare"],
                "reads": ["ready.txt"],
                "writes": [f"out{i}.txt"],
                "uses": {"cores": 1 + i % 2, "tokens_per_min": 1},
            }
        )
    agents.append(
        {"id": "fails", "duration": 0.1, "command": "exit 5", "depends_on": ["prepare"], "uses": {"cores": 1}}
    )
    workflow = {"resources": {"cores": 4, "tokens_per_min": 3}, "agents": agents}
    path = tmp_path / "wf.json"
    path.write_text(json.dumps(workflow))
    proc = _cli("run", path, "-q", "--cluster", cluster.scheduler_address, "--on-failure", "continue")
    assert proc.returncode == 1, proc.stderr  # 'fails' failed
    lines = [json.loads(x) for x in (tmp_path / "runs" / "history.jsonl").read_text().splitlines()]
    assert check_run(workflow, lines) == []  # global capacities (tokens_per_min 3, cores 4) and files
    workers = set(cluster.scheduler_info["workers"])
    assert {line["host"] for line in lines} <= workers and len({line["host"] for line in lines}) == 2
    cores_of = {a["id"]: a["uses"]["cores"] for a in agents}
    assert max(_peak_per_host(lines, cores_of).values()) <= 2  # no worker above its own 2 cores
    final = {line["agent"]: line["status"] for line in lines}
    assert final["fails"] == "failed" and all(final[f"job{i}"] == "ok" for i in range(8))
    assert all((tmp_path / f"out{i}.txt").read_text() == "ready\n" for i in range(8))
    run = lines[0]["run"]
    assert "--- orchmilp: on tcp://" in (tmp_path / "runs" / run / "job3.log").read_text()


def test_cluster_timeout_and_an_agent_too_big_for_any_worker(tmp_path, cluster):
    slow = {"agents": [{"id": "slow", "duration": 1, "timeout": 0.5, "command": "sleep 20"}]}
    path = tmp_path / "wf.json"
    path.write_text(json.dumps(slow))
    proc = _cli("run", path, "-q", "--grace", "1", "--cluster", cluster.scheduler_address)
    assert proc.returncode == 1
    (line,) = [json.loads(x) for x in (tmp_path / "runs" / "history.jsonl").read_text().splitlines()]
    assert line["status"] == "timeout" and line["finish"] - line["start"] < 5
    big = {"resources": {"cores": 8}, "agents": [{"id": "big", "duration": 1, "command": "true", "uses": {"cores": 3}}]}
    path.write_text(json.dumps(big))
    proc = _cli("run", path, "-q", "--cluster", cluster.scheduler_address)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "orchmilp: error: agent 'big': uses.cores = 3 but no worker has more than 2"


def test_bench_on_a_cluster_matches_known_optima(tmp_path, cluster):
    files = sorted((ROOT / "instances" / "psplib" / "j30").glob("*.sm"))[:4]
    out = tmp_path / "bench.csv"
    proc = _cli("bench", *files, "--time-limit", "10", "--dask", cluster.scheduler_address, "--out", out, "-q")
    assert proc.returncode == 0, proc.stderr  # a result contradicting an optimum would exit 1
    rows = out.read_text().splitlines()
    assert len(rows) == 1 + len(files)
    header = rows[0].split(",")
    status = header.index("status")
    assert all(row.split(",")[status] in ("optimal", "feasible") for row in rows[1:])
