"""A self-contained HTML report: the Markdown report's content, the Gantt chart
inline as SVG, and the diagram sources; no external files or scripts."""

from __future__ import annotations

import html
from typing import Any

from .diagrams import dot
from .gantt import gantt_html, histogram_svg
from .markdown import confidence, conflicts_not_listed, settled_by_dependencies, undeclared_warning, wave_cost
from .spend import spend_tables

__all__ = ["html_report"]

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ddd; padding-bottom: .2em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: .6em 0 1.2em; font-size: .92em; }
td, th { border: 1px solid #ddd; padding: .25em .6em; text-align: left; vertical-align: top; }
th { background: #f4f6f8; } .critical { color: #c0392b; font-weight: 600; }
.kpi { display: inline-block; margin: .3em 1.2em .3em 0; padding: .5em .9em; background: #f4f6f8; border-radius: 6px; }
.kpi b { display: block; font-size: 1.4em; } pre { background: #f7f7f7; padding: .8em; overflow-x: auto; }
"""


def _plan_tables(c: dict[str, Any]) -> list[str]:
    """The wave plan with what it costs, or the event-driven plan's groups."""
    u = c["unit"]
    if c["waves"] is not None:
        rows = [
            [k, f"{w['start']} {u}", f"{w['length']} {u}", ", ".join(sorted(w["agents"]))]
            for k, w in enumerate(c["waves"], 1)
        ]
        return [
            "<h3>Optimised plan: waves (launch a wave's agents together, the next when all have ended)</h3>",
            _table(["wave", "start", "length", "agents"], rows),
            f"<p>{html.escape(wave_cost(c))}</p>",
        ]
    return [
        "<h3>Optimised plan: parallel groups</h3>",
        _table(["start", "agents"], [[f"{g['start']} {u}", ", ".join(g["agents"])] for g in c["groups"]]),
    ]


def _table(header: list[str], rows: list[list[Any]], classes: list[str] | None = None) -> str:
    if not rows:
        return "<p><em>none</em></p>"
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = []
    for k, row in enumerate(rows):
        cls = f' class="{classes[k]}"' if classes and classes[k] else ""
        body.append(f"<tr{cls}>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _with_prediction(result, c: dict[str, Any]):
    import dataclasses

    if result.prediction is not None:
        return result
    return dataclasses.replace(result, prediction=c["prediction_object"])


def _spend(c: dict[str, Any]) -> str:
    """Token and money budget distribution (plans with model choice only)."""
    sp = c.get("spend")
    if not sp:
        return ""
    parts = ["<h2>Token and Cost Budget</h2>", f"<p>{html.escape(sp['text'])}</p>"]
    for title, header, rows in spend_tables(sp, c["unit"]):
        parts += [f"<h3>{html.escape(title)}</h3>", _table(header, rows)]
    return "\n".join(parts)


def _roadmap_and_validation(c: dict[str, Any]) -> str:
    parts = ["<h2>Implementation Roadmap</h2>"]
    for phase in c["roadmap"]:
        parts.append(f"<h3>{html.escape(phase['phase'])}</h3><ul>")
        parts += [f"<li>{html.escape(step)}</li>" for step in phase["steps"]]
        parts.append("</ul>")
    parts += ["<h2>Validation Strategy</h2>", f"<p>{html.escape(c['validation']['text'])}</p>"]
    return "".join(parts)


def html_figures(result) -> dict[str, str]:
    """The page's two charts (SVG; a large Gantt chart as PNG), for a ``result`` with its
    prediction: the Gantt chart and the histogram of the predicted makespan (the command draws them before the what-ifs, so
    that drawing them takes nothing from its time limit)."""
    return {
        "gantt": gantt_html(result),
        "histogram": histogram_svg(result.prediction, result.problem.time_unit),
    }


def html_report(c: dict[str, Any], result, figures: dict[str, str] | None = None) -> str:
    """Render :func:`orchmilp.report.content.report_content` (and the charts of ``result``, or the
    ``figures`` of :func:`html_figures` already drawn) as one HTML page."""
    figures = figures or html_figures(_with_prediction(result, c))
    u, s, st = c["unit"], c["summary"], c["structure"]
    proof = "proven optimal" if s["status"] == "optimal" else f"gap {s['gap_percent']}%"
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(c['name'])}: optimisation report</title><style>{_STYLE}</style></head><body>",
        "<h1>Parallel Orchestration Optimization Report</h1>",
        f"<p><b>Workflow</b>: {html.escape(c['name'])} &nbsp; <b>Analysis Date</b>: {c['analysis_date']} &nbsp; "
        "<b>Optimization Target</b>: minimum makespan</p>",
        "<h2>Executive Summary</h2>",
        f"<div class='kpi'>current<b>{s['baseline']} {u}</b>{html.escape(s['baseline_label'])}</div>",
        f"<div class='kpi'>optimised<b>{s['makespan']} {u}</b>{proof}</div>",
        f"<div class='kpi'>gain<b>{s['gain_percent']}%</b>{s['speedup']}x faster</div>",
        f"<div class='kpi'>lower bound<b>{s['lower_bound']} {u}</b>{html.escape(s['bound_source'])}</div>",
        f"<p>Critical path: <span class='critical'>{html.escape(' → '.join(c['critical_path']))}</span>. "
        f"Binding without the optimiser's choices: {st['bounds']['binding']}.</p>",
        f"<p><b>Confidence Level</b>: {html.escape(confidence(c['prediction'], u))}</p>",
        f"<p><b>Risk Assessment</b>: {c['risk']['level']} ({html.escape('; '.join(c['risk']['reasons']))})</p>",
        "<h2>Gantt chart</h2>",
        "<p>Bars: the plan; black whiskers: p10-p90 of each agent's predicted run time from its planned start; "
        "dashed arrows: orderings the plan adds for resources and files.</p>",
        figures["gantt"],
        "<h2>Predicted makespan</h2>",
        figures["histogram"],
        "<p>Most often on the critical path: "
        + html.escape(", ".join(f"{a['id']} ({100 * a['criticality']:.0f}%)" for a in c["prediction"]["most_critical"]))
        + "</p>",
        "<h2>Dependency Analysis</h2>",
        f"<p>{st['agents']} agents, {st['dependencies']} dependencies, {len(st['levels'])} levels.</p>",
        _table(
            ["level", "agents", "at most in parallel (capacity)"],
            [
                [p["level"], ", ".join(st["levels"][p["level"]]), p["at_most_in_parallel_by_capacity"]]
                for p in st["parallelism"]
            ],
        ),
        *_plan_tables(c),
        "<h3>Schedule</h3>",
        _table(
            ["agent", "start", "finish", "slack", "waits for"],
            [[e["id"], e["start"], e["finish"], e["slack"], ", ".join(e["waits_for"]) or "-"] for e in c["schedule"]],
            ["critical" if e["critical"] else "" for e in c["schedule"]],
        ),
        "<h2>Resource Conflict Analysis</h2>",
        f"<p><b>Warning</b>: {html.escape(undeclared_warning(c))}</p>" if c.get("undeclared") else "",
        "<h3>File conflicts and the order chosen</h3>",
        _table(
            ["first", "then", "paths", f"idle between ({u})"],
            [
                [f["first"], f["then"], ", ".join(f["paths"]), f["idle_between"]]
                for f in c["resolution"]["files"]
                if f["settled_by"] == "plan"
            ],
        ),
        f"<p>{html.escape(conflicts_not_listed(c))}</p>" if conflicts_not_listed(c) else "",
        f"<p>{html.escape(settled_by_dependencies(c))}</p>" if settled_by_dependencies(c) else "",
        "<h3>Saturated resources and the orderings they forced</h3>",
        _table(
            ["resource", "orderings added by the plan"],
            [
                [r["resource"], "; ".join(f"{o['first']} → {o['then']}" for o in r["orderings"])]
                for r in c["resolution"]["resources"]
            ],
        ),
        "<h3>What would make it faster</h3>",
        _table(
            ["change", f"makespan ({u})", "saving", "proven"],
            [
                [f"{w['resource']} {w['capacity']} → {w['new_capacity']}", w["makespan"], w["saving"], w["proven"]]
                for w in c["capacity_what_if"]
                if "skipped" not in w
            ]
            + [
                [
                    f"lift {w['agents'][0]} / {w['agents'][1]} ({', '.join(w['paths'])})",
                    w["makespan"],
                    w["saving"],
                    w["proven"],
                ]
                for w in c["conflict_what_if"]
                if "skipped" not in w
            ],
        ),
        "<h2>Performance Predictions</h2>",
        _table(
            ["parallel branch (off the critical path)", "start", "finish", f"slack ({u})"],
            [[" → ".join(b["agents"]), b["start"], b["finish"], b["slack"]] for b in c["branches"]],
        ),
        "<h2>Resource Utilization</h2>",
        _table(
            ["resource", "capacity", "average %", "peak", "peak %"],
            [
                [r["resource"], r["capacity"], r["average_percent"], r["peak"], r["peak_percent"]]
                for r in c["utilisation"]
            ],
        ),
        _spend(c),
        _roadmap_and_validation(c),
        "<h2>Diagrams</h2>",
        f"<details><summary>Mermaid</summary><pre>{html.escape(c['mermaid'])}</pre></details>",
        f"<details><summary>Graphviz DOT</summary><pre>{html.escape(dot(result.problem, result))}</pre></details>",
        "</body></html>",
    ]
    return "\n".join(parts)
