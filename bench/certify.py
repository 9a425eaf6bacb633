"""Certificates of PSPLIB optima: how long the refutation below the best known bound takes,
how large the CNF and the DRAT proof are, and how long dratify takes to check them.

    python bench/certify.py [--set j30] [--every 20] [--instances j3013_1,...] [--time-limit 120] [--out FILE]
    python bench/certify.py --method lp ...

For each instance (every ``--every``-th of the set, in name order), the best known lower
bound of instances/psplib/best_known.csv is certified with ``orchmilp.services.certify``
(encode, refute with Glucose writing a DRAT proof, check with dratify). A row gives the
bound, whether it is the optimum, the CNF's size, the refutation's and the check's time.
With ``--method lp``, the highest bound up to the best known one that LP shaving certifies
(bisection), its steps and LPs, and the time of the whole-number check.
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from orchmilp.certificate import Certified  # noqa: E402
from orchmilp.errors import OrchmilpError  # noqa: E402
from orchmilp.services.certify import CertifyRequest, certify  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", default="j30")
    parser.add_argument("--every", type=int, default=20)
    parser.add_argument("--time-limit", type=float, default=120.0)
    parser.add_argument("--instances", help="comma-separated names instead (e.g. j3013_1,j6041_1)")
    parser.add_argument("--no-check", action="store_true", help="refute only (dratify checks ~280 lemmas/s)")
    parser.add_argument("--method", choices=("sat", "lp"), default="sat")
    parser.add_argument("--out")
    args = parser.parse_args()
    known = {}
    with open(ROOT / "instances" / "psplib" / "best_known.csv") as f:
        for row in csv.DictReader(f):
            known[row["instance"]] = row
    files = sorted((ROOT / "instances" / "psplib" / args.set).glob("*.sm"))[:: args.every]
    if args.instances:
        files = [
            ROOT / "instances" / "psplib" / ("j120" if name.startswith("j12") else name[:3]) / f"{name}.sm"
            for name in args.instances.split(",")
        ]
    head = HEADS[args.method]
    lines = [head]
    print(head, flush=True)
    for path in files:
        row = known[path.stem]
        bound = float(row["lb"])
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            lp = args.method == "lp"  # LP: the highest bound up to the best known one
            request = CertifyRequest(path, bound, Path(tmp) / "c", args.time_limit, not args.no_check, args.method, lp)
            try:
                out = certify(request)
            except OrchmilpError as err:
                blank = f"{'':>7} {'':>6} {'':>6}" if lp else f"{'':>10} {'':>9} {'':>8}"
                line = f"{path.stem:>10} {bound:7g} {row['optimal']:>8} {blank} {time.perf_counter() - started:9.2f} {'':>8}  {err}"
            else:
                c, v = out.certified, out.verified
                if isinstance(c, Certified):
                    size = f"{c.variables:10d} {c.clauses:9d} {c.lemmas:8d}"
                else:
                    size = f"{c.bound:7g} {c.steps:6d} {c.lp_solves:6d}"
                checked = "not checked" if v is None else "valid" if v.ok else "INVALID: " + v.reason
                line = (
                    f"{path.stem:>10} {bound:7g} {row['optimal']:>8} {size} "
                    f"{c.solve_seconds:9.2f} {'' if v is None else f'{v.seconds:.2f}':>8}  {checked}"
                )
        print(line, flush=True)
        lines.append(line)
    if args.out:
        method = " --method lp" if args.method == "lp" else ""
        which = f"--instances {args.instances}" if args.instances else f"--set {args.set} --every {args.every}"
        command = f"python bench/certify.py{method} {which} --time-limit {args.time_limit:g}"
        Path(args.out).write_text(f"# {command}\n" + "\n".join(lines) + "\n")


HEADS = {
    "sat": f"{'instance':>10} {'bound':>7} {'optimum':>8} {'variables':>10} {'clauses':>9} {'lemmas':>8} {'refute s':>9} {'check s':>8}  result",
    "lp": f"{'instance':>10} {'best lb':>7} {'optimum':>8} {'LP cert':>7} {'steps':>6} {'LPs':>6} {'certify s':>9} {'check s':>8}  result",
}


if __name__ == "__main__":
    main()
