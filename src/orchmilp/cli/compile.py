"""``orchmilp compile``: the time-indexed MILP as an LP or MPS file."""

from __future__ import annotations

from ..errors import InvalidOptions
from .common import output, positive


def register(sub) -> None:
    p = sub.add_parser("compile", help="write the time-indexed MILP as an LP or MPS file")
    p.add_argument("workflow")
    p.add_argument("--lp", type=output, metavar="FILE.lp")
    p.add_argument("--mps", type=output, metavar="FILE.mps")
    p.add_argument("--resolution", type=positive, metavar="STEP", help="time step (default: automatic)")


def run(args) -> int:
    from ..engine import compile_model
    from ..solvers.highs_api import write_model

    if not args.lp and not args.mps:
        raise InvalidOptions("compile: give --lp FILE and/or --mps FILE")
    model, info = compile_model(args.workflow, resolution=args.resolution)
    for target in (args.lp, args.mps):
        if target:
            write_model(model, target)
    print(f"{info} -> " + ", ".join(t for t in (args.lp, args.mps) if t))
    return 0
