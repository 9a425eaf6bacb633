"""Rate limits at run time: an attempt that failed because its model's rate bucket was full
(an exit code or an output pattern the workflow declares, ``rate_limit`` of an agent or a
mode; docs/format-extensions.md) is not a failure. Every agent that uses that bucket is held
for the time the answer asks (``retry-after``) or a backoff, then the attempt is retried."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InvalidWorkflow
from ..io.names import printable

__all__ = [
    "RateLimit",
    "rate_limits",
    "rate_limit_of",
    "retry_after",
    "MAX_RATE_LIMITED",
    "FALLBACK_AFTER",
    "LOG_TAIL_BYTES",
]

#: Rate-limited attempts of one agent after which the next one counts as an ordinary failure
MAX_RATE_LIMITED = 10
#: Rate-limited attempts in a row after which an agent with ``fallback`` takes its next mode
FALLBACK_AFTER = 2
#: How much of the end of an attempt's log is searched for the pattern and retry-after
LOG_TAIL_BYTES = 65536
_RETRY_AFTER = re.compile(r"retry[-_ ]?after\D{0,5}?(\d+(?:\.\d+)?)", re.IGNORECASE)


@dataclass(frozen=True)
class RateLimit:
    """How one agent (in its chosen mode) says it was rate limited, and its buckets (resources)."""

    exit_codes: frozenset[int]
    pattern: re.Pattern[str] | None
    buckets: tuple[str, ...]
    fallback: bool = False  # after FALLBACK_AFTER rate-limited attempts in a row: the next mode

    def hit(self, exit_code: int | None, output: str) -> bool:
        return (exit_code is not None and exit_code in self.exit_codes) or (
            self.pattern is not None and self.pattern.search(output) is not None
        )


def rate_limits(agents: list[dict[str, Any]], mode_uses: list[dict[str, float] | None]) -> tuple[RateLimit | None, ...]:
    """Each agent's :class:`RateLimit` (None without ``rate_limit``), from the workflow in its
    chosen modes; ``mode_uses``: the chosen mode's own ``uses`` (None for agents without
    modes), whose resources are the buckets unless ``rate_limit.resources`` names them."""
    return tuple(
        rate_limit_of(a["id"], a.get("rate_limit"), a.get("uses", {}), own) for a, own in zip(agents, mode_uses)
    )


def rate_limit_of(agent_id: str, spec: dict | None, uses: dict, own: dict | None) -> RateLimit | None:
    """One agent's :class:`RateLimit` from its ``rate_limit`` as written (None: none declared);
    ``own``: its mode's own uses (the default buckets), else ``uses``."""
    if spec is None:
        return None
    pattern = None
    if spec.get("pattern"):
        try:
            pattern = re.compile(spec["pattern"])
        except re.error as err:
            raise InvalidWorkflow(
                f"agent '{printable(agent_id)}': rate_limit.pattern is not a regular expression: {err}"
            ) from None
    buckets = spec.get("resources") or list(own if own is not None else uses)
    return RateLimit(frozenset(spec.get("exit_codes", ())), pattern, tuple(buckets), bool(spec.get("fallback", False)))


def retry_after(output: str) -> float | None:
    """The seconds a rate-limit answer asks to wait (``retry-after: 2``, ``Retry after 2 s``)."""
    found = _RETRY_AFTER.findall(output)
    return float(found[-1]) if found else None


def attempt_output(log: Path) -> str:
    """The end of an agent's log after its last attempt's header line."""
    try:
        with open(log, "rb") as handle:
            handle.seek(0, 2)
            size = handle.tell()
            handle.seek(max(0, size - LOG_TAIL_BYTES))
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return ""
    head = text.rfind("--- orchmilp: attempt ")
    if head < 0:
        return text
    body = text.find("\n", head)  # the header names the command: not the agent's output
    return text[body + 1 :] if body >= 0 else ""
