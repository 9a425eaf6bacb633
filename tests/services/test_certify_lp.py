"""``orchmilp certify --method lp``: LP shaving writes a certificate that ``--check`` re-checks in
whole numbers; wrong bounds and tampered certificates are refused."""

from __future__ import annotations

import json

from orchmilp.cli import main
from tests.helpers import ROOT

PAT16 = ROOT / "instances" / "psplib" / "patterson" / "pat16.rcp"  # optimum 32


def test_a_bound_is_certified_by_the_lp_and_checked(tmp_path, capsys):
    folder = tmp_path / "cert"
    assert main(["certify", str(PAT16), "--method", "lp", "--bound", "32", "-o", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "certified: every plan of pat16 takes at least 32" in out and "window steps" in out and "checked:" in out
    assert [p.name for p in folder.iterdir()] == ["certificate.json"]
    meta = json.loads((folder / "certificate.json").read_text())
    assert meta["format"] == "orchmilp-lp-certificate/1" and meta["steps"]
    assert main(["certify", "--check", str(folder)]) == 0
    assert capsys.readouterr().out.startswith("valid: every plan takes at least 32")


def test_without_a_bound_the_lp_certifies_what_it_can_up_to_the_solve(tmp_path, capsys):
    folder = tmp_path / "cert"
    assert main(["certify", str(PAT16), "--method", "lp", "-o", str(folder), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["method"] == "lp" and out["solved"]["lower_bound"] == 32 and out["bound"] == 32 and out["checked"]["ok"]


def test_a_bound_above_the_optimum_is_refused_and_nothing_is_written(tmp_path, capsys):
    folder = tmp_path / "cert"
    assert main(["certify", str(PAT16), "--method", "lp", "--bound", "33", "-o", str(folder)]) == 1
    assert "the LP does not refute every plan shorter than 33" in capsys.readouterr().err
    assert not folder.exists()


def test_a_tampered_lp_certificate_is_rejected(tmp_path, capsys):
    folder = tmp_path / "cert"
    assert main(["certify", str(PAT16), "--method", "lp", "--bound", "32", "-o", str(folder), "--no-check"]) == 0
    capsys.readouterr()
    path = folder / "certificate.json"
    meta = json.loads(path.read_text())
    for tampered, message in [
        ({**meta, "bound": 33}, "INVALID"),  # a plan of 32 exists
        ({**meta, "steps": []}, "INVALID"),  # the refutation rests on the shaved windows
        ({**meta, "refutation": {"prices": {}}}, "INVALID"),
    ]:
        path.write_text(json.dumps(tampered))
        assert main(["certify", "--check", str(folder)]) == 1
        assert capsys.readouterr().out.startswith(message)
    first = dict(meta["steps"][0])
    first["prices"] = {next(iter(first["prices"])): -1}
    path.write_text(json.dumps({**meta, "steps": [first] + meta["steps"][1:]}))
    assert main(["certify", "--check", str(folder)]) == 1
    assert "not a whole number >= 0" in capsys.readouterr().out
    path.write_text(json.dumps({**meta, "refutation": {"prices": {"no-such-agent": 1}}}))
    assert main(["certify", "--check", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "unknown agent 'no-such-agent'" in err and len(err.strip().splitlines()) == 1


def test_an_unknown_method_is_one_line_and_exit_2(capsys):
    try:
        main(["certify", str(PAT16), "--method", "milp"])
    except SystemExit as exit:
        assert exit.code == 2
    assert "invalid choice: 'milp'" in capsys.readouterr().err
