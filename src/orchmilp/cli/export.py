"""``orchmilp export``: a plan as a bash script, a Makefile, a JSON run list or instructions for a coding agent."""

from __future__ import annotations

import sys
from pathlib import Path

from .common import output


def register(sub) -> None:
    p = sub.add_parser(
        "export", help="turn a plan into a bash script, a Makefile, a JSON run list or Markdown for a coding agent"
    )
    p.add_argument("plan", help="plan JSON written by `orchmilp solve -o`")
    p.add_argument(
        "--format",
        default="bash",
        choices=["bash", "make", "json", "claude"],
        help="claude: Markdown for an orchestrating coding agent, one section per wave of subagents",
    )
    p.add_argument(
        "--workflow", metavar="WF", help="claude: the workflow, for each agent's prompt, subagent type, files and uses"
    )
    p.add_argument("-o", "--output", type=output, metavar="FILE", help="write here (default: stdout)")


def run(args) -> int:
    from ..io.export import EXPORTERS
    from ..io.files import write_text_atomic
    from ..io.plan import read_plan

    plan = read_plan(args.plan)
    if args.format == "claude":
        from ..engine import load_as_written
        from ..io.claude import to_claude

        if args.workflow:
            loaded = load_as_written(args.workflow)
            ids = loaded.problem.ids
            pairs = [(ids[a], ids[b]) for a, b in loaded.problem.conflict_pairs.tolist()]
            text = to_claude(plan, loaded.workflow, pairs)
        else:
            text = to_claude(plan)
    else:
        text = EXPORTERS[args.format](plan)
    if args.output:
        write_text_atomic(args.output, text)
        if args.format == "bash":
            Path(args.output).chmod(0o755)
    else:
        sys.stdout.write(text)
    return 0
