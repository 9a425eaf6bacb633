"""``orchmilp convert``: WfCommons traces, PSPLIB and Patterson files to the workflow format."""

from __future__ import annotations

from pathlib import Path

from ..errors import InvalidOptions
from .common import output, positive, print_json


def register(sub) -> None:
    p = sub.add_parser(
        "convert", help="convert a WfCommons trace, a PSPLIB .sm or a Patterson .rcp file to the workflow format"
    )
    p.add_argument("instance", help="WfCommons trace (.json), PSPLIB .sm or Patterson .rcp file")
    p.add_argument("-o", "--output", type=output, metavar="FILE.json", help="write here (default: stdout)")
    p.add_argument(
        "--cores",
        type=positive,
        metavar="N",
        help="WfCommons traces: capacity of the 'cores' resource (default: the cores of the trace's machines)",
    )


def run(args) -> int:
    from ..engine import load
    from ..io.files import write_json_atomic
    from ..io.workflow import problem_to_workflow

    if Path(args.instance).suffix.lower() in (".sm", ".rcp"):
        if args.cores:
            raise InvalidOptions("convert: --cores applies to WfCommons traces only")
        workflow = problem_to_workflow(load(args.instance))
    else:
        from ..io.wfcommons import read_trace, trace_to_workflow

        workflow = trace_to_workflow(read_trace(args.instance), cores=args.cores)
        load(workflow)  # the result must be a valid workflow
    if args.output:
        write_json_atomic(args.output, workflow)
    else:
        print_json(workflow)
    return 0
