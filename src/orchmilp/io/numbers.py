"""Numbers as users wrote them, for every JSON and text orchmilp writes."""

from __future__ import annotations

__all__ = ["plain_number"]


def plain_number(x: float) -> int | float:
    """``45.0 -> 45``, ``12.50000000001 -> 12.5``: numbers as users wrote them.

    >>> plain_number(45.0), plain_number(12.50000000001)
    (45, 12.5)
    """
    r = round(float(x), 9)
    return int(r) if r == int(r) else r
