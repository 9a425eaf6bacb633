"""``orchmilp stats`` as text tables and as one HTML page with charts."""

from __future__ import annotations

import base64
import io
from datetime import UTC, datetime
from typing import Any

from ..analysis.run_stats import RunStats
from .html import _STYLE, _table

__all__ = ["workflow_rows", "run_rows", "stats_html", "WORKFLOW_HEADER", "RUN_HEADER"]

WORKFLOW_HEADER = [
    "workflow",
    "runs",
    "success",
    "median makespan s",
    "plan error",
    "inside interval",
    "retries",
    "failures (most)",
    "idle s",
    "spend",
    "undeclared writes",
]
RUN_HEADER = ["run", "workflow", "started (UTC)", "makespan s", "planned s", "interval s", "inside", "ended"]


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.0f}%"


def workflow_rows(rows: list[dict[str, Any]]) -> list[list[str]]:
    out = []
    for r in rows:
        worst = ", ".join(f"{a} {n}" for a, n in list(r["failures"].items())[:3]) or "-"
        inside = f"{r['inside_interval']}/{r['predicted_runs']}" if r["predicted_runs"] else "-"
        spend = ", ".join(f"{k} {v:.4g}" for k, v in r["spend"].items()) or "-"
        out.append(
            [
                r["workflow"],
                str(r["runs"]),
                _pct(r["success_rate"]),
                f"{r['makespan_median']:.4g}",
                _pct(r["plan_error"]),
                inside,
                str(r["retries"]),
                worst,
                f"{r['idle_seconds']:.4g}",
                spend,
                str(r["undeclared_writes"]),
            ]
        )
    return out


def _when(r: RunStats) -> str:
    if r.started is None:
        return "-"
    return datetime.fromtimestamp(r.started, UTC).strftime("%Y-%m-%d %H:%M:%S")


def run_rows(runs: list[RunStats]) -> list[list[str]]:
    return [
        [
            r.run,
            r.workflow,
            _when(r),
            f"{r.makespan:.4g}",
            "-" if r.planned is None else f"{r.planned:.4g}",
            "-" if r.interval is None else f"{r.interval[0]:.4g}-{r.interval[1]:.4g}",
            {True: "yes", False: "no", None: "-"}[r.inside],
            "ok" if r.ok else "failed: " + ", ".join(r.failures) if r.failures else "not all ok",
        ]
        for r in runs
    ]


def _label(text: str) -> str:
    """A workflow's string as a chart label: no mathtext (``$``), at most 60 characters."""
    return text.replace("$", r"\$")[:60]


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f"<img style='max-width:100%' alt='chart' src='data:image/png;base64,{data}'>"


def _trend(runs: list[RunStats]) -> str | None:
    """Per workflow with two runs or more: makespan per run, the plan, the predicted interval."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by: dict[str, list[RunStats]] = {}
    for r in runs:
        by.setdefault(r.workflow, []).append(r)
    shown = [(w, rs) for w, rs in sorted(by.items()) if len(rs) >= 2][:12]
    if not shown:
        return None
    cols = min(3, len(shown))
    rows = (len(shown) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.0 * rows), squeeze=False)
    for ax, (workflow, rs) in zip(axes.flat, shown):
        x = range(1, len(rs) + 1)
        ax.plot(x, [r.makespan for r in rs], "o-", color="#2c3e50", label="actual")
        planned = [(k, r.planned) for k, r in zip(x, rs) if r.planned is not None]
        if planned:
            ax.plot(*zip(*planned), "s", color="#2980b9", label="planned")
        band = [(k, r.interval) for k, r in zip(x, rs) if r.interval is not None]
        if band:
            ks = [k for k, _ in band]
            ax.vlines(ks, [i[0] for _, i in band], [i[1] for _, i in band], color="#27ae60", lw=3, alpha=0.5)
            ax.plot([], [], color="#27ae60", lw=3, alpha=0.5, label="predicted interval")
        ax.set_title(_label(workflow), fontsize=9)
        ax.set_xlabel("run")
        ax.set_ylabel("makespan (s)")
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(shown) :]:
        ax.axis("off")
    fig.tight_layout()
    out = _png(fig)
    plt.close(fig)
    return out


def _failures(rows: list[dict[str, Any]]) -> str | None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counts: dict[str, int] = {}
    for r in rows:
        for agent, n in r["failures"].items():
            counts[f"{r['workflow']}: {agent}"] = counts.get(f"{r['workflow']}: {agent}", 0) + n
    if not counts:
        return None
    top = sorted(counts.items(), key=lambda kv: -kv[1])[:20]
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(top) + 1))
    ax.barh([_label(k) for k, _ in top][::-1], [v for _, v in top][::-1], color="#c0392b")
    ax.set_xlabel("failed or timed-out attempts")
    fig.tight_layout()
    out = _png(fig)
    plt.close(fig)
    return out


def stats_html(runs: list[RunStats], rows: list[dict[str, Any]]) -> str:
    """One page: the per-workflow table, the trend charts, failures by agent, every run."""
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>orchmilp stats</title>",
        f"<style>{_STYLE}</style></head><body><h1>Runs: what happened</h1>",
        f"<p>{len(runs)} runs of {len(rows)} workflows. Plan error: mean |actual - planned| / planned. "
        "Inside interval: runs whose makespan fell inside the interval predicted before they ran.</p>",
        "<h2>Per workflow</h2>",
        _table(WORKFLOW_HEADER, workflow_rows(rows)),
    ]
    trend = _trend(runs)
    if trend:
        parts += ["<h2>Makespan over time: actual, planned, predicted</h2>", trend]
    failures = _failures(rows)
    if failures:
        parts += ["<h2>Failures by agent</h2>", failures]
    parts += ["<h2>Runs</h2>", _table(RUN_HEADER, run_rows(runs)), "</body></html>"]
    return "\n".join(parts)
