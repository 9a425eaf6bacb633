"""Executable plans: a bash script, a Makefile, or a JSON run list.

Each agent starts as soon as everything in its ``waits_for`` has finished
(no barrier per group), so the partial order of the plan is kept and a run
stays valid when real durations differ from the estimates. Agents without a
``command`` are no-ops. The bash script honours ``timeout`` (SIGTERM, SIGKILL
5 s later) and ``retries`` (backoff 1 s, doubling), logs a timestamp at each
start and finish, stops everything at the first failure and exits non-zero:
the portable fallback of ``orchmilp run``.
"""

from __future__ import annotations

import json
import shlex
from typing import Any

from ..check import finite_number
from ..errors import InvalidPlan
from .names import ansi_c_quote, file_names, printable

__all__ = ["to_bash", "to_make", "to_run_list", "EXPORTERS"]


def _entries(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """The schedule's entries, checked field by field (one-line :class:`InvalidPlan` errors)."""
    if not isinstance(plan, dict):
        raise InvalidPlan("a plan must be a JSON object")
    schedule = plan.get("schedule")
    if not isinstance(schedule, list):
        raise InvalidPlan("plan has no 'schedule' list")
    ids = set()
    for k, entry in enumerate(schedule):
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str) or not entry["id"]:
            raise InvalidPlan(f"schedule[{k}]: missing agent id")
        where = f"agent '{printable(entry['id'])}'"
        if entry["id"] in ids:
            raise InvalidPlan(f"{where}: listed twice in the schedule")
        ids.add(entry["id"])
        for field in ("start", "finish"):
            if not finite_number(entry.get(field, 0)):
                raise InvalidPlan(f"{where}: '{field}' must be a finite number")
        waits = entry.get("waits_for", [])
        if not isinstance(waits, list) or not all(isinstance(w, str) for w in waits):
            raise InvalidPlan(f"{where}: 'waits_for' must be a list of agent ids")
        command = entry.get("command")
        if command is not None and not isinstance(command, str):
            raise InvalidPlan(f"{where}: 'command' must be a string")
        if command is not None and "\0" in command:
            raise InvalidPlan(f"{where}: 'command' holds a NUL character")
        timeout = entry.get("timeout")
        if timeout is not None and (not finite_number(timeout) or not timeout > 0):
            raise InvalidPlan(f"{where}: 'timeout' must be a positive number")
        retries = entry.get("retries", 0)
        if not isinstance(retries, int) or isinstance(retries, bool) or not 0 <= retries <= 1000:
            raise InvalidPlan(f"{where}: 'retries' must be an integer from 0 to 1000")
    for entry in schedule:
        for w in entry.get("waits_for", []):
            if w not in ids:
                raise InvalidPlan(f"agent '{printable(entry['id'])}': waits_for names unknown agent '{printable(w)}'")
    return sorted(schedule, key=lambda e: (e.get("start", 0), e["id"]))


def _names(entries: list[dict[str, Any]]) -> dict[str, str]:
    try:
        return file_names(e["id"] for e in entries)
    except ValueError as err:
        raise InvalidPlan(str(err)) from None


def _header(plan: dict[str, Any]) -> str:
    """One comment line naming the plan; every workflow string in it escaped to printable ASCII."""
    return (
        f"# orchmilp plan for {printable(plan.get('name', 'workflow'))}: makespan "
        f"{printable(plan.get('makespan'))} {printable(plan.get('time_unit', 's'))} ({printable(plan.get('status'))})"
    )


