"""The LP certificate's checker (lp_certificate.py) and LP shaving (bounds/shaving.py) against
brute force: no whole prices refute a horizon that a plan meets, shaving never certifies a bound
above the optimum, and what it certifies the checker accepts."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchmilp.api import load
from orchmilp.bounds.shaving import prove
from orchmilp.certificate import read_question
from orchmilp.lp_certificate import FORMAT, Checker, check
from tests.reference import reference_optimum
from tests.strategies import workflows


def _step(workflow: dict) -> int:
    return math.gcd(*(int(a["duration"]) for a in workflow["agents"]))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workflows(max_agents=6, contended=True), st.lists(st.integers(0, 9), min_size=6, max_size=6))
def test_no_prices_refute_a_horizon_that_a_plan_meets(workflow, draws):
    optimum = reference_optimum(workflow)
    if optimum == 0:
        return
    checker = Checker(read_question(workflow, optimum + _step(workflow)))  # "a plan within the optimum exists"
    prices = {j: draws[j] for j in range(len(workflow["agents"]))}
    assert not checker.refutes({}, {}, prices).ok
    assert prove(load(workflow), checker) is None  # LP shaving cannot refute it either


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workflows(max_agents=6, contended=True))
def test_what_shaving_certifies_below_the_optimum_the_checker_accepts(workflow):
    optimum = reference_optimum(workflow)
    if optimum == 0:
        return
    proof = prove(load(workflow), Checker(read_question(workflow, optimum)))
    if proof is None:
        return
    meta = {"format": FORMAT, "bound": optimum, "workflow": workflow, "steps": proof.steps}
    meta["refutation"] = {"prices": proof.prices}
    assert check(meta).ok


def test_shaving_certifies_a_bound_that_needs_steps():
    """pat16 (optimum 32): the LP with windows from the dependencies alone does not refute 31;
    shaving does, in whole numbers, and a price changed or a step left out breaks it."""
    from orchmilp.engine import load_as_written
    from tests.helpers import ROOT

    loaded = load_as_written(str(ROOT / "instances" / "psplib" / "patterson" / "pat16.rcp"))
    checker = Checker(read_question(loaded.workflow, 32))
    proof = prove(loaded.problem, checker)
    assert proof is not None and proof.steps
    meta = {"format": FORMAT, "bound": 32, "workflow": loaded.workflow, "steps": proof.steps}
    meta["refutation"] = {"prices": proof.prices}
    assert check(meta).ok
    assert not check({**meta, "steps": []}).ok  # the refutation rests on the steps
    assert not check({**meta, "refutation": {"prices": {}}}).ok
    assert not check({**meta, "bound": 33}).ok  # a plan of 32 exists


def test_the_second_check_written_apart_agrees(tmp_path):
    """bench/recheck_lp.py (reads the .sm file, MILP for the heaviest sets) accepts what
    orchmilp certifies on a j30 instance and rejects it tampered."""
    import subprocess
    import sys

    from orchmilp.cli import main
    from tests.helpers import ROOT

    instance = ROOT / "instances" / "psplib" / "j30" / "j3010_1.sm"  # optimum 42
    folder = tmp_path / "cert"
    assert main(["certify", str(instance), "--method", "lp", "--bound", "42", "-o", str(folder), "-q"]) == 0
    recheck = [sys.executable, str(ROOT / "bench" / "recheck_lp.py"), str(instance), str(folder)]
    done = subprocess.run(recheck, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.startswith("valid: every plan of j3010_1 takes at least 42")
    meta = json.loads((folder / "certificate.json").read_text())
    (folder / "certificate.json").write_text(json.dumps({**meta, "bound": 43}))  # a plan of 42 exists
    assert subprocess.run(recheck, capture_output=True, text=True, timeout=300).returncode == 1


@pytest.mark.slow
@pytest.mark.parametrize("name", ["j6013_1-106", "j6013_9-96", "j6013_10-113", "j6029_3-116", "j6029_8-97"])
def test_the_new_bounds_on_open_psplib_instances_check(name):
    """The certificates of bench/results/certificates (bounds above the best known ones of
    instances/psplib/open.csv) pass the whole-number checker, for the instance as shipped."""
    import csv

    from orchmilp.engine import load_as_written
    from orchmilp.lp_certificate import verify
    from tests.helpers import ROOT

    folder = ROOT / "bench" / "results" / "certificates" / name
    instance, bound = name.split("-")
    meta = json.loads((folder / "certificate.json").read_text())
    shipped = load_as_written(str(ROOT / "instances" / "psplib" / "open" / f"{instance}.sm")).workflow
    assert meta["workflow"] == json.loads(json.dumps(shipped))  # the instance itself, not another
    with open(ROOT / "instances" / "psplib" / "open.csv") as f:
        known = {r["instance"]: int(r["best_lower_bound"]) for r in csv.DictReader(f)}
    assert int(bound) == meta["bound"] == known[instance] + 1
    assert verify(folder).ok


@pytest.mark.parametrize(
    "agents, message",
    [
        ([{"id": "a", "duration": 2}, {"id": "a", "duration": 3}], "two agents have the same id"),
        ([{"id": "a", "duration": -2}], "duration must be a number >= 0"),
        ([{"duration": 2}], "agent 1 has no id"),
    ],
)
def test_a_certificate_of_a_workflow_the_checker_cannot_read_is_refused(agents, message):
    from orchmilp.errors import InvalidWorkflow

    meta = {"format": FORMAT, "bound": 4, "workflow": {"agents": agents}, "steps": [], "refutation": {"prices": {}}}
    with pytest.raises(InvalidWorkflow, match=message):
        check(meta)
