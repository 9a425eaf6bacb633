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

__all__ = ["gantt_figure", "save_gantt", "gantt_svg", "gantt_format", "FORMATS"]

_BAR = "#4a78b5"
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
    for row, j in enumerate(order):
        colour = _CRITICAL if j in critical else _BAR
        ax.barh(row, max(p.durations[j], 1e-9), left=result.start[j], color=colour, edgecolor="white", height=0.75)
    ax.set_yticks(range(len(order)))
    ax.set_yticklabels([p.ids[j] for j in order], fontsize=8 if p.n < 40 else 6)
    ax.invert_yaxis()
    ax.set_xlim(0, max(result.makespan, 1e-9) * 1.01)
    ax.grid(axis="x", alpha=0.3)
    status = "proven optimal" if result.status.value == "optimal" else f"gap {100 * result.gap:.1f}%"
    ax.set_title(f"{p.name}: makespan {result.makespan:g} {p.time_unit} ({status}); critical path in red", fontsize=10)
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
    """The chart as SVG text (for the HTML report)."""
    return _render(result, "svg").decode("utf-8")
