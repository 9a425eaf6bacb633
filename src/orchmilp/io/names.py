"""Strings of a workflow made safe for the places they reach outside orchmilp.

- :func:`file_names`: one distinct file-name-safe name per agent id (logs, export state files,
  make targets). Ids that clean up to the same name, differ only in case, or are long get a
  hash of the id appended, so two agents never share a file.
- :func:`printable`: a one-line, ASCII-only form of any string for messages and comments
  (newlines, terminal escape codes and other control characters are shown escaped).
- :func:`ansi_c_quote`: a bash ``$'...'`` word of printable ASCII that stands for the string
  exactly, multi-line commands included (what a Makefile recipe line can hold).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable

__all__ = ["file_names", "file_name", "printable", "one_line", "ansi_c_quote", "MAX_NAME"]

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")
#: longest name kept as it is; longer ones are cut and get a hash
MAX_NAME = 80


def _hashed(agent_id: str, cleaned: str) -> str:
    digest = hashlib.sha256(agent_id.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    stem = cleaned[: MAX_NAME - 11].lstrip(".-") or "agent"
    return f"{stem}-{digest}"


def file_name(agent_id: str) -> str:
    """The name of one id on its own: the id when it is already safe, else a cleaned form with a hash."""
    cleaned = _UNSAFE.sub("_", agent_id)
    if cleaned == agent_id and 0 < len(agent_id) <= MAX_NAME and not agent_id.startswith((".", "-")):
        return agent_id
    return _hashed(agent_id, cleaned)


def file_names(ids: Iterable[str]) -> dict[str, str]:
    """Distinct file-name-safe names for ``ids``, also distinct when case is ignored.

    >>> file_names(["a/b", "a_b", "a b"])["a_b"]
    'a_b'
    >>> len(set(file_names(["a/b", "a_b", "a b", "A_B"]).values()))
    4
    """
    ids = list(ids)
    names = {a: file_name(a) for a in ids}
    folded: dict[str, list[str]] = {}
    for a, name in names.items():
        folded.setdefault(name.lower(), []).append(a)
    for group in folded.values():
        if len(group) > 1:
            for a in group:
                names[a] = _hashed(a, _UNSAFE.sub("_", a))
    if len({n.lower() for n in names.values()}) != len(names):  # an id written as another's hashed name
        raise ValueError("agent ids whose file names coincide even with a hash")
    return names


def printable(text: object) -> str:
    """``text`` on one line of printable ASCII: control characters, quotes and non-ASCII escaped.

    >>> printable("a\\nb\\x1b[31m")
    'a\\\\nb\\\\u001b[31m'
    """
    return json.dumps(str(text))[1:-1]


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def one_line(text: object) -> str:
    """``text`` with control characters (newlines, terminal escapes) shown escaped; other Unicode kept.

    >>> one_line("agent 'a\\nb\\x1b[31m' é")
    "agent 'a\\\\nb\\\\x1b[31m' é"
    """
    named = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
    return _CONTROL.sub(
        lambda m: named.get(
            m.group(), f"\\x{ord(m.group()):02x}" if ord(m.group()) < 256 else f"\\u{ord(m.group()):04x}"
        ),
        str(text),
    )


def ansi_c_quote(text: str) -> str:
    """A bash ``$'...'`` word for ``text``: every byte that is not printable ASCII as ``\\xHH``.

    >>> ansi_c_quote("echo 'hi'\\nls")
    "$'echo \\\\'hi\\\\'\\\\x0als'"
    """
    out = []
    for byte in text.encode("utf-8", "surrogateescape"):
        ch = chr(byte)
        if ch in "\\'":
            out.append("\\" + ch)
        elif 0x20 <= byte < 0x7F:
            out.append(ch)
        else:
            out.append(f"\\x{byte:02x}")
    return "$'" + "".join(out) + "'"
