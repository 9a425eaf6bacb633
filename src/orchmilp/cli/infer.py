"""``orchmilp infer``: the reads and writes each agent really needed, from the history."""

from __future__ import annotations

from .common import count, level, output, print_json


def register(sub) -> None:
    p = sub.add_parser("infer", help="learn each agent's reads/writes from the files its recorded runs touched")
    p.add_argument("workflow", help="workflow JSON")
    p.add_argument("--history", required=True, nargs="+", metavar="PATH", help="JSONL history written by run")
    p.add_argument("-o", "--output", type=output, metavar="WF.json", help="write the workflow with what was learnt")
    p.add_argument("--min-runs", type=count, default=2, metavar="N", help="ok attempts needed to learn an agent (2)")
    p.add_argument(
        "--share", type=level, default=0.5, metavar="F", help="keep a file touched by this share of attempts (0.5)"
    )
    p.add_argument("--json", action="store_true", help="the patch as JSON (agent -> add_/drop_ reads/writes)")


def run(args) -> int:
    from ..io.files import write_json_atomic
    from ..io.names import printable
    from ..services.infer import infer

    outcome = infer(args.workflow, args.history, min_runs=args.min_runs, share=args.share)
    if args.output:
        write_json_atomic(args.output, outcome.workflow)
    if args.json:
        print_json({"patch": outcome.patch(), "undeclared": outcome.undeclared})
        return 0
    for agent, files in outcome.undeclared.items():
        print(f"warning: agent '{printable(agent)}' wrote undeclared files in recorded runs: {', '.join(files)}")
    for a in outcome.agents:
        if a.writes is None and a.reads is None:
            print(f"{printable(a.agent)}: {a.attempts} ok attempt(s) with files recorded: kept as declared")
            continue
        changes = a.changes()
        text = "; ".join(f"{k.replace('_', ' ')} {', '.join(map(printable, v))}" for k, v in changes.items())
        print(f"{printable(a.agent)}: {text or 'as declared'} ({a.attempts} attempts)")
    if args.output:
        print(f"written: {args.output}")
    return 0
