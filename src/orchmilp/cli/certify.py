"""``orchmilp certify``: a lower bound on every plan with a certificate anyone can check
(a CNF and its DRAT refutation, or LP shaving steps checked in whole numbers); ``--check DIR``
checks one."""

from __future__ import annotations

import argparse
from pathlib import Path

from .common import positive, print_json


def _folder(text: str) -> str:
    """A folder to write the certificate into: its parent must exist, and it must not be a file."""
    if not Path(text).parent.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r}: no such folder {str(Path(text).parent)!r}")
    if Path(text).exists() and not Path(text).is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a file, not a folder")
    return text


def register(sub) -> None:
    p = sub.add_parser(
        "certify",
        help="certify a lower bound on every plan (CNF + DRAT proof, or LP steps), or check a certificate",
        description="Refute every plan shorter than the bound and write the certificate. --method sat: "
        "certificate.json, encoding.cnf (DIMACS) and proof.drat (DRAT), checked with dratify. --method lp: "
        "certificate.json with window-shaving steps and a refutation, each a Farley inequality of the "
        "feasible-subset LP checked in whole numbers. Without --bound, the workflow is solved first and its "
        "proven lower bound is certified (by the LP: the highest bound up to it that the LP refutes).",
    )
    p.add_argument("workflow", nargs="?", help="workflow JSON or PSPLIB file (not with --check)")
    p.add_argument("--bound", type=positive, metavar="B", help="the bound to certify (default: what a solve proves)")
    p.add_argument("-o", "--output", type=_folder, metavar="DIR", help="the certificate folder (NAME-bound-B)")
    p.add_argument(
        "--time-limit",
        type=positive,
        default=60.0,
        metavar="S",
        help="seconds to solve and refute (60); the check is not limited",
    )
    p.add_argument(
        "--method", choices=("sat", "lp"), default="sat", help="sat: CNF + DRAT proof (default); lp: LP shaving"
    )
    p.add_argument(
        "--up-to", action="store_true", help="with --method lp: the highest bound up to --bound that the LP certifies"
    )
    p.add_argument("--no-check", action="store_true", help="do not check the certificate once written")
    p.add_argument("--check", metavar="DIR", help="check a certificate folder instead")
    p.add_argument("--json", action="store_true", help="the outcome as JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output on stderr")


def _progress(quiet: bool):
    """LP shaving's rounds on stderr (a terminal only)."""
    import sys

    if quiet or not sys.stderr.isatty():
        return None
    return lambda line: print(f"certify {line}", file=sys.stderr, flush=True)


def run(args) -> int:
    from ..certificate import Certified
    from ..errors import InvalidOptions
    from ..services.certify import CertifyRequest, certify, check_certificate

    if args.check is not None:
        if args.workflow is not None or args.bound is not None:
            raise InvalidOptions("--check DIR takes no workflow and no --bound")
        verified = check_certificate(args.check)
        if args.json:
            print_json({"ok": verified.ok, "bound": verified.bound, "reason": verified.reason})
        else:
            print(f"{'valid' if verified.ok else 'INVALID'}: {verified.reason} ({verified.seconds:.1f} s)")
        return 0 if verified.ok else 1
    if args.workflow is None:
        raise InvalidOptions("give a workflow to certify, or --check DIR")
    request = CertifyRequest(
        args.workflow,
        args.bound,
        args.output,
        args.time_limit,
        check=not args.no_check,
        method=args.method,
        up_to=args.up_to,
    )
    outcome = certify(request)
    c, v = outcome.certified, outcome.verified
    if args.json:
        print_json(outcome.to_dict())
    else:
        if outcome.solved is not None:
            s = outcome.solved
            print(f"solved: makespan {s['makespan']:g}, lower bound {s['lower_bound']:g} ({s['status']})")
        if isinstance(c, Certified):
            how = f"{c.variables:,} variables, {c.clauses:,} clauses, {c.lemmas:,} proof lemmas"
        else:
            how = f"{c.steps:,} window steps, {c.lp_solves:,} LPs"
        print(
            f"certified: every plan of {outcome.name} takes at least {c.bound:g} "
            f"(refuted in {c.solve_seconds:.2f} s: {how}) -> {c.folder}"
        )
        if v is not None:
            checker = "dratify" if isinstance(c, Certified) else "whole numbers"
            print(
                f"{'checked' if v.ok else 'CHECK FAILED'}: {v.reason} ({checker}, {v.steps:,} steps, {v.seconds:.1f} s)"
            )
    return 0 if v is None or v.ok else 1
