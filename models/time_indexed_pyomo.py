"""The time-indexed RCPSP model of time-indexed.md, written plainly in Pyomo.

This is the readable reference for ``orchmilp.compile.time_indexed``: it uses
the classic start variables ``x[j, t] = 1`` when agent ``j`` starts at ``t``
(the fast builder uses their running sums, ``z[j, t] = sum_{s <= t} x[j, s]``,
a unimodular change of variables, so both have the same optimum and the same
LP relaxation). The tests build both on small instances and compare.

Usage::

    model = build(problem, p, horizon, lower=0)
    pyo.SolverFactory("highs").solve(model)
    makespan = pyo.value(model.makespan)
"""

from __future__ import annotations

import pyomo.environ as pyo


def windows(problem, p, horizon):
    """Earliest and latest starts: longest paths from the sources and to the end."""
    n = problem.n
    preds = {j: [i for i, k in problem.edges.tolist() if k == j] for j in range(n)}
    succs = {j: [k for i, k in problem.edges.tolist() if i == j] for j in range(n)}
    es, tail = {}, {}
    for j in problem.topological_order.tolist():
        es[j] = max((es[i] + p[i] for i in preds[j]), default=0)
    for j in reversed(problem.topological_order.tolist()):
        tail[j] = max((p[k] + tail[k] for k in succs[j]), default=0)
    ls = {j: horizon - tail[j] - p[j] for j in range(n)}
    return es, ls


def build(problem, p, horizon, lower=0):
    """Pyomo model of the time-indexed formulation (agents 0..n-1, end node n)."""
    n = problem.n
    p = [int(v) for v in p]
    es, ls = windows(problem, p, horizon)
    end = n
    es[end] = min(max(lower, max((es[j] + p[j] for j in range(n)), default=0)), horizon)
    ls[end] = horizon
    p_all = p + [0]
    sinks = [j for j in range(n) if not any(i == j for i, _ in problem.edges.tolist())]
    arcs = [tuple(e) for e in problem.edges.tolist()] + [(j, end) for j in sinks]
    cum = problem.cumulative_with_cliques  # resources, file locks, incompatibility cliques

    m = pyo.ConcreteModel(name="time-indexed RCPSP")
    m.J = pyo.Set(initialize=range(n + 1))
    m.JT = pyo.Set(dimen=2, initialize=[(j, t) for j in range(n + 1) for t in range(es[j], ls[j] + 1)])
    m.x = pyo.Var(m.JT, within=pyo.Binary)

    # every agent (and the end) starts exactly once inside its window
    m.once = pyo.Constraint(m.J, rule=lambda m, j: sum(m.x[j, t] for t in range(es[j], ls[j] + 1)) == 1)

    def started_by(m, j, t):
        return sum(m.x[j, s] for s in range(es[j], min(t, ls[j]) + 1))

    # disaggregated precedence: j cannot have started by t unless i started by t - p_i
    m.precedence = pyo.ConstraintList()
    for i, j in arcs:
        for t in range(es[j], ls[j] + 1):
            m.precedence.add(started_by(m, j, t) <= started_by(m, i, t - p_all[i]))

    # cumulative resources, file locks and cliques: what runs at t fits the capacity
    m.capacity = pyo.ConstraintList()
    for k in range(cum.usage.shape[1]):
        for t in range(horizon):
            terms = [
                cum.usage[j, k] * m.x[j, s]
                for j in range(n)
                if cum.usage[j, k] > 0 and p[j] > 0
                for s in range(max(es[j], t - p[j] + 1), min(ls[j], t) + 1)
            ]
            if terms:
                m.capacity.add(sum(terms) <= cum.capacity[k])

    m.makespan = pyo.Expression(expr=sum(t * m.x[end, t] for t in range(es[end], ls[end] + 1)))
    m.objective = pyo.Objective(expr=m.makespan, sense=pyo.minimize)
    return m


def starts(m, n):
    """Start time of each agent in a solved model."""
    return [next(t for (j, t) in m.JT if j == a and pyo.value(m.x[j, t]) > 0.5) for a in range(n)]
