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
import re
import shlex
from typing import Any

from ..errors import InvalidPlan

__all__ = ["to_bash", "to_make", "to_run_list", "EXPORTERS"]


def _entries(plan: dict[str, Any]) -> list[dict[str, Any]]:
    schedule = plan.get("schedule")
    if not isinstance(schedule, list) or not schedule and plan.get("makespan", 0) != 0:
        raise InvalidPlan("plan has no 'schedule' list")
    ids = set()
    for k, entry in enumerate(schedule):
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            raise InvalidPlan(f"schedule[{k}]: missing agent id")
        ids.add(entry["id"])
    for entry in schedule:
        for w in entry.get("waits_for", []):
            if w not in ids:
                raise InvalidPlan(f"agent '{entry['id']}': waits_for names unknown agent '{w}'")
    return sorted(schedule, key=lambda e: (e.get("start", 0), e["id"]))


def to_bash(plan: dict[str, Any]) -> str:
    """A bash script that runs the plan with maximal overlap and fails fast."""
    lines = [
        "#!/usr/bin/env bash",
        f"# orchmilp plan for {plan.get('name', 'workflow')}: makespan {plan.get('makespan')} "
        f"{plan.get('time_unit', 's')} ({plan.get('status')})",
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
        "agent() {  # agent ID 'WAITS FOR' TIMEOUT RETRIES COMMAND",
        '  local id="$1" waits="$2" limit="$3" retries="$4" cmd="$5" w attempt=1 code delay=1 status',
        "  for w in $waits; do",
        '    until [ -e "$STATE/$w.ok" ]; do',
        '      [ -e "$STATE/failed" ] && exit 1',
        "      sleep 0.05",
        "    done",
        "  done",
        "  while :; do",
        '    [ -e "$STATE/failed" ] && exit 1',
        '    echo "[orchmilp] $(stamp) start $id attempt $attempt" >&2',
        '    if [ -n "$limit" ]; then timeout --kill-after=5 "$limit" bash -c "$cmd"; else bash -c "$cmd"; fi',
        "    code=$?",
        '    if [ "$code" -eq 0 ]; then',
        '      touch "$STATE/$id.ok"; echo "[orchmilp] $(stamp) finish $id ok" >&2; return 0',
        "    fi",
        '    [ "$code" -eq 124 ] && status=timeout || status=failed',
        '    echo "[orchmilp] $(stamp) finish $id $status (exit $code, attempt $attempt)" >&2',
        '    if [ "$attempt" -gt "$retries" ]; then',
        '      echo "[orchmilp] $(stamp) FAILED $id ($status, exit $code)" >&2',
        '      echo "$id ($status, exit $code)" >> "$STATE/failed"; return 1',
        "    fi",
        '    sleep "$delay"; delay=$((delay * 2 > 30 ? 30 : delay * 2)); attempt=$((attempt + 1))',
        "  done",
        "}",
        "",
    ]
    for e in _entries(plan):
        waits = " ".join(_token(w) for w in e.get("waits_for", []))
        command = e.get("command") or "true"
        limit = "" if e.get("timeout") is None else f"{e['timeout']:g}"
        retries = int(e.get("retries", 0))
        lines.append(
            f"agent {shlex.quote(_token(e['id']))} {shlex.quote(waits)} {shlex.quote(limit)} {retries} "
            f"{shlex.quote(command)} &"
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


def _token(agent_id: str) -> str:
    """A file-name and make-target safe form of an agent id."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", agent_id)


def to_make(plan: dict[str, Any]) -> str:
    """A Makefile: ``make -j`` runs the plan with the same partial order."""
    entries = _entries(plan)
    lines = [
        f"# orchmilp plan for {plan.get('name', 'workflow')}: run with `make -j -f <this file>`",
        "STATE := .orchmilp-done",
        "SHELL := /bin/bash",
        "",
        ".PHONY: all clean",
        "all: " + " ".join(f"$(STATE)/{_token(e['id'])}" for e in entries),
        "",
        "$(STATE):",
        "\tmkdir -p $(STATE)",
        "",
    ]
    for e in entries:
        deps = " ".join(f"$(STATE)/{_token(w)}" for w in e.get("waits_for", []))
        command = (e.get("command") or "true").replace("$", "$$")
        lines += [
            f"$(STATE)/{_token(e['id'])}: {deps} | $(STATE)".replace("  ", " "),
            f"\t@echo '[orchmilp] start {e['id']}'",
            f"\t{command}",
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
