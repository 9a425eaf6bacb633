"""Reading JSON files with one-line errors; writing files atomically (a temporary file in
the same folder, then a rename)."""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

__all__ = [
    "read_json",
    "loads_json",
    "write_text_atomic",
    "write_json_atomic",
    "write_bytes_atomic",
    "write_csv_atomic",
]


def read_json(path: str | Path, error: type[Exception], **options: Any) -> Any:
    """The parsed JSON of the file ``path``; a missing, unreadable or malformed file raises
    ``error`` with one line naming it (and the line and column). ``options`` go to ``json.loads``."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise error(f"{path}: cannot read: {err}") from None
    return loads_json(text, str(path), error, **options)


#: deepest nesting of arrays and objects read (the formats need 5; deeper is refused, not a RecursionError)
MAX_DEPTH = 64


def loads_json(text: str, source: str, error: type[Exception], **options: Any) -> Any:
    """``json.loads`` with one-line ``error``s naming ``source``: a syntax error (line and column),
    a key repeated in one object, nesting deeper than :data:`MAX_DEPTH`, a string that is not
    valid Unicode (an unpaired surrogate escape)."""

    def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in pairs:
            if key in out:
                raise error(f"{source}: the key {json.dumps(key)} appears twice in one object")
            out[key] = value
        return out

    try:
        data = json.loads(text, object_pairs_hook=unique_keys, **options)
    except json.JSONDecodeError as err:
        raise error(f"{source}: malformed JSON at line {err.lineno}, column {err.colno}: {err.msg}") from None
    except RecursionError:
        raise error(f"{source}: nested deeper than {MAX_DEPTH} levels") from None
    _check_tree(data, source, error)
    return data


def _check_tree(data: Any, source: str, error: type[Exception]) -> None:
    """Depth and Unicode of every value, without recursion."""
    stack = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise error(f"{source}: the string {json.dumps(value)[:60]} is not valid Unicode") from None
        elif isinstance(value, (dict, list)):
            if depth >= MAX_DEPTH:
                raise error(f"{source}: nested deeper than {MAX_DEPTH} levels")
            items = list(value.items()) if isinstance(value, dict) else [(None, v) for v in value]
            for key, item in items:
                if key is not None:
                    stack.append((key, depth + 1))
                stack.append((item, depth + 1))


def _new_file_mode(path: Path) -> int:
    """The mode ``open(path, "w")`` would give: the old file's, or 0o666 less the umask."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    mode = _new_file_mode(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        os.fchmod(fd, mode)  # mkstemp makes 0o600 files
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_text_atomic(path: str | Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: str | Path, obj: Any) -> None:
    write_text_atomic(path, json.dumps(obj, indent=2) + "\n")


def write_csv_atomic(path: str | Path, rows: list[dict[str, Any]]) -> None:
    """One CSV line per row; the columns are every key, in order of first appearance."""
    columns = list(dict.fromkeys(key for row in rows for key in row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    write_text_atomic(path, buffer.getvalue())
