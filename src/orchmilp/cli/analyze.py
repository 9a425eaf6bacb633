"""``orchmilp analyze``: structure, critical path, slack, conflicts, bounds (no solving)."""

from __future__ import annotations

from .common import print_json


def register(sub) -> None:
    p = sub.add_parser("analyze", help="structure, critical path, slack, conflicts, bounds (no solving)")
    p.add_argument("workflow")
    p.add_argument("--json", action="store_true", help="print the analysis as JSON")


def run(args) -> int:
    from ..report.console import print_analysis
    from ..services import analyze

    facts = analyze(args.workflow)
    if args.json:
        print_json(facts)
    else:
        print_analysis(facts)
    return 0
