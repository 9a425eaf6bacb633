"""``export --format claude``: Markdown a coding agent follows wave by wave; workflow text
cannot break out of its code spans and fences."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from orchmilp.cli import main
from orchmilp.io.claude import to_claude
from tests.helpers import ROOT

REFACTOR = ROOT / "instances" / "examples" / "refactor.json"


def _sections(markdown: str) -> tuple[list[str], list[str]]:
    """The headings' text and the fenced blocks' content, as a Markdown parser reads them."""
    tokens = MarkdownIt("commonmark").parse(markdown)
    headings = [tokens[k + 1].content for k, t in enumerate(tokens) if t.type == "heading_open"]
    fences = [t.content for t in tokens if t.type == "fence"]
    return headings, fences


@pytest.mark.parametrize("waves", [True, False], ids=["waves", "events"])
def test_each_wave_waits_only_for_earlier_waves_and_shows_the_prompts(tmp_path, capsys, waves):
    workflow = json.loads(REFACTOR.read_text())
    for agent in workflow["agents"]:
        agent["prompt"] = f"Do the work of {agent['id']}.\nThen stop."
    workflow["agents"][0]["subagent"] = "planner"
    wf = tmp_path / "wf.json"
    wf.write_text(json.dumps(workflow))
    plan_file = tmp_path / "plan.json"
    assert (
        main(["solve", str(wf), "-q", "--time-limit", "30", "-o", str(plan_file)] + (["--waves"] if waves else [])) == 0
    )
    assert main(["export", str(plan_file), "--format", "claude", "--workflow", str(wf)]) == 0
    markdown = capsys.readouterr().out
    headings, fences = _sections(markdown)
    plan = json.loads(plan_file.read_text())
    wave_of: dict[str, int] = {}
    k = 0
    for heading in headings:
        if heading.startswith("Wave "):
            k = int(heading.split()[1].rstrip(":"))
        elif heading.startswith("`"):
            wave_of[heading.split("`")[1]] = k
    assert set(wave_of) == {a["id"] for a in workflow["agents"]}
    for entry in plan["schedule"]:  # a wave waits only for earlier waves
        assert all(wave_of[w] < wave_of[entry["id"]] for w in entry["waits_for"])
    if waves:
        assert [sorted(w["agents"]) for w in plan["waves"]] == [
            sorted(a for a, j in wave_of.items() if j == k) for k in range(1, len(plan["waves"]) + 1)
        ]
    assert sorted(fences) == sorted(a["prompt"] + "\n" for a in workflow["agents"])
    assert "(subagent type `planner`)" in markdown and "never in one wave" in markdown


PIECES = list("`#*_[]()<>!$ab |~\t\n") + ["```", "\n## Wave 99", "\x1b[31m", "\n    ```"]
hostile = st.lists(st.sampled_from(PIECES), max_size=12).map("".join)


@settings(max_examples=60, deadline=None)
@given(agent_id=hostile.filter(lambda s: s.strip() not in ("", "b")), prompt=hostile, name=hostile)
def test_workflow_text_cannot_add_headings_or_end_a_block(agent_id, prompt, name):
    plan = {
        "name": name,
        "status": "optimal",
        "makespan": 4,
        "lower_bound": 4,
        "schedule": [
            {"id": agent_id, "start": 0, "finish": 3, "waits_for": []},
            {"id": "b", "start": 3, "finish": 4, "waits_for": [agent_id]},
        ],
    }
    agents = [{"id": agent_id, "duration": 3, "prompt": prompt, "subagent": name}, {"id": "b", "duration": 1}]
    markdown = to_claude(plan, {"agents": agents})
    headings, fences = _sections(markdown)
    assert len(headings) == 6  # the title, two waves, two agents, the limits: nothing added
    assert [h for h in headings if h.startswith("Wave")] == [f"Wave {k}: 1 subagent(s) in one message" for k in (1, 2)]
    shown = prompt.replace("\x1b", "\\u001b").splitlines()
    assert fences == ["".join(line + "\n" for line in shown)]  # the prompt, whole, in its one block
    assert "\x1b" not in markdown
