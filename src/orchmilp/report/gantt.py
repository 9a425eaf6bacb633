"""Gantt charts with matplotlib: one bar per agent (critical path highlighted) and,
below, how much of each resource the plan holds over time."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from ..analysis.bottlenecks import resource_profile
from ..errors import InvalidOptions
from ..io.files import write_bytes_atomic
from ..result import Result

__all__ = [
    "gantt_figure",
    "save_gantt",
    "gantt_svg",
    "gantt_html",
    "gantt_format",
    "histogram_svg",
    "save_sweep",
    "FORMATS",
]

_BAR = "#4a78b5"
#: Above this many agents the chart has no row labels and draws bars, whiskers and added
#: orderings as line collections (a patch, arrow and label per agent cost 8 ms each)
LABELLED_AGENTS = 200
_CRITICAL = "#c0392b"


def gantt_figure(result: Result):
    """A matplotlib figure: bars on top, resource utilisation (% of capacity) below."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    p = result.problem
    order = sorted(range(p.n), key=lambda j: (result.start[j], p.ids[j]))
    has_resources = len(p.resource_names) > 0
    height = max(3.0, 0.28 * p.n + 1.5) + (2.2 if has_resources else 0)
    fig = plt.figure(figsize=(11, min(height, 60)))
    grid = fig.add_gridspec(2 if has_resources else 1, 1, height_ratios=[max(p.n, 4), 6] if has_resources else [1])
    ax = fig.add_subplot(grid[0])
    critical = set(result.critical_path_index)
    row_of = {j: row for row, j in enumerate(order)}
    labelled = p.n <= LABELLED_AGENTS
    if labelled:
        for row, j in enumerate(order):
            colour = _CRITICAL if j in critical else _BAR
            ax.barh(row, max(p.durations[j], 1e-9), left=result.start[j], color=colour, edgecolor="white", height=0.75)
    else:  # one collection of thin bars: a patch and a label per agent take minutes at 20,000 agents
        from matplotlib.collections import LineCollection

        segments = [((result.start[j], row), (result.finish[j], row)) for row, j in enumerate(order)]
        colours = [_CRITICAL if j in critical else _BAR for j in order]
        ax.add_collection(LineCollection(segments, colors=colours, linewidths=max(0.2, 400 / p.n)))
        ax.set_ylim(-1, p.n)
    ax.set_xlim(0, max(result.makespan, 1e-9) * 1.01)
    _spread_and_orderings(ax, result, row_of, labelled)  # widens the axis to the last p90
    if labelled:
        ax.set_yticks(range(len(order)))
        ax.set_yticklabels([p.ids[j] for j in order], fontsize=8 if p.n < 40 else 6)
    else:
        ax.set_ylabel(f"{p.n} agents, by start")
    ax.invert_yaxis()
    ax.grid(axis="x", alpha=0.3)
    status = "proven optimal" if result.status.value == "optimal" else f"gap {100 * result.gap:.1f}%"
    title = f"{p.name}: makespan {result.makespan:g} {p.time_unit} ({status}); critical path in red"
    ax.set_title(title, fontsize=10, pad=22)
    if has_resources:
        ax2 = fig.add_subplot(grid[1], sharex=ax)
        for r, name in enumerate(p.resource_names):
            times, loads = resource_profile(result, r)
            cap = p.capacities[r]
            share = 100 * loads / cap if cap > 0 else loads * 0
            ax2.step(
                np.append(times, result.makespan),
                np.append(share, share[-1] if len(share) else 0),
                where="post",
                label=name,
            )
        ax2.set_ylabel("% of capacity")
        ax2.set_ylim(0, 105)
        ax2.set_xlabel(f"time ({p.time_unit})")
        ax2.legend(fontsize=7, loc="upper right")
        ax2.grid(alpha=0.3)
    else:
        ax.set_xlabel(f"time ({p.time_unit})")
    fig.tight_layout()
    return fig


