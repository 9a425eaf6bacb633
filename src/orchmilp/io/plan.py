"""Reading plan files (docs/spec/plan-format.md) as plain dicts, for the checker, export,
prediction and execution; errors are one line naming the file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import InvalidPlan

__all__ = ["read_plan"]


def read_plan(source: str | Path | dict[str, Any]) -> dict[str, Any]:
    """The plan object of a file (or the dict given)."""
    if isinstance(source, dict):
        return source
    try:
        data = json.loads(Path(source).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidPlan(f"{source}: no such file") from None
    except json.JSONDecodeError as err:
        raise InvalidPlan(f"{source}: malformed JSON at line {err.lineno}, column {err.colno}: {err.msg}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise InvalidPlan(f"{source}: cannot read: {err}") from None
    if not isinstance(data, dict):
        raise InvalidPlan(f"{source}: a plan must be a JSON object")
    return data
