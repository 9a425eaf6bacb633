"""Every bad input of workflow-format.md is rejected with a one-line message naming agent and field."""

from __future__ import annotations

import copy

import pytest

import orchmilp
from orchmilp.errors import InvalidWorkflow, OrchmilpError, OrchmilpWarning

GOOD = {
    "resources": {"memory_gb": 8, "slots": 2},
    "agents": [
        {"id": "lint", "duration": 12},
        {
            "id": "review",
            "duration": 25,
            "depends_on": ["lint"],
            "uses": {"memory_gb": 2, "slots": 1},
            "reads": ["src/"],
            "writes": ["reports/review.md"],
        },
        {"id": "fix", "duration": 5, "depends_on": ["review"]},
    ],
}


def broken(edit):
    data = copy.deepcopy(GOOD)
    edit(data)
    return data


CASES = [
    ("missing id", lambda d: d["agents"][1].pop("id"), r"^agent #2: missing required field 'id'$"),
    ("empty id", lambda d: d["agents"][1].update(id=""), r"^agent #2: id must be a non-empty string$"),
    ("duplicate id", lambda d: d["agents"][2].update(id="lint"), r"^agent 'lint': duplicate id \(agents #1 and #3\)$"),
    (
        "missing duration",
        lambda d: d["agents"][0].pop("duration"),
        r"^agent 'lint': missing required field 'duration' \(or 'modes'\)$",
    ),
    (
        "unknown dependency",
        lambda d: d["agents"][1].update(depends_on=["lnt"]),
        r"^agent 'review': depends_on names unknown agent 'lnt'$",
    ),
    (
        "self dependency",
        lambda d: d["agents"][1].update(depends_on=["review"]),
        r"^agent 'review': depends_on names the agent itself$",
    ),
    (
        "cycle",
        lambda d: d["agents"][0].update(depends_on=["fix"]),
        r"^agent '\w+': depends_on forms a cycle: (lint|review|fix) -> .* \(each agent depends on the next\)$",
    ),
    ("negative duration", lambda d: d["agents"][0].update(duration=-3), r"^agent 'lint': duration = -3 must be >= 0$"),
    (
        "text duration",
        lambda d: d["agents"][0].update(duration="ten"),
        r"^agent 'lint': duration = 'ten' is not a number$",
    ),
    (
        "boolean duration",
        lambda d: d["agents"][0].update(duration=True),
        r"^agent 'lint': duration = true is not a number$",
    ),
    (
        "negative amount",
        lambda d: d["agents"][1]["uses"].update(memory_gb=-1),
        r"^agent 'review': uses.memory_gb = -1 must be >= 0$",
    ),
    (
        "text amount",
        lambda d: d["agents"][1]["uses"].update(slots="one"),
        r"^agent 'review': uses.slots = 'one' is not a number$",
    ),
    (
        "undeclared resource",
        lambda d: d["agents"][1]["uses"].update(gpu=1),
        r"^agent 'review': uses.gpu names an undeclared resource \(declared: memory_gb, slots\)$",
    ),
    (
        "over capacity",
        lambda d: d["agents"][1]["uses"].update(memory_gb=9),
        r"^agent 'review': uses.memory_gb = 9 exceeds capacity 8$",
    ),
    ("negative capacity", lambda d: d["resources"].update(slots=-2), r"^resources.slots = -2 must be >= 0$"),
    (
        "absolute path",
        lambda d: d["agents"][1].update(writes=["/etc/passwd"]),
        r"^agent 'review': writes\[0\] = '/etc/passwd' is an absolute path$",
    ),
    (
        "dot-dot path",
        lambda d: d["agents"][1].update(reads=["src/", "../secrets"]),
        r"^agent 'review': reads\[1\] = '../secrets' contains '..'$",
    ),
    ("agents not a list", lambda d: d.update(agents={"a": 1}), r"^agents = .* is not a list$"),
    (
        "depends_on not a list",
        lambda d: d["agents"][1].update(depends_on="lint"),
        r"^agent 'review': depends_on = \"lint\" is not a list$",
    ),
]


