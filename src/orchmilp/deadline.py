"""The time limit of one command, library call or MCP call, and who has kept what of it.

Each entry point makes one :class:`Deadline` from its time limit and passes it down. Work
that must happen after the search (drawing charts, writing files, printing, answering the
client) keeps its seconds with :meth:`Deadline.reserve`; the search gets
:meth:`Deadline.remaining` (or a :meth:`Deadline.share` of it); the what-if re-solves of a
report or a ``whatif`` call take turns with :meth:`Deadline.split`. Inside one solve,
:mod:`orchmilp.search.budget` shares the seconds out among the phases. No other module does
time arithmetic.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator

from .errors import InvalidOptions

__all__ = ["Deadline"]


class Deadline:
    """``seconds`` from ``started`` (a :func:`time.perf_counter` time; default: now).

    >>> clock = iter([0.0, 2.0, 2.0, 2.0, 2.0]).__next__
    >>> d = Deadline(10.0, clock=clock)
    >>> d.reserve("charts", 3.0)
    3.0
    >>> d.remaining()  # 10 s - 2 s gone - 3 s kept for the charts
    5.0
    >>> d.release("charts"); d.remaining()
    8.0
    """

    def __init__(
        self, seconds: float, *, started: float | None = None, clock: Callable[[], float] = time.perf_counter
    ) -> None:
        if not (isinstance(seconds, (int, float)) and (seconds > 0 or math.isinf(seconds))):
            raise InvalidOptions(f"time limit must be a positive number of seconds, not {seconds!r}")
        self._clock = clock
        self.seconds = float(seconds)
        self.started = clock() if started is None else float(started)
        self.end = self.started + self.seconds
        self.reserved: dict[str, float] = {}

    @classmethod
    def none(cls) -> Deadline:
        """No time limit."""
        return cls(math.inf)

    def elapsed(self) -> float:
        return self._clock() - self.started

    def reserve(self, name: str, seconds: float, *, most_share: float = 1.0) -> float:
        """Keep ``seconds`` (at most ``most_share`` of what is left now) for ``name``, out of
        :meth:`remaining`; returns the seconds kept. Reserving a name again replaces it."""
        self.reserved.pop(name, None)
        kept = max(0.0, min(float(seconds), most_share * self.remaining()))
        self.reserved[name] = kept
        return kept

    def release(self, name: str) -> None:
        """Give the seconds kept for ``name`` back (its work is about to start)."""
        self.reserved.pop(name, None)

    def remaining(self) -> float:
        """Seconds left that nobody has kept."""
        return max(0.0, self.end - sum(self.reserved.values()) - self._clock())

    def at(self) -> float:
        """The ``perf_counter`` time by which the unreserved time is used up."""
        return self.end - sum(self.reserved.values())

    def share(self, fraction: float, *, least: float = 0.0) -> float:
        """``fraction`` of :meth:`remaining`, at least ``least`` seconds."""
        return max(least, fraction * self.remaining())

    def split(self, parts: int, *, most: float = math.inf, used: float = 1.0) -> Iterator[float]:
        """The seconds of each of ``parts`` turns: each, when asked for, gets an equal part of
        what is left then (so a turn that ends early leaves its time to the next), ``used``
        of it (the rest absorbs a turn that ends late), ``most`` seconds at most.

        >>> clock = iter([0.0, 0.0, 1.0, 7.0]).__next__
        >>> turns = Deadline(10.0, clock=clock).split(3)
        >>> next(turns), next(turns), next(turns)  # the first turn ended after 1 s, the second after 6
        (3.3333333333333335, 4.5, 3.0)
        """
        for left in range(parts, 0, -1):
            yield max(0.0, min(most, used * self.remaining() / left))

    def __repr__(self) -> str:
        kept = ", ".join(f"{k}={v:.3g}" for k, v in self.reserved.items())
        return f"Deadline({self.seconds:g} s, {self.remaining():.3g} s left{', kept: ' + kept if kept else ''})"
