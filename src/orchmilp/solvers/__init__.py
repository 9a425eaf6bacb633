"""MILP back-ends: HiGHS (default) and CBC through pulp (loaded only when chosen).

Every back-end is a function ``(LinearModel, *, time_limit, threads, seed,
options) -> MipOutcome``.
"""

from __future__ import annotations

from typing import Callable

from ..errors import SolverError

__all__ = ["backend", "BACKENDS"]

BACKENDS = ("highs", "cbc")


def backend(name: str) -> Callable:
    """The solve function of back-end ``name``."""
    if name == "highs":
        from .highs import solve_mip

        return solve_mip
    if name == "cbc":
        from .cbc import cbc_path, solve_mip_cbc

        cbc_path()  # fail early with a clear message when pulp is missing
        return solve_mip_cbc
    raise SolverError(f"unknown backend {name!r} (choose from {', '.join(BACKENDS)})")
