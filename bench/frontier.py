"""The open PSPLIB instances: the lower bound orchmilp proves within a time limit against the
best known one (Ghent University's table, September 2024), each certified.

    python bench/frontier.py [--set j60] [--time-limit 60] [--certify] [--check] [--out FILE]

For every open instance of the set (instances/psplib/open.csv), one solve on one thread within
the limit. With ``--certify``, the bound it proves is then refuted again by the certificate's
own encoding (``orchmilp certify``: a CNF and its DRAT refutation) within the same limit, and
with ``--check`` the proof is checked with dratify (pure Python: about 280 lemmas a second).
A bound above the best known one would be new to the literature; the table says how far
each is.
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

import orchmilp  # noqa: E402
from orchmilp.errors import OrchmilpError  # noqa: E402
from orchmilp.services.certify import CertifyRequest, certify  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", default="j60")
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--certify", action="store_true", help="refute the bound reached by the certificate's encoding")
    parser.add_argument("--check", action="store_true", help="and check each proof with dratify")
    parser.add_argument("--out")
    args = parser.parse_args()
    with open(ROOT / "instances" / "psplib" / "open.csv") as f:
        rows = [r for r in csv.DictReader(f) if r["set"] == args.set]
    head = (
        f"{'instance':>10} {'best lb':>8} {'best ub':>8} {'our lb':>7} {'our ub':>7} {'solve s':>8} "
        f"{'cert':>9} {'lemmas':>8} {'refute s':>9} {'check s':>8}"
    )
    lines = [head]
    print(head, flush=True)
    for row in rows:
        path = ROOT / "instances" / "psplib" / "open" / f"{row['instance']}.sm"
        started = time.perf_counter()
        result = orchmilp.solve(str(path), time_limit=args.time_limit, threads=1)
        solved = time.perf_counter() - started
        cert, lemmas, refute, check = "", "", "", ""
        if args.certify:
            with tempfile.TemporaryDirectory() as tmp:
                request = CertifyRequest(path, result.lower_bound, Path(tmp) / "c", args.time_limit, check=args.check)
                try:
                    out = certify(request)
                except OrchmilpError:
                    cert = "timeout"
                else:
                    lemmas, refute = str(out.certified.lemmas), f"{out.certified.solve_seconds:.1f}"
                    if out.verified is None:
                        cert = "refuted"
                    else:
                        cert, check = ("valid" if out.verified.ok else "BAD"), f"{out.verified.seconds:.1f}"
        line = (
            f"{row['instance']:>10} {row['best_lower_bound']:>8} {row['best_upper_bound']:>8} "
            f"{result.lower_bound:7g} {result.makespan:7g} {solved:8.1f} {cert:>9} {lemmas:>8} {refute:>9} {check:>8}"
        )
        print(line, flush=True)
        lines.append(line)
    if args.out:
        Path(args.out).write_text(
            f"# python bench/frontier.py --set {args.set} --time-limit {args.time_limit:g}"
            f"{' --certify' if args.certify else ''}{' --check' if args.check else ''}   (one thread)\n"
            + "\n".join(lines)
            + "\n"
        )


if __name__ == "__main__":
    main()
