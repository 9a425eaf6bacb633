"""``orchmilp predict``: how long a plan really takes."""

from __future__ import annotations

from .common import count, level, positive, print_json


def register(sub) -> None:
    p = sub.add_parser("predict", help="how long a plan really takes: makespan quantiles and interval")
    p.add_argument("workflow")
    p.add_argument("--plan", metavar="PLAN.json", help="the plan to predict (default: solve the workflow first)")
    p.add_argument("--history", nargs="+", metavar="PATH", help="JSONL history, WfCommons traces or folders")
    p.add_argument("--samples", type=count, default=10_000, metavar="N", help="Monte Carlo samples (10000)")
    p.add_argument("--level", type=level, default=0.95, metavar="P", help="central interval level (0.95)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--time-limit", type=positive, default=10.0, metavar="S", help="for the solve (10)")
    p.add_argument("--json", action="store_true", help="print the prediction object as JSON")


def run(args) -> int:
    from ..report.console import print_prediction
    from ..services import PredictRequest, predict

    prediction = predict(
        PredictRequest(args.workflow, args.plan, args.history, args.samples, args.level, args.seed, args.time_limit)
    )
    if args.json:
        print_json(prediction.to_dict())
    else:
        print_prediction(prediction)
    return 0
