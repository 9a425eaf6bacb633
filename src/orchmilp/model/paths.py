"""File paths of the workflow format and the conflicts they cause.

Paths are ``/``-separated and relative; a path ending in ``/`` is a folder and
covers every path below it. Two agents conflict when one writes a path that
overlaps a path the other reads or writes (workflow-format.md, "File
conflicts"). Normalised folders keep their trailing ``/``; the workflow root
(``./``) normalises to the empty string, which covers every path.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import numpy as np

__all__ = [
    "normalize_path",
    "overlaps",
    "Conflict",
    "FileLock",
    "file_conflicts",
    "file_locks",
    "display_path",
]


def normalize_path(raw: str) -> str:
    """Normalise a workflow path, or raise ``ValueError`` saying why it is invalid.

    >>> normalize_path("./src//a.py"), normalize_path("docs/./"), normalize_path("./")
    ('src/a.py', 'docs/', '')
    """
    if raw == "":
        raise ValueError("is empty")
    if raw.startswith("/") or raw.startswith("\\") or (len(raw) > 1 and raw[1] == ":"):
        raise ValueError("is an absolute path")
    parts = raw.split("/")
    if ".." in parts:
        raise ValueError("contains '..'")
    is_folder = parts[-1] in ("", ".")
    kept = [p for p in parts if p not in ("", ".")]
    if not kept:
        return ""
    return "/".join(kept) + ("/" if is_folder else "")


def display_path(path: str) -> str:
    """The path as users write it (the root shows as ``./``)."""
    return path or "./"


def overlaps(a: str, b: str) -> bool:
    """True when normalised paths ``a`` and ``b`` are equal or one is a folder covering the other.

    >>> overlaps("src/", "src/a.py"), overlaps("src/a.py", "src/ab.py")
    (True, False)
    """
    if a == b:
        return True
    if (a == "" or a.endswith("/")) and b.startswith(a):
        return True
    return (b == "" or b.endswith("/")) and a.startswith(b)


@dataclass(frozen=True)
class Conflict:
    """Agents ``a`` < ``b`` (indices) may not overlap in time: one writes
    ``path_a`` or ``path_b`` and the paths overlap."""

    a: int
    b: int
    path_a: str
    path_b: str


@dataclass(frozen=True)
class FileLock:
    """One exact cumulative encoding of the conflicts caused by a written path.

    ``writers`` write exactly ``path``; ``others`` touch a path overlapping it.
    With capacity ``max(1, len(others))``, a writer taking the whole capacity and
    every other agent one unit, the lock forbids exactly the pairs writer-writer
    and writer-other and allows all ``others`` together.
    """

    path: str
    writers: tuple[int, ...]
    others: tuple[int, ...]

    @property
    def capacity(self) -> int:
        return max(1, len(self.others))

    def usage(self, n: int) -> np.ndarray:
        """Each of ``n`` agents' use of the lock: the capacity for a writer, 1 for the others."""
        column = np.zeros(n)
        column[list(self.writers)] = self.capacity
        column[list(self.others)] = 1.0
        return column


def _overlapping_keys(path: str, sorted_keys: list[str], key_set: set[str]) -> list[str]:
    """All keys overlapping ``path``: itself, the folders above it, and, for a folder, everything below."""
    found = []
    if "" in key_set:
        found.append("")
    stop = len(path) - 1 if path.endswith("/") else len(path)
    for i in range(stop):
        if path[i] == "/" and path[: i + 1] in key_set:
            found.append(path[: i + 1])
    if path and path in key_set:
        found.append(path)
    if path == "" or path.endswith("/"):
        lo = bisect.bisect_right(sorted_keys, path)
        hi = bisect.bisect_left(sorted_keys, path + "\U0010ffff")
        found.extend(sorted_keys[lo:hi])
    return found


def _touched(reads: list[tuple[str, ...]], writes: list[tuple[str, ...]]):
    """Writers and touchers (readers or writers) of each path, and the paths sorted."""
    writers: dict[str, set[int]] = {}
    touchers: dict[str, set[int]] = {}
    for agent, paths in enumerate(writes):
        for p in paths:
            writers.setdefault(p, set()).add(agent)
            touchers.setdefault(p, set()).add(agent)
    for agent, paths in enumerate(reads):
        for p in paths:
            touchers.setdefault(p, set()).add(agent)
    sorted_keys = sorted(touchers)
    return writers, touchers, sorted_keys, set(sorted_keys)


def file_locks(reads: list[tuple[str, ...]], writes: list[tuple[str, ...]]) -> list[FileLock]:
    """The exact file locks for agents' normalised read and write paths: linear in the
    agents per path, where the conflicting pairs they encode grow with its square.

    >>> [(l.path, l.writers, l.others) for l in file_locks([("src/",), ("src/",), ()], [(), (), ("src/a.py",)])]
    [('src/a.py', (2,), (0, 1))]
    """
    writers, touchers, sorted_keys, key_set = _touched(reads, writes)
    locks: dict[tuple[tuple[int, ...], tuple[int, ...]], FileLock] = {}
    for p in sorted(writers):
        group: set[int] = set()
        for q in _overlapping_keys(p, sorted_keys, key_set):
            group |= touchers[q]
        lock_writers = tuple(sorted(writers[p]))
        others = tuple(sorted(group - writers[p]))
        if len(lock_writers) + len(others) >= 2 and (lock_writers, others) not in locks:
            locks[(lock_writers, others)] = FileLock(p, lock_writers, others)
    return list(locks.values())


def file_conflicts(reads: list[tuple[str, ...]], writes: list[tuple[str, ...]]) -> list[Conflict]:
    """Every conflicting pair of agents, with the two paths that make it (sorted by agents).

    >>> [(c.a, c.b, c.path_a, c.path_b) for c in file_conflicts([("src/",), ("src/",), ()], [(), (), ("src/a.py",)])]
    [(0, 2, 'src/', 'src/a.py'), (1, 2, 'src/', 'src/a.py')]
    """
    writers, touchers, sorted_keys, key_set = _touched(reads, writes)
    pairs: dict[tuple[int, int], Conflict] = {}
    for p in sorted(writers):
        for q in _overlapping_keys(p, sorted_keys, key_set):
            for w in writers[p]:
                for other in touchers[q]:
                    if other == w:
                        continue
                    key = (min(w, other), max(w, other))
                    if key not in pairs:
                        path_a, path_b = (p, q) if w < other else (q, p)
                        pairs[key] = Conflict(key[0], key[1], path_a, path_b)
    return [pairs[k] for k in sorted(pairs)]
