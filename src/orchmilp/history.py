"""History: what earlier runs measured, one attempt per record (docs/spec/run-format.md).

:func:`read_history` reads JSONL history files and WfCommons traces, given as
files or folders, into one columnar :class:`History`. Bad lines are skipped
with an :class:`~orchmilp.errors.OrchmilpWarning` naming the file and line; a
file with no readable line is an :class:`~orchmilp.errors.InvalidHistory`.
:func:`append_attempt` writes one line the way the spec asks (whole, then flushed).
"""

from __future__ import annotations

import json
import math
import os
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InvalidHistory, OrchmilpWarning, RunError
from .io.names import printable
from .statuses import FINAL, AgentStatus

__all__ = ["History", "STATUSES", "RUN_RECORD", "read_history", "history_files", "looks_like_trace", "append_attempt"]

STATUSES = tuple(str(s) for s in FINAL)  # the values of a line's "status"
_REQUIRED = ("agent", "start", "finish", "status")
#: a run's own record beside its logs (``runs/RUN/run.json``): what was planned and predicted
RUN_RECORD = "run.json"
#: the fields of a line that list files the attempt touched (docs/isolation.md)
FILE_FIELDS = ("wrote", "read", "undeclared")


@dataclass(frozen=True, eq=False)
class History:
    """Attempts as columns (index ``i`` is one attempt); durations are ``finish - start``."""

    run: tuple[str, ...]
    workflow: tuple[str | None, ...]
    agent: tuple[str, ...]
    kind: tuple[str, ...]
    status: tuple[str, ...]
    start: np.ndarray
    finish: np.ndarray
    features: tuple[Mapping[str, float], ...]
    host: tuple[str | None, ...]
    workflow_path: tuple[str | None, ...] = ()  # the workflow file a run started from (resolved), if recorded
    workflow_hash: tuple[str | None, ...] = ()  # and the SHA-256 of its content (empty: none recorded)
    mode: tuple[str | None, ...] = ()  # the mode (model) the attempt ran in, with model choice
    usage: tuple[Mapping[str, float], ...] = ()  # what the attempt reported it consumed (tokens, usd)
    #: the files the attempt was seen to touch: "wrote", "read", "undeclared" -> paths, and
    #: "conflict" -> (why its changes were not merged,) (docs/isolation.md)
    files: tuple[Mapping[str, tuple[str, ...]], ...] = ()

    def __post_init__(self) -> None:
        for name in ("workflow_path", "workflow_hash", "mode"):
            if len(getattr(self, name)) != len(self.agent):
                object.__setattr__(self, name, (None,) * len(self.agent))
        for name in ("usage", "files"):
            if len(getattr(self, name)) != len(self.agent):
                object.__setattr__(self, name, ({},) * len(self.agent))

    def __len__(self) -> int:
        return len(self.agent)

    @property
    def duration(self) -> np.ndarray:
        return self.finish - self.start

    @property
    def runs(self) -> list[str]:
        """Distinct runs in order of first appearance."""
        return list(dict.fromkeys(self.run))

    def select(self, mask: np.ndarray) -> History:
        """The attempts where ``mask`` holds."""
        idx = np.flatnonzero(mask)
        pick = lambda col: tuple(col[i] for i in idx)  # noqa: E731
        return History(
            run=pick(self.run),
            workflow=pick(self.workflow),
            agent=pick(self.agent),
            kind=pick(self.kind),
            status=pick(self.status),
            start=self.start[idx],
            finish=self.finish[idx],
            features=pick(self.features),
            host=pick(self.host),
            workflow_path=pick(self.workflow_path),
            workflow_hash=pick(self.workflow_hash),
            mode=pick(self.mode),
            usage=pick(self.usage),
            files=pick(self.files),
        )

    def ok(self) -> History:
        """The attempts that finished ``ok``: the run times a model learns from."""
        return self.select(np.asarray([s == AgentStatus.OK for s in self.status], bool))

    def without_run(self, run: str) -> History:
        return self.select(np.asarray([r != run for r in self.run], bool))

    def only_run(self, run: str) -> History:
        return self.select(np.asarray([r == run for r in self.run], bool))

    def medians_by_host(self) -> dict[str, dict[str, tuple[int, float]]]:
        """kind -> host -> (ok attempts, median run time), for the kinds whose ok attempts ran on
        two or more named hosts (hosts fastest first): where a task lands can matter more than
        anything the model sees (a machine waiting on its disk)."""
        ok = self.ok()
        times: dict[str, dict[str, list[float]]] = {}
        for kind, host, t in zip(ok.kind, ok.host, ok.duration.tolist()):
            if host is not None:
                times.setdefault(kind, {}).setdefault(host, []).append(t)
        return {
            kind: dict(sorted(((h, (len(v), float(np.median(v)))) for h, v in hosts.items()), key=lambda x: x[1][1]))
            for kind, hosts in sorted(times.items())
            if len(hosts) >= 2
        }

    @classmethod
    def empty(cls) -> History:
        return cls((), (), (), (), (), np.zeros(0), np.zeros(0), (), (), (), (), (), (), ())

    @classmethod
    def concat(cls, parts: Iterable[History]) -> History:
        parts = list(parts)
        if not parts:
            return cls.empty()
        join = lambda name: tuple(x for p in parts for x in getattr(p, name))  # noqa: E731
        return cls(
            run=join("run"),
            workflow=join("workflow"),
            agent=join("agent"),
            kind=join("kind"),
            status=join("status"),
            start=np.concatenate([p.start for p in parts]),
            finish=np.concatenate([p.finish for p in parts]),
            features=join("features"),
            host=join("host"),
            workflow_path=join("workflow_path"),
            workflow_hash=join("workflow_hash"),
            mode=join("mode"),
            usage=join("usage"),
            files=join("files"),
        )