def _spread_and_orderings(ax, result: Result, row_of: dict[int, int], labelled: bool = True) -> None:
    """p10-p90 whiskers of each agent's predicted run time (from its planned start), arrows for
    the orderings the optimiser added (not dependencies), and a legend. Unlabelled (large)
    charts get plain segments instead of whisker ends and arrows."""
    from matplotlib.collections import LineCollection
    from matplotlib.patches import Patch

    handles = [Patch(color=_CRITICAL, label="critical path"), Patch(color=_BAR, label="other agents")]
    prediction = getattr(result, "prediction", None)
    if prediction is not None:
        handles.append(ax.axvline(result.makespan, color="black", linestyle=":", linewidth=1, label="planned makespan"))
        by_id = {a["id"]: a for a in prediction.agents}
        right = max([result.makespan] + [result.start[j] + by_id[result.problem.ids[j]]["p90"] for j in row_of])
        ax.set_xlim(0, max(right, 1e-9) * 1.01)
        whiskers = []
        for j, row in row_of.items():
            a = by_id.get(result.problem.ids[j])
            if a is not None:
                s = result.start[j]
                whiskers.append(((s + a["p10"], row), (s + a["p90"], row)))
                if labelled:
                    ax.plot([s + a["p10"]] * 2 + [s + a["p90"]] * 2, [row - 0.2, row + 0.2, row - 0.2, row + 0.2], "|k")
        ax.add_collection(LineCollection(whiskers, colors="black", linewidths=1 if labelled else 0.3))
        handles.append(ax.plot([], [], color="black", label="p10-p90 of the run time")[0])
    if labelled:
        for i, j, _why in result.orderings:
            ax.annotate(
                "",
                xy=(result.start[j], row_of[j]),
                xytext=(result.finish[i], row_of[i]),
                arrowprops={"arrowstyle": "->", "color": "#7f8c8d", "linestyle": "--", "linewidth": 0.8},
            )
    elif result.orderings:
        links = [((result.finish[i], row_of[i]), (result.start[j], row_of[j])) for i, j, _ in result.orderings]
        ax.add_collection(LineCollection(links, colors="#7f8c8d", linewidths=0.2))
    if result.orderings:
        handles.append(ax.plot([], [], color="#7f8c8d", linestyle="--", label="ordering added (resource/file)")[0])
    # above the bars, not over them
    ax.legend(handles=handles, fontsize=7, loc="lower left", bbox_to_anchor=(0, 1.0), ncol=len(handles), frameon=False)


def _drawn_up_to(samples: np.ndarray, at_least: float) -> float:
    """Where the histogram stops: at the largest sample, unless a far tail (more than a quarter
    of the drawn range beyond the 99.5th percentile) would squeeze the bulk into a few bins;
    then at that percentile (never before ``at_least``), the rest counted in the title."""
    if not len(samples):
        return at_least
    right = max(float(np.quantile(samples, 0.995)), at_least)
    top = float(samples.max())
    return top if top <= right + 0.25 * (right - float(samples.min())) else right


