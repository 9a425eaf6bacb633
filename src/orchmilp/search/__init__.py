"""The search for a plan and its proof.

:func:`run_search` walks the time plan of :mod:`.budget` and runs the
phases of :mod:`.phases` on one :class:`~.state.SearchState`:

    simple bounds -> priority rules -> genetic algorithm -> propagation
    -> branch and bound -> tree search -> MILP (with work beside it on two threads)
    -> MILP bound (rounded grids) -> branch and bound -> genetic algorithm -> tree search

It stops as soon as bound and incumbent meet, and always by the deadline.
"""

from __future__ import annotations

import math

import numpy as np

from ..exact.sat import LONG_GRID_STEPS
from ..model.problem import Problem
from ..options import SolveOptions
from ..result import Result
from ..solvers import backend as solver_backend
from . import phases
from .budget import PLAN, Outlook, seconds_for
from .state import Progress, SearchState

__all__ = ["run_search", "Phases", "SearchState", "Progress"]


def _warm_start(state: SearchState, start: np.ndarray) -> None:
    """Offer a given schedule as the first incumbent when it is feasible."""
    if phases.feasible_schedule(state.problem, start):
        state.offer_schedule(start)
        state.report("warm start")


def run_search(
    problem: Problem,
    options: SolveOptions | None = None,
    on_progress: Progress | None = None,
    started: float | None = None,
    cutoff: float = math.inf,
) -> Result:
    """The phases of :func:`orchmilp.solve` on a validated problem, without the final check
    (what-if analyses use it on problems whose conflicts no longer follow from their paths).
    The time limit counts from ``started`` (a ``perf_counter`` time; default: now). With a
    ``cutoff`` (model choice settling a choice against a plan of another), the search stops
    once it shows that no plan is shorter than the cutoff: the result's bound is then at
    least the cutoff, and its plan may be longer than the optimum."""
    options = options or SolveOptions()
    state = SearchState(problem, options.time_limit, on_progress, started, cutoff)
    if options.initial_start is not None:
        _warm_start(state, np.asarray(options.initial_start, float))
    search = Phases(options)
    try:
        search.walk(state)
    finally:
        search.close()
    return state.result()


class Phases:
    """The phase objects of one solve, by the names :data:`.budget.PLAN` uses."""

    def __init__(self, options: SolveOptions) -> None:
        self.options = options
        self.genetic_algorithm = phases.GeneticAlgorithm(seed=options.seed, schedules=options.ga_schedules)
        self.sat = phases.SatRefutation(enabled=options.use_sat)
        self.branch_and_bound = phases.BranchAndBoundSearch()
        self.by_name: dict[str, phases.Phase] = {
            "simple bounds": phases.SimpleBounds(),
            "priority rules": phases.PriorityRules(self.genetic_algorithm, seed=options.seed),
            "genetic algorithm": self.genetic_algorithm,
            "propagation": phases.Propagation(),
            "sat": self.sat,
            "branch and bound": self.branch_and_bound,
            "tree search": phases.TreeSearch(),
            "feasible-subset lp": phases.FeasibleSubsetLp(),
        }
        if options.use_milp:
            self.milp: phases.Milp | None = phases.Milp(
                options, solver_backend(options.backend), self.sat, self.branch_and_bound, self.genetic_algorithm
            )
            self.by_name["milp"] = self.milp
            self.by_name["milp bound"] = phases.MilpBound(self.milp)
        else:
            self.milp = None

    def outlook(self, state: SearchState) -> Outlook:
        """What the shares of the steps depend on now."""
        return Outlook(
            rounded_grid=state.grid is not None and not state.grid.exact,
            branch_and_bound_resumes=self.branch_and_bound.resumes(state),
            beside_milp=self.options.threads >= 2,
            exact_searchable=state.exact_searchable,
            long_grid=state.step is not None and state.upper / state.step > LONG_GRID_STEPS,
            settling=math.isfinite(state.cutoff),
        )

    def walk(self, state: SearchState) -> None:
        """The steps of :data:`PLAN` in turn, each with its time, until the plan is proven."""
        for step in PLAN:
            if state.settled and state.incumbents:
                break
            phase = self.by_name.get(step.phase)
            if phase is None:  # the MILP's steps without the MILP: the plan ends here
                break
            phase.run(state, seconds_for(step, self.outlook(state), state.remaining()))

    def close(self) -> None:
        for phase in self.by_name.values():
            phase.close()