def to_bash(plan: dict[str, Any]) -> str:
    """A bash script that runs the plan with maximal overlap and fails fast."""
    entries = _entries(plan)
    names = _names(entries)
    lines = [
        "#!/usr/bin/env bash",
        _header(plan),
        "# Each agent starts when all it waits for have finished; the first failure stops the run.",
        "# Without history, live guards or resume: `orchmilp run` does those.",
        "set -u",
        "set -m  # each agent in its own process group, so a stop also stops its children",
        'STATE="$(mktemp -d)"',
        'cleanup() { for p in $(jobs -p); do kill -- -"$p" 2>/dev/null; done; rm -rf "$STATE"; }',
        "trap cleanup EXIT",
        "trap 'exit 130' INT TERM",
        "",
        "stamp() { date +%s.%N; }",
        "",
        "agent() {  # agent NAME 'WAITS FOR' TIMEOUT RETRIES COMMAND LABEL (NAME: file-safe, LABEL: printable id)",
        '  local id="$1" waits="$2" limit="$3" retries="$4" cmd="$5" label="$6" w attempt=1 code delay=1 status',
        "  for w in $waits; do",
        '    until [ -e "$STATE/$w.ok" ]; do',
        '      [ -e "$STATE/failed" ] && exit 1',
        "      sleep 0.05",
        "    done",
        "  done",
        "  while :; do",
        '    [ -e "$STATE/failed" ] && exit 1',
        '    echo "[orchmilp] $(stamp) start $label attempt $attempt" >&2',
        '    if [ -n "$limit" ]; then timeout --kill-after=5 "$limit" bash -c "$cmd"; else bash -c "$cmd"; fi',
        "    code=$?",
        '    if [ "$code" -eq 0 ]; then',
        '      echo "[orchmilp] $(stamp) finish $label ok" >&2; touch "$STATE/$id.ok"; return 0',  # logged first
        "    fi",
        '    [ "$code" -eq 124 ] && status=timeout || status=failed',
        '    echo "[orchmilp] $(stamp) finish $label $status (exit $code, attempt $attempt)" >&2',
        '    if [ "$attempt" -gt "$retries" ]; then',
        '      echo "[orchmilp] $(stamp) FAILED $label ($status, exit $code)" >&2',
        '      echo "$label ($status, exit $code)" >> "$STATE/failed"; return 1',
        "    fi",
        '    sleep "$delay"; delay=$((delay * 2 > 30 ? 30 : delay * 2)); attempt=$((attempt + 1))',
        "  done",
        "}",
        "",
    ]
    for e in entries:
        waits = " ".join(names[w] for w in e.get("waits_for", []))
        command = e.get("command") or "true"
        limit = "" if e.get("timeout") is None else f"{e['timeout']:g}"
        retries = int(e.get("retries", 0))
        lines.append(
            f"agent {shlex.quote(names[e['id']])} {shlex.quote(waits)} {shlex.quote(limit)} {retries} "
            f"{shlex.quote(command)} {shlex.quote(printable(e['id']))} &"
        )
    lines += [
        "",
        'while [ -n "$(jobs -rp)" ]; do',
        '  if [ -e "$STATE/failed" ]; then',
        '    echo "[orchmilp] stopping: $(head -n 1 "$STATE/failed") failed" >&2',
        "    exit 1",
        "  fi",
        "  sleep 0.05",
        "done",
        'if [ -e "$STATE/failed" ]; then echo "[orchmilp] failed: $(head -n 1 "$STATE/failed")" >&2; exit 1; fi',
        'echo "[orchmilp] all agents finished" >&2',
        "",
    ]
    return "\n".join(lines)


def _make_word(text: str) -> str:
    """``text`` as one shell word on one Makefile recipe line: ANSI-C quoted, ``$`` doubled for make."""
    return ansi_c_quote(text).replace("$", "$$")


def to_make(plan: dict[str, Any]) -> str:
    """A Makefile: ``make -j`` runs the plan with the same partial order.

    Targets are the agents' file names (:func:`~.names.file_names`); each recipe line runs the
    command through ``bash -c`` with the command ANSI-C quoted, so no workflow string is read by
    make or by the shell as anything but data, and multi-line commands run as written.
    """
    entries = _entries(plan)
    names = _names(entries)
    lines = [
        _header(plan) + " (run with `make -j -f <this file>`)",
        "STATE := .orchmilp-done",
        "SHELL := /bin/bash",
        "",
        ".PHONY: all clean",
        "all: " + " ".join(f"$(STATE)/{names[e['id']]}" for e in entries),
        "",
        "$(STATE):",
        "\tmkdir -p $(STATE)",
        "",
    ]
    for e in entries:
        deps = " ".join(f"$(STATE)/{names[w]}" for w in e.get("waits_for", []))
        command = e.get("command") or "true"
        lines += [
            f"$(STATE)/{names[e['id']]}: {deps} | $(STATE)".replace("  ", " "),
            f"\t@echo {_make_word('[orchmilp] start ' + printable(e['id']))}",
            f"\tbash -c {_make_word(command)}",
            "\t@touch $@",
            "",
        ]
    lines += ["clean:", "\trm -rf $(STATE)", ""]
    return "\n".join(lines)


def to_run_list(plan: dict[str, Any]) -> str:
    """JSON: the agents with command and waits_for, in start order (for other runners)."""
    runs = [
        {
            "id": e["id"],
            "command": e.get("command"),
            "waits_for": e.get("waits_for", []),
            "planned_start": e.get("start"),
            "planned_finish": e.get("finish"),
        }
        for e in _entries(plan)
    ]
    return json.dumps({"name": plan.get("name"), "makespan": plan.get("makespan"), "agents": runs}, indent=2) + "\n"


EXPORTERS = {"bash": to_bash, "make": to_make, "json": to_run_list}