def histogram_svg(prediction, unit: str = "s") -> str:
    """The predicted makespan's histogram with p50, p90 and the interval marked (SVG text)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 2.8))
    lo, hi = prediction.interval
    samples = np.asarray(prediction.makespans)
    right = _drawn_up_to(samples, max(hi, prediction.planned))
    beyond = int((samples > right).sum())
    ax.hist(samples[samples <= right], bins=60, color=_BAR, alpha=0.8)
    if beyond:
        ax.set_title(f"{beyond} of {len(samples)} samples above {right:.4g} {unit} not drawn", fontsize=8)
    for x, label, style in (
        (prediction.planned, "planned", "-"),
        (prediction.p50, "p50", "--"),
        (prediction.p90, "p90", ":"),
    ):
        ax.axvline(x, color="black", linestyle=style, linewidth=1, label=f"{label} {x:.4g}")
    ax.axvspan(lo, hi, color="grey", alpha=0.15, label=f"{100 * prediction.level:g}% interval")
    ax.set_xlabel(f"makespan ({unit})")
    ax.set_ylabel("samples")
    ax.legend(fontsize=7)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="svg")
    plt.close(fig)
    return buffer.getvalue().decode("utf-8")


def save_sweep(key: str, values, rows, knee, path: str | Path) -> None:
    """Makespan (and predicted p90) against a resource's capacity, the knee marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.5))
    planned = [(v, r) for v, r in zip(values, rows) if r["makespan"] is not None]  # a budget too small: no plan
    ax.plot([v for v, _ in planned], [r["makespan"] for _, r in planned], "o-", color=_BAR, label="makespan (plan)")
    ax.plot([v for v, _ in planned], [r["p90"] for _, r in planned], "s--", color=_CRITICAL, label="p90 (predicted)")
    if knee is not None:
        ax.axvline(knee, color="grey", linestyle=":", label=f"more stops helping: {knee:g}")
    ax.set_xlabel(key)
    ax.set_ylabel("time")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    _write_chart(fig, path)


def _render(result: Result, fmt: str) -> bytes:
    import matplotlib.pyplot as plt

    fig = gantt_figure(result)
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, dpi=120)
    plt.close(fig)
    return buffer.getvalue()


#: The file endings a chart can have (none: PNG).
FORMATS = ("png", "svg", "pdf")


def gantt_format(path: str | Path) -> str:
    """The image format of ``path`` from its ending (:class:`InvalidOptions` for any other)."""
    fmt = Path(path).suffix.lower().lstrip(".") or "png"
    if fmt not in FORMATS:
        raise InvalidOptions(f"{path}: a Gantt chart can be " + ", ".join(f".{f}" for f in FORMATS))
    return fmt


def save_gantt(result: Result, path: str | Path) -> None:
    """Write the chart as PNG, SVG or PDF (by the file ending), atomically."""
    write_bytes_atomic(path, _render(result, gantt_format(path)))


def gantt_svg(result: Result) -> str:
    """The chart as SVG text."""
    return _render(result, "svg").decode("utf-8")


def gantt_html(result: Result) -> str:
    """The chart for the HTML report: SVG, or above :data:`LABELLED_AGENTS` agents an embedded
    PNG (at 20,000 agents the SVG is 7 MB and takes 5 s, the PNG 160 KB and 1.7 s)."""
    if result.problem.n <= LABELLED_AGENTS:
        return gantt_svg(result)
    import base64

    data = base64.b64encode(_render(result, "png")).decode("ascii")
    return f"<img alt='Gantt chart' style='max-width:100%' src='data:image/png;base64,{data}'>"


def _write_chart(fig, path: str | Path) -> None:
    """Write a finished chart to ``path`` (its format from the suffix) at once, and close it."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format=gantt_format(path), dpi=120)
    plt.close(fig)
    write_bytes_atomic(path, buffer.getvalue())


def save_front(points: list[dict], key: str, unit: str, path: str | Path) -> None:
    """The front of makespan against spend: each point filled when both its makespan and its
    spend are proven, hollow otherwise; a step line between them."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.5))
    xs = [p["makespan"] for p in points]
    ys = [p[key] for p in points]
    ax.step(xs, ys, where="post", color=_BAR, alpha=0.6)
    for p, x, y in zip(points, xs, ys):
        proven = p["makespan_status"] == "optimal" and p[f"{key}_status"] == "optimal"
        ax.plot([x], [y], "o", color=_CRITICAL, fillstyle="full" if proven else "none")
    ax.set_xlabel(f"makespan ({unit})")
    ax.set_ylabel(key)
    ax.set_title("fastest plan per budget (filled: both proven)", fontsize=9)
    ax.grid(alpha=0.3)
    _write_chart(fig, path)