def history_files(paths: Iterable[str | Path]) -> list[Path]:
    """The files named, and under each folder every ``.jsonl`` and ``.json`` file (sorted)."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix.lower() in (".jsonl", ".json") and p.is_file())
            if not found:
                raise InvalidHistory(f"{path}: no history files (.jsonl, .json) in this folder")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise InvalidHistory(f"{path}: no such file or folder")
    return files


def read_history(paths: str | Path | Iterable[str | Path]) -> History:
    """Read JSONL history files and WfCommons traces (files or folders) into one :class:`History`."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    paths = list(paths)
    named = {Path(p) for p in paths if not Path(p).is_dir()}
    parts = []
    for path in history_files(paths):
        if path.suffix.lower() == ".json":
            if path not in named and not looks_like_trace(path):
                warnings.warn(f"{path}: not a WfCommons trace; skipped", OrchmilpWarning, stacklevel=2)
                continue
            parts.append(_read_trace(path))
        else:
            parts.append(_read_jsonl(path))
    if not parts:
        raise InvalidHistory("no history in " + ", ".join(str(p) for p in paths))
    return History.concat(parts)


def looks_like_trace(path: Path) -> bool:
    """A .json file found in a folder: a trace, or something else (a workflow, a plan)?"""
    from .io.wfcommons import is_trace

    try:
        return is_trace(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return False


def _read_trace(path: Path) -> History:
    from .io.wfcommons import read_trace

    trace = read_trace(path)
    n = len(trace.tasks)
    run = f"{trace.name}"
    return History(
        run=(run,) * n,
        workflow=(trace.name,) * n,
        agent=tuple(t.id for t in trace.tasks),
        kind=tuple(t.kind for t in trace.tasks),
        status=(str(AgentStatus.OK),) * n,
        start=np.zeros(n),
        finish=np.asarray([t.runtime for t in trace.tasks], float),
        features=tuple(
            {"input_bytes": float(t.input_bytes), "output_bytes": float(t.output_bytes)} for t in trace.tasks
        ),
        host=tuple(t.machine for t in trace.tasks),
        workflow_path=(None,) * n,
        workflow_hash=(None,) * n,
    )


def _bad_line(path: Path, lineno: int, why: str) -> None:
    warnings.warn(f"{path}:{lineno}: {why}; line skipped", OrchmilpWarning, stacklevel=4)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _lines(path: Path) -> Iterable[tuple[int, bytes, bool]]:
    """(line number, line, whether it ended with a newline), read as a stream."""
    try:
        with open(path, "rb") as handle:
            for lineno, raw in enumerate(handle, 1):
                yield lineno, raw, raw.endswith(b"\n")
    except OSError as err:
        raise InvalidHistory(f"{path}: cannot read: {err.strerror or err}") from None


def _text(value: Any) -> bool:
    return value is None or isinstance(value, str)


def _read_jsonl(path: Path) -> History:
    names = ("run", "workflow", "agent", "kind", "status", "start", "finish", "workflow_path", "workflow_hash", "mode")
    usages: list[Mapping[str, float]] = []
    seen: list[Mapping[str, tuple[str, ...]]] = []
    no_files: Mapping[str, tuple[str, ...]] = {}
    cols: dict[str, list] = {k: [] for k in names}
    features: list[Mapping[str, float]] = []
    hosts: list[str | None] = []
    loads = json.loads
    no_features: Mapping[str, float] = {}
    for lineno, raw, whole in _lines(path):
        if not raw.strip():
            continue
        try:
            rec = loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            _bad_line(path, lineno, "not UTF-8 text")
            continue
        except (ValueError, RecursionError):
            _bad_line(path, lineno, "not JSON" if whole else "torn last line (a run still writing?)")
            continue
        if not isinstance(rec, dict):
            _bad_line(path, lineno, "not a JSON object")
            continue
        missing = [k for k in _REQUIRED if k not in rec]
        if missing:
            _bad_line(path, lineno, f"missing field '{missing[0]}'")
            continue
        agent, status = rec["agent"], rec["status"]
        start, finish = _number(rec["start"]), _number(rec["finish"])
        if not isinstance(agent, str) or not agent:
            _bad_line(path, lineno, "agent must be a non-empty string")
            continue
        if not isinstance(status, str) or status not in STATUSES:
            _bad_line(path, lineno, f"status {printable(status)[:40]!r} is not one of {', '.join(STATUSES)}")
            continue
        if start is None or finish is None:
            field = "start" if start is None else "finish"
            _bad_line(path, lineno, f"{field} = {json.dumps(rec[field])[:40]} is not a finite number")
            continue
        if finish < start:
            _bad_line(path, lineno, f"finish {finish:g} is before start {start:g}")
            continue
        if not math.isfinite(finish - start):
            _bad_line(path, lineno, "finish - start is not a finite number of seconds")
            continue
        bad_type = next(
            (
                k
                for k in ("run", "host", "workflow", "kind", "workflow_path", "workflow_hash", "mode")
                if not _text(rec.get(k))
            ),
            None,
        )
        if bad_type is not None:
            _bad_line(path, lineno, f"{bad_type} must be a string")
            continue
        feats = rec.get("features") or no_features
        if not isinstance(feats, dict) or any(_number(v) is None or v < 0 for v in feats.values()):
            _bad_line(path, lineno, "features must map names to finite numbers >= 0")
            continue
        used = rec.get("usage") or no_features
        if not isinstance(used, dict) or any(_number(v) is None or v < 0 for v in used.values()):
            _bad_line(path, lineno, "usage must map names to finite numbers >= 0")
            continue
        touched = {k: rec[k] for k in FILE_FIELDS if k in rec}
        if any(not isinstance(v, list) or not all(isinstance(p, str) for p in v) for v in touched.values()):
            _bad_line(path, lineno, f"{', '.join(touched)} must be lists of paths")
            continue
        if isinstance(rec.get("conflict"), str):
            touched["conflict"] = [rec["conflict"]]
        seen.append({k: tuple(v) for k, v in touched.items()} if touched else no_files)
        run = rec.get("run")
        cols["run"].append(str(run) if run is not None else f"{path.name}:{lineno}")
        cols["workflow"].append(rec.get("workflow"))
        cols["agent"].append(agent)
        kind = rec.get("kind")
        cols["kind"].append(kind if kind else agent)
        cols["status"].append(status)
        cols["start"].append(start)
        cols["finish"].append(finish)
        cols["workflow_path"].append(rec.get("workflow_path"))
        cols["workflow_hash"].append(rec.get("workflow_hash"))
        cols["mode"].append(rec.get("mode"))
        usages.append(used)
        features.append(feats)
        hosts.append(rec.get("host"))
    if not cols["agent"]:
        raise InvalidHistory(f"{path}: no readable history line")
    return History(
        run=tuple(cols["run"]),
        workflow=tuple(cols["workflow"]),
        agent=tuple(cols["agent"]),
        kind=tuple(cols["kind"]),
        status=tuple(cols["status"]),
        start=np.asarray(cols["start"], float),
        finish=np.asarray(cols["finish"], float),
        features=tuple(features),
        host=tuple(hosts),
        workflow_path=tuple(cols["workflow_path"]),
        workflow_hash=tuple(cols["workflow_hash"]),
        mode=tuple(cols["mode"]),
        usage=tuple(usages),
        files=tuple(seen),
    )


def append_attempt(path: str | Path, record: Mapping[str, Any]) -> None:
    """Append one history line: one ``write`` of the whole line, then flush and fsync,
    so that concurrent writers (O_APPEND) never interleave and a crash loses nothing written.
    A short write (a full disk) is undone when nothing was appended after it, and raised as
    :class:`~orchmilp.errors.RunError`, as is any other failure to write."""
    line = (json.dumps(record, separators=(", ", ": ")) + "\n").encode("utf-8")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    except OSError as err:
        raise RunError(f"{path}: cannot write the history: {err.strerror or err}") from None
    try:
        written = os.write(fd, line)
        if written != len(line):
            ours = os.lseek(fd, 0, os.SEEK_CUR)  # O_APPEND: the end of what this write put there
            if written and os.fstat(fd).st_size == ours:  # nothing appended after our fragment
                os.ftruncate(fd, ours - written)
            raise RunError(
                f"{path}: cannot write the history: only {written} of {len(line)} bytes written (disk full?)"
            )
        os.fsync(fd)
    except OSError as err:
        raise RunError(f"{path}: cannot write the history: {err.strerror or err}") from None
    finally:
        os.close(fd)
