"""The open PSPLIB instances against LP shaving: certify one above the best known lower bound.

    python bench/frontier_lp.py [--set j60] [--instances j6013_9,...] [--above 1] [--time-limit 600]
                                [--keep DIR] [--out FILE]

For every open instance of the set (instances/psplib/open.csv), ``orchmilp certify --method lp``
is asked for the best known lower bound plus ``--above`` (a bound new to the literature) within
the limit, on one thread. With ``--closed``, instances whose optimum is proven (best_known.csv) are asked for the
optimum plus ``--above`` instead: a soundness test, where every answer must be "not found".
A certificate found is checked by orchmilp's whole-number checker and,
with ``--keep``, kept as DIR/INSTANCE-BOUND/certificate.json (re-check it with
``orchmilp certify --check`` or ``python bench/recheck_lp.py``).
"""

from __future__ import annotations

import argparse
import csv
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from orchmilp.errors import OrchmilpError  # noqa: E402
from orchmilp.services.certify import CertifyRequest, certify  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", default="j60")
    parser.add_argument("--instances", help="comma-separated names instead of the whole set")
    parser.add_argument("--above", type=int, default=1, help="certify the best known lower bound plus this")
    parser.add_argument("--time-limit", type=float, default=600.0)
    parser.add_argument("--keep", help="folder to keep the certificates found in")
    parser.add_argument("--closed", action="store_true", help="proven optima instead (a soundness test)")
    parser.add_argument("--out")
    args = parser.parse_args()
    if args.closed:
        with open(ROOT / "instances" / "psplib" / "best_known.csv") as f:
            rows = [
                {
                    "instance": r["instance"],
                    "best_lower_bound": r["lb"],
                    "best_upper_bound": r["ub"],
                    "folder": r["set"],
                }
                for r in csv.DictReader(f)
                if r["optimal"] == "true" and (r["set"] == args.set or args.instances)
            ]
    else:
        with open(ROOT / "instances" / "psplib" / "open.csv") as f:
            rows = [{**r, "folder": "open"} for r in csv.DictReader(f) if r["set"] == args.set or args.instances]
    if args.instances:
        wanted = args.instances.split(",")
        rows = sorted((r for r in rows if r["instance"] in wanted), key=lambda r: wanted.index(r["instance"]))
    head = f"{'instance':>10} {'best lb':>8} {'best ub':>8} {'asked':>6} {'result':>10} {'steps':>6} {'LPs':>6} {'certify s':>10} {'check s':>8}"
    lines = [head]
    print(head, flush=True)
    for row in rows:
        path = ROOT / "instances" / "psplib" / row["folder"] / f"{row['instance']}.sm"
        bound = int(row["best_lower_bound"]) + args.above
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "c"
            started = time.perf_counter()
            try:
                out = certify(CertifyRequest(path, float(bound), folder, args.time_limit, method="lp"))
            except OrchmilpError:
                line = f"{row['instance']:>10} {row['best_lower_bound']:>8} {row['best_upper_bound']:>8} {bound:6d} {'not found':>10} {'':>6} {'':>6} {time.perf_counter() - started:10.1f} {'':>8}"
            else:
                c, v = out.certified, out.verified
                result = "CERTIFIED" if v is not None and v.ok else "INVALID"
                line = (
                    f"{row['instance']:>10} {row['best_lower_bound']:>8} {row['best_upper_bound']:>8} {bound:6d} "
                    f"{result:>10} {c.steps:6d} {c.lp_solves:6d} {c.solve_seconds:10.1f} {v.seconds if v else 0:8.1f}"
                )
                if args.keep and v is not None and v.ok:
                    target = Path(args.keep) / f"{row['instance']}-{bound}"
                    target.mkdir(parents=True, exist_ok=True)
                    shutil.copy(folder / "certificate.json", target / "certificate.json")
        print(line, flush=True)
        lines.append(line)
    if args.out:
        command = f"python bench/frontier_lp.py --set {args.set} --above {args.above} --time-limit {args.time_limit:g}"
        if args.closed:
            command += " --closed"
        if args.instances:
            command += f" --instances {args.instances}"
        Path(args.out).write_text(f"# {command}   (one thread)\n" + "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