@pytest.mark.parametrize("name,edit,message", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_rejected_with_a_clear_message(name, edit, message):
    with pytest.raises(InvalidWorkflow, match=message) as info:
        orchmilp.load(broken(edit))
    assert "\n" not in str(info.value)
    assert isinstance(info.value, OrchmilpError)


def test_malformed_json_names_line_and_column(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{\n  "agents": [\n    {"id": "a" "duration": 1}\n  ]\n}\n')
    with pytest.raises(
        InvalidWorkflow, match=r"bad.json: malformed JSON at line 3, column 16: Expecting ',' delimiter$"
    ):
        orchmilp.load(path)


def test_nan_is_rejected(tmp_path):
    path = tmp_path / "nan.json"
    path.write_text('{"agents": [{"id": "a", "duration": NaN}]}')
    with pytest.raises(InvalidWorkflow, match="agent 'a': duration = NaN is not a finite number"):
        orchmilp.load(path)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(InvalidWorkflow, match="no such file"):
        orchmilp.load(tmp_path / "nope.json")


def test_unknown_fields_are_accepted_with_a_warning_naming_agent_and_field():
    data = copy.deepcopy(GOOD)
    data["owner"] = "ci"
    data["agents"][0]["retries"] = 2  # a run-format field: known, no warning
    data["agents"][1]["priority"] = 5
    with pytest.warns(OrchmilpWarning) as caught:
        problem = orchmilp.load(data)
    messages = sorted(str(w.message) for w in caught)
    assert messages == [
        "agent 'review': unknown field 'priority' is ignored",
        "unknown workflow field 'owner' is ignored",
    ]
    assert problem.ids == ("lint", "review", "fix")
    assert problem.edges.tolist() == [[0, 1], [1, 2]]
    assert problem.retries == (2, 0, 0)


def test_run_format_fields_are_read_and_run_if_becomes_a_dependency():
    problem = orchmilp.load(
        {
            "agents": [
                {"id": "tests", "duration": 4, "kind": "pytest", "features": {"files": 12}, "timeout": 60},
                {
                    "id": "fix",
                    "duration": 2,
                    "duration_range": [1, 5],
                    "run_if": {"agent": "tests", "status": "failed"},
                },
            ]
        }
    )
    assert problem.kinds == ("pytest", "fix")
    assert problem.features[0] == {"files": 12} and problem.timeouts == (60, None)
    assert problem.duration_ranges == (None, (1, 5))
    assert problem.edges.tolist() == [[0, 1]]


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("duration_range", [3, 5], "agent 'b': duration_range = [3, 5] must contain duration 2"),
        ("duration_range", [1], "agent 'b': duration_range = [1] must be a list of 2 numbers"),
        ("timeout", 0, "agent 'b': timeout = 0 must be > 0"),
        ("retries", 1.5, "agent 'b': retries = 1.5 is not an integer"),
        ("run_if", {"agent": "zz", "status": "ok"}, "agent 'b': run_if names unknown agent 'zz'"),
        ("run_if", {"agent": "b", "exit_code": 0}, "agent 'b': run_if names the agent itself"),
        ("run_if", {"agent": "a"}, "agent 'b': run_if must name the agent and a 'status' or an 'exit_code'"),
        ("run_if", {"agent": "a", "status": "maybe"}, "agent 'b': run_if.status = \"maybe\" must be one of"),
        ("features", {"input_bytes": -1}, "agent 'b': features.input_bytes = -1 must be >= 0"),
    ],
)
def test_bad_run_format_fields_name_agent_and_field(field, value, message):
    data = {"agents": [{"id": "a", "duration": 1}, {"id": "b", "duration": 2, field: value}]}
    with pytest.raises(InvalidWorkflow) as err:
        orchmilp.load(data)
    assert str(err.value).startswith(message)


def test_empty_workflow_has_makespan_zero():
    result = orchmilp.solve({"agents": []})
    assert result.status.value == "optimal"
    assert result.to_dict()["makespan"] == 0
    assert result.to_dict()["schedule"] == [] and result.to_dict()["critical_path"] == []


def test_the_fast_schema_check_never_accepts_what_the_schema_refuses():
    import random
    import sys

    import jsonschema

    from orchmilp.io.workflow import _surely_valid, workflow_schema
    from tests.helpers import ROOT

    sys.path.insert(0, str(ROOT / "bench"))
    from fuzz import _mutate, seeds

    validator = jsonschema.Draft202012Validator(workflow_schema())
    rng = random.Random(3)
    base = seeds()
    accepted = 0
    for _ in range(3000):
        data = rng.choice(base)
        for _ in range(rng.randint(1, 2)):
            data = _mutate(data, rng)
        if isinstance(data, dict) and _surely_valid(data):
            accepted += 1
            assert not list(validator.iter_errors(data)), data
    assert accepted > 100  # the fast path is taken for many valid ones
