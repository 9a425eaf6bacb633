"""Certificates of lower bounds (certificate.py, services/certify.py, ``orchmilp certify``):
the encoding against brute force (it admits the optimal plan and refutes anything shorter),
a certificate that dratify accepts, and every kind of tampering rejected."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from orchmilp.certificate import available, encode
from orchmilp.cli import main
from tests.helpers import ROOT
from tests.reference import reference_optimum
from tests.strategies import workflows

pytestmark = pytest.mark.skipif(not available(), reason="needs python-sat and dratify")

J30 = ROOT / "instances" / "psplib" / "j30" / "j3045_3.sm"  # optimum 92 (PSPLIB)


def _satisfiable(workflow: dict, bound: float) -> bool:
    from pysat.solvers import Solver

    encoding = encode(workflow, bound)
    with Solver(name="glucose4", bootstrap_with=encoding.clauses) as solver:
        return bool(solver.solve())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workflows(max_agents=6))
def test_the_encoding_admits_the_optimal_plan_and_refutes_every_shorter_one(workflow):
    optimum = reference_optimum(workflow)
    if optimum == 0:
        return
    step = math.gcd(*(int(a["duration"]) for a in workflow["agents"]))  # every makespan is a multiple
    assert _satisfiable(workflow, optimum + step)  # "a plan shorter than optimum + step": the optimal plan
    assert not _satisfiable(workflow, optimum)  # nothing shorter than the optimum


def test_a_psplib_optimum_is_certified_and_the_certificate_checks(tmp_path, capsys):
    folder = tmp_path / "cert"
    assert main(["certify", str(J30), "--bound", "92", "-o", str(folder), "--time-limit", "60"]) == 0
    out = capsys.readouterr().out
    assert "certified: every plan of j3045_3 takes at least 92" in out and "checked:" in out
    assert sorted(p.name for p in folder.iterdir()) == ["certificate.json", "encoding.cnf", "proof.drat"]
    cnf = (folder / "encoding.cnf").read_text()
    assert re.search(r"^p cnf \d+ \d+$", cnf, re.M)
    assert main(["certify", "--check", str(folder)]) == 0
    assert capsys.readouterr().out.startswith("valid: every plan takes at least 92")


def test_without_a_bound_the_proven_bound_of_a_solve_is_certified(tmp_path, capsys):
    folder = tmp_path / "cert"
    assert main(["certify", str(J30), "-o", str(folder), "--time-limit", "60", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["solved"]["status"] == "optimal" and out["bound"] == 92 and out["checked"]["ok"]


def test_the_library_certifies_and_checks(tmp_path):
    from orchmilp.api import certify, check_certificate

    outcome = certify(str(J30), 92, tmp_path / "c", time_limit=60, check=False)
    assert outcome.verified is None and outcome.certified.lemmas > 0
    assert check_certificate(tmp_path / "c").ok


def test_a_bound_above_the_optimum_is_refused_and_nothing_is_written(tmp_path, capsys):
    folder = tmp_path / "cert"
    assert main(["certify", str(J30), "--bound", "93", "-o", str(folder)]) == 1
    assert "93 is not a lower bound" in capsys.readouterr().err
    assert not folder.exists()


def _tamper_clause(folder: Path) -> None:
    lines = (folder / "encoding.cnf").read_text().splitlines(keepends=True)
    del lines[-1]  # a clause less: the proof might still refute it, the CNF is not the workflow's
    (folder / "encoding.cnf").write_text("".join(lines).replace(" 0\n", " 0\n"))


def _tamper_workflow(folder: Path) -> None:
    meta = json.loads((folder / "certificate.json").read_text())
    meta["workflow"]["resources"] = {k: v + 1 for k, v in meta["workflow"]["resources"].items()}
    (folder / "certificate.json").write_text(json.dumps(meta))


def _tamper_bound(folder: Path) -> None:
    meta = json.loads((folder / "certificate.json").read_text())
    meta["bound"] = 100
    (folder / "certificate.json").write_text(json.dumps(meta))


def _tamper_proof(folder: Path) -> None:
    lines = (folder / "proof.drat").read_text().splitlines(keepends=True)
    (folder / "proof.drat").write_text("".join(lines[: len(lines) // 2]))


@pytest.mark.parametrize(
    "tamper, message",
    [
        (_tamper_clause, "not the encoding"),
        (_tamper_workflow, "not the encoding"),
        (_tamper_bound, "not the encoding"),
        (_tamper_proof, "proof is rejected"),
    ],
)
def test_a_tampered_certificate_is_rejected(tmp_path, capsys, tamper, message):
    folder = tmp_path / "cert"
    assert main(["certify", str(J30), "--bound", "92", "-o", str(folder), "--no-check"]) == 0
    capsys.readouterr()
    tamper(folder)
    assert main(["certify", "--check", str(folder)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("INVALID") and message in out


def test_bad_input_is_one_line(tmp_path, capsys):
    modal = {"agents": [{"id": "a", "modes": [{"name": "m", "duration": 1}]}]}
    (tmp_path / "wf.json").write_text(json.dumps(modal))
    assert main(["certify", str(tmp_path / "wf.json"), "--bound", "1"]) == 2
    assert "not supported" in capsys.readouterr().err
    assert main(["certify", "--check", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "not a certificate folder" in err and len(err.strip().splitlines()) == 1
    assert main(["certify"]) == 2
    capsys.readouterr()
    fine = {"agents": [{"id": "a", "duration": 0.1}, {"id": "b", "duration": 0.30000000000000004}]}
    (tmp_path / "fine.json").write_text(json.dumps(fine))
    assert main(["certify", str(tmp_path / "fine.json"), "--bound", "0.30000000000000004"]) == 2
    assert "steps of" in capsys.readouterr().err


def test_a_hostile_workflow_name_becomes_a_safe_folder_name(tmp_path, monkeypatch, capsys):
    workflow = {"name": "../../x; rm -rf $HOME`id`", "agents": [{"id": "a", "duration": 2}, {"id": "b", "duration": 3}]}
    (tmp_path / "wf.json").write_text(json.dumps(workflow))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    assert main(["certify", str(tmp_path / "wf.json"), "--bound", "3"]) == 0
    (made,) = list(work.iterdir())  # one folder, inside the current folder
    assert made.is_dir() and re.fullmatch(r"[A-Za-z0-9_.-]+", made.name) and not made.name.startswith(".")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["wf.json", "work"]
