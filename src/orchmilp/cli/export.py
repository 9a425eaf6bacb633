"""``orchmilp export``: a plan as a bash script, a Makefile or a JSON run list."""

from __future__ import annotations

import sys
from pathlib import Path

from .common import output


def register(sub) -> None:
    p = sub.add_parser("export", help="turn a plan into a bash script, a Makefile or a JSON run list")
    p.add_argument("plan", help="plan JSON written by `orchmilp solve -o`")
    p.add_argument("--format", default="bash", choices=["bash", "make", "json"])
    p.add_argument("-o", "--output", type=output, metavar="FILE", help="write here (default: stdout)")


def run(args) -> int:
    from ..io.export import EXPORTERS
    from ..io.files import write_text_atomic
    from ..io.plan import read_plan

    text = EXPORTERS[args.format](read_plan(args.plan))
    if args.output:
        write_text_atomic(args.output, text)
        if args.format == "bash":
            Path(args.output).chmod(0o755)
    else:
        sys.stdout.write(text)
    return 0
