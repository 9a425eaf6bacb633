"""What an attempt consumed (tokens, usd, ...), as the agent reports it.

Two sources, added up: the JSON lines the agent writes to the file named by ``ORCHMILP_USAGE``
(each an object of amounts, e.g. ``{"tokens": 1200, "usd": 0.02}``), and the final JSON of
``claude -p --output-format json`` in its output (``usage``: the token counts, and
``total_cost_usd``)."""

from __future__ import annotations

import json
import math
from pathlib import Path

__all__ = ["attempt_usage", "attempt_rusage", "usage_file"]

#: the supervisor's last log line (run/supervisor.py): peak memory and CPU time
RUSAGE_MARK = "--- orchmilp: rusage "

#: Token counts of ``claude -p --output-format json``'s ``usage`` that make up ``tokens``
CLAUDE_TOKEN_FIELDS = ("input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")


def usage_file(log: Path, attempt: int) -> Path:
    """Where an attempt reports its usage (``ORCHMILP_USAGE``), beside its log."""
    return log.with_name(f"{log.stem}.usage-{attempt}.jsonl")


def _amounts(data) -> dict[str, float]:
    if not isinstance(data, dict):
        return {}
    return {
        str(k): float(v)
        for k, v in data.items()
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v >= 0
    }


def _claude(output: str) -> dict[str, float]:
    """The usage of the last ``claude -p --output-format json`` result in ``output``."""
    for line in reversed(output.splitlines()):
        line = line.strip()
        if not (line.startswith("{") and ("total_cost_usd" in line or '"usage"' in line)):
            continue
        try:
            data = json.loads(line)
        except ValueError:
            continue
        out: dict[str, float] = {}
        usage = _amounts(data.get("usage"))
        if any(k in usage for k in CLAUDE_TOKEN_FIELDS):
            out["tokens"] = sum(usage.get(k, 0.0) for k in CLAUDE_TOKEN_FIELDS)
        cost = _amounts({"usd": data.get("total_cost_usd")})
        out.update(cost)
        return out
    return {}


def attempt_usage(log: Path, attempt: int, output: str) -> dict[str, float]:
    """What one attempt reported it consumed (empty when it reported nothing); ``output``: the
    attempt's own output (:func:`~orchmilp.run.rate_limits.attempt_output` of ``log``)."""
    total: dict[str, float] = {}
    path = usage_file(log, attempt)
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        lines = []
    for line in lines:
        try:
            amounts = _amounts(json.loads(line))
        except ValueError:
            continue
        for k, v in amounts.items():
            total[k] = total.get(k, 0.0) + v
    for k, v in _claude(output).items():
        total[k] = total.get(k, 0.0) + v
    return {k: round(v, 6) for k, v in total.items()}


def attempt_rusage(output: str) -> dict[str, float]:
    """The peak memory (MiB, of the largest process) and CPU time (s, of all) of an attempt's
    processes, from its supervisor's last line in its output (empty where there is none)."""
    at = output.rfind(RUSAGE_MARK)
    if at < 0:
        return {}
    try:
        return _amounts(json.loads(output[at + len(RUSAGE_MARK) :].splitlines()[0]))
    except (ValueError, IndexError):
        return {}
