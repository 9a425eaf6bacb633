"""Two spellings of one file are one file in planning and checking: ./, symbolic links,
case on case-insensitive file systems."""

from __future__ import annotations

import json
import os

import orchmilp
from orchmilp.check import check_plan
from orchmilp.engine import load_as_written
from orchmilp.io import disk_paths
from orchmilp.io.disk_paths import on_disk, resolve_declared_paths


def _workflow(tmp_path, a_writes, b_writes):
    wf = {
        "agents": [
            {"id": "a", "duration": 2, "writes": [a_writes]},
            {"id": "b", "duration": 3, "writes": [b_writes]},
        ]
    }
    path = tmp_path / "wf.json"
    path.write_text(json.dumps(wf))
    return path, wf


def test_a_symlink_and_its_target_are_one_file_in_the_plan_and_for_the_checker(tmp_path):
    (tmp_path / "real").mkdir()
    os.symlink(tmp_path / "real", tmp_path / "link")
    path, written = _workflow(tmp_path, "link/out.txt", "./real/out.txt")
    result = orchmilp.solve(path, time_limit=5)
    assert result.makespan == 5  # not 3: the two writes are one file
    s = dict(zip(result.problem.ids, result.start))
    assert s["a"] + 2 <= s["b"] or s["b"] + 3 <= s["a"]
    # the checker sees one file too: running both at once is rejected
    both_at_once = result.to_dict()
    for entry in both_at_once["schedule"]:
        entry["start"], entry["finish"] = 0, {"a": 2, "b": 3}[entry["id"]]
    both_at_once["makespan"] = 3
    loaded = load_as_written(path)
    assert "plan: conflicting agents 'a' and 'b' overlap in time" in check_plan(loaded.workflow, both_at_once)


def test_a_folder_link_covers_the_files_below_its_target(tmp_path):
    (tmp_path / "src" / "pkg").mkdir(parents=True)
    os.symlink(tmp_path / "src" / "pkg", tmp_path / "pkg")
    path, _ = _workflow(tmp_path, "pkg/", "src/pkg/mod.py")
    problem = load_as_written(path).problem
    assert problem.writes == (("src/pkg/",), ("src/pkg/mod.py",)) and len(problem.conflicts) == 1


def test_the_workflow_folder_itself_stays_a_valid_path(tmp_path):
    path, _ = _workflow(tmp_path, "./", "sub/x.txt")
    problem = load_as_written(path).problem
    assert problem.writes == (("",), ("sub/x.txt",)) and len(problem.conflicts) == 1


def test_paths_leading_outside_the_folder_are_kept_as_written(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "wf").mkdir()
    os.symlink(outside, tmp_path / "wf" / "out")
    assert on_disk("out/x", tmp_path / "wf") == "out/x"
    assert (
        on_disk("new/dir/", tmp_path / "wf") == "new/dir/"
        and on_disk("./", tmp_path / "wf") == "./"
        and on_disk(".", tmp_path / "wf") == "./"
    )


def test_case_is_folded_where_the_file_system_ignores_it(tmp_path, monkeypatch):
    monkeypatch.setattr(disk_paths, "case_insensitive", lambda folder: True)
    wf = {
        "agents": [
            {"id": "a", "duration": 1, "writes": ["Src/A.txt"]},
            {"id": "b", "duration": 1, "reads": ["src/a.txt"]},
        ]
    }
    out = resolve_declared_paths(wf, tmp_path)
    assert out["agents"][0]["writes"] == ["src/a.txt"] and out["agents"][1]["reads"] == ["src/a.txt"]
    assert wf["agents"][0]["writes"] == ["Src/A.txt"]  # the caller's object is not changed


def test_this_file_system_is_told_apart_by_case():
    """ext4 and tmpfs (the test machines) keep case apart; the check answers False there."""
    assert disk_paths.case_insensitive.__wrapped__("/usr/bin") is False
