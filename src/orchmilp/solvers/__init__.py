"""MILP back-ends, reached through :func:`backend`: HiGHS (default) and CBC through pulp
(loaded only when chosen). Each has ``start(model, *, time_limit, threads, seed, options)``
returning a run to poll, read, stop or wait for (see :mod:`.base`)."""

from __future__ import annotations

from ..errors import SolverError
from .base import Backend

__all__ = ["backend", "BACKENDS"]

BACKENDS = ("highs", "cbc")


def backend(name: str) -> Backend:
    """The back-end called ``name``."""
    if name == "highs":
        from .highs import HiGHS

        return HiGHS()
    if name == "cbc":
        from .cbc import CBC

        return CBC()
    raise SolverError(f"unknown backend {name!r} (choose from {', '.join(BACKENDS)})")
