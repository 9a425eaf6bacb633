"""Workflow paths as the files they lead to on disk: two spellings of one file are one file.

A workflow read from a file has its ``reads`` and ``writes`` resolved against the file's
folder before planning and checking: ``./a``, ``a`` and a symbolic link that leads to
``a`` all become ``a``; on a case-insensitive file system, ``A.txt`` and ``a.txt`` become
one (lower-cased). A path that does not exist yet is resolved as far as its folders exist;
a path whose link leads outside the folder is kept as written (docs/isolation.md).
"""

from __future__ import annotations

import copy
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..model.paths import normalize_path

__all__ = ["on_disk", "resolve_declared_paths", "case_insensitive"]


@lru_cache(maxsize=64)
def case_insensitive(folder: str) -> bool:
    """The file system of ``folder`` ignores case (checked on the folder's own name)."""
    name = os.path.basename(folder)
    swapped = os.path.join(os.path.dirname(folder), name.swapcase())
    if name == name.swapcase() or not os.path.exists(swapped):
        return False
    try:
        return os.path.samefile(folder, swapped)
    except OSError:
        return False


def on_disk(raw: str, base: Path, fold_case: bool = False) -> str:
    """The path ``raw`` (a workflow path) leads to, relative to ``base``; ``raw`` as written when
    it is invalid (the validator says why) or leads outside ``base``.

    >>> on_disk("./src//a.py", Path("/nonexistent"))
    'src/a.py'
    """
    try:
        normal = normalize_path(raw)
    except ValueError:
        return raw
    root = os.path.realpath(base)
    real = os.path.realpath(os.path.join(root, normal))
    if real != root and not real.startswith(root + os.sep):
        return raw  # a link out of the workflow's folder: kept as written
    rel = os.path.relpath(real, root).replace(os.sep, "/")
    if rel == ".":
        return "./"  # the folder itself (an empty path is not a valid spelling of it)
    rel += "/" if normal.endswith("/") or normal == "" else ""
    return rel.lower() if fold_case else rel


def resolve_declared_paths(workflow: Any, base: Path) -> Any:
    """``workflow`` with every agent's (and every mode's) reads and writes as :func:`on_disk`
    gives them (a copy; the same object when nothing changes)."""
    if not isinstance(workflow, dict) or not isinstance(workflow.get("agents"), list):
        return workflow
    fold = case_insensitive(os.path.realpath(base))
    changed = copy.deepcopy(workflow)
    differs = False
    holders = []
    seen: dict[str, str] = {}  # a path named by many agents is resolved once
    for agent in changed["agents"]:
        if isinstance(agent, dict):
            holders.append(agent)
            modes = agent.get("modes")
            if isinstance(modes, list):  # the schema checks its shape later
                holders.extend(m for m in modes if isinstance(m, dict))
    for holder in holders:
        for key in ("reads", "writes"):
            paths = holder.get(key)
            if not isinstance(paths, list):
                continue
            new = []
            for p in paths:
                if isinstance(p, str) and p not in seen:
                    seen[p] = on_disk(p, base, fold)
                new.append(seen[p] if isinstance(p, str) else p)
            if new != paths:
                holder[key] = new
                differs = True
    return changed if differs else workflow
