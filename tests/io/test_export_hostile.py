"""Red team, exports: hostile strings in every string field of a workflow and its plan never run
as code in the exported bash script or Makefile, and the order of the plan still holds."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import orchmilp
from orchmilp.cli import main
from orchmilp.io.export import to_bash, to_make
from orchmilp.io.names import file_names

MARKER = "PWNED"
PIECES = [
    "\n",
    "\r\n",
    "'",
    '"',
    "`touch PWNED_bt`",
    "$(touch PWNED_sub)",
    "$(shell touch PWNED_make)",
    "; touch PWNED_semi",
    "# ",
    "\t",
    "\\",
    "$$",
    "é",
    "\u2028",
    "\x1b[31m",
    "%",
    ":",
    "a/b",
    "a_b",
    " ",
    "\ntouch PWNED_line\n",
]
text = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=3)
# (NUL cannot be in argv; a lone surrogate cannot come from a JSON file: see test_hostile_json)
hostile = st.lists(st.sampled_from(PIECES) | text, min_size=1, max_size=6).map("".join).filter(bool)


def _hostile_plan(name: str, unit: str, ids: list[str], status: str) -> dict:
    """A chain a -> b -> c with hostile ids; each command appends its index to order.txt and
    writes its own id, passed as a quoted shell word, to a file (exact transport of strings)."""
    agents = []
    for k, aid in enumerate(ids):
        command = f"echo {k} >> order.txt\nprintf %s {shlex.quote(aid)} > id{k}.txt"
        agents.append({"id": aid, "duration": 1, "depends_on": [ids[k - 1]] if k else [], "command": command})
    plan = orchmilp.solve({"name": name, "time_unit": unit, "agents": agents}).to_dict()
    plan["status"] = status
    return plan


def _run(tmp_path, plan: dict, fmt: str) -> None:
    folder = tmp_path / fmt
    folder.mkdir()
    if fmt == "bash":
        (folder / "plan.sh").write_text(to_bash(plan))
        argv = ["bash", "plan.sh"]
    else:
        (folder / "Makefile").write_text(to_make(plan))
        argv = ["make", "-j", "4", "-s", "-f", "Makefile"]
    done = subprocess.run(argv, cwd=folder, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    leaked = [p.name for p in tmp_path.rglob("*") if p.name.startswith(MARKER)]
    assert not leaked, f"a workflow string ran as code: {leaked}"
    ids = [e["id"] for e in sorted(plan["schedule"], key=lambda e: e["start"])]
    order = (folder / "order.txt").read_text().split()
    assert order == [str(k) for k in range(len(ids))], "the dependency order was broken"
    for k, aid in enumerate(ids):
        assert (folder / f"id{k}.txt").read_bytes().decode("utf-8", "surrogateescape") == aid


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=hostile, unit=hostile, status=hostile, ids=st.lists(hostile, min_size=3, max_size=3, unique=True))
def test_hostile_strings_never_run_and_order_holds(tmp_path_factory, name, unit, status, ids):
    tmp_path = tmp_path_factory.mktemp("hostile")
    plan = _hostile_plan(name, unit, ids, status)
    for fmt in ("bash", "make"):
        _run(tmp_path, plan, fmt)


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_the_reported_injections(tmp_path):
    """The cases found by the red team: a newline in the name or time unit, an id with a quote
    or $(shell ...), a two-line command, and ids that clean up to the same name."""
    ids = ["a/b", "a_b", "x'$(shell touch PWNED_id)'", "a b"]
    plan = _hostile_plan("demo\ntouch PWNED_name", "s\ntouch PWNED_unit", ids, "optimal\ntouch PWNED_status")
    for fmt in ("bash", "make"):
        _run(tmp_path, plan, fmt)


def test_distinct_ids_get_distinct_names():
    ids = ["a/b", "a_b", "a b", "A_B", "x" * 300, "x" * 301, ".hidden", "-flag", ".."]
    names = file_names(ids)
    assert len({n.lower() for n in names.values()}) == len(ids)
    assert names["A_B"] != names["a_b"]  # one file on a case-insensitive file system otherwise
    assert file_names(["a/b", "a_b"])["a_b"] == "a_b"  # a safe id keeps its name
    for n in names.values():
        assert len(n) <= 80 and not n.startswith((".", "-")) and "/" not in n


@pytest.mark.parametrize(
    "entry, field",
    [
        ({"id": "a", "start": "0"}, "start"),
        ({"id": "a", "start": 0, "waits_for": None}, "waits_for"),
        ({"id": "a", "start": 0, "command": ["ls"]}, "command"),
        ({"id": "a", "start": 0, "retries": "1; ls"}, "retries"),
        ({"id": "a", "start": 0, "timeout": "9"}, "timeout"),
    ],
)
def test_export_of_a_malformed_plan_is_one_line(tmp_path, capsys, entry, field):
    path = tmp_path / "plan.json"
    path.write_text(json.dumps({"makespan": 1, "schedule": [entry]}))
    for fmt in ("bash", "make", "json"):
        assert main(["export", str(path), "--format", fmt]) == 2
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and field in err and "Traceback" not in err
