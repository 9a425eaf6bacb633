"""Who gets how many seconds: the one place that plans a solve's time.

:data:`PLAN` lists the phases in the order they run. Each gets ``share`` of
the seconds left when it starts (after the reserve kept for building and
checking the plan), and ``most`` seconds at most; a phase that meets the
bound ends early and leaves its time to the next. Shares were measured on
PSPLIB j30 and random workflows (see README, bench/results); the MILP's
share depends on the state, see :func:`milp_share`.

=====================  ==================  =======  ===========================================
phase                  share of time left  at most  note
=====================  ==================  =======  ===========================================
simple bounds          10%                          critical path, energy, one-machine, cliques
priority rules         10%                          the rule portfolio (8 samples)
genetic algorithm      25%                          500 schedules per agent, 5,000-50,000
propagation            10%                          destructive bound on the exact grid
sat                    35% / 60% / 80%              clause learning below the incumbent (python-sat);
                                                    60% on grids of more than 300 steps, 80%
                                                    there when the search has a cutoff
branch and bound       25%                 5 s      where it cannot prove quickly the MILP often can
tree search            10%
feasible-subset lp     20%                          feasible-subset LP bound, bisected (150 agents)
milp                   100% / 50%                   50% when the branch and bound resumes after it
                                                    (one thread, exact grid) or on a rounded grid;
                                                    with 2 threads clause learning (2 of 4 slices),
                                                    the branch and bound and the genetic search
                                                    (1 each) run beside HiGHS in slices of 2 s
milp bound             60%                          rounded-down grid, for the bound
feasible-subset lp     40%                          resumed where the clock cut it short
sat                    60%                          resumed with what it learnt
branch and bound       60%                          resumed with its memory
genetic algorithm      50% / 100%                   100% when the tree search does not apply
tree search            100%                         whatever is left
=====================  ==================  =======  ===========================================
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "Outlook",
    "Step",
    "PLAN",
    "seconds_for",
    "milp_share",
    "ga_share",
    "sat_share",
    "BESIDE_SLICE_SECONDS",
    "BESIDE_PATTERN",
    "MAX_PROPAGATION_STEPS",
    "MAX_TREE_AGENTS",
    "default_schedules",
]

#: Largest exact grid (in steps) on which propagation and the exact searches run.
MAX_PROPAGATION_STEPS = 200_000

#: On grids of more than exact.sat.LONG_GRID_STEPS steps (workflows timed to the second: 500-1,000 steps;
#: PSPLIB up to about 300) the clause learning's first round gets this share:
#: a 20-agent choice of modes of llm-modes-20-0 (584 s) was proven by it after 5.8 s at an
#: 11.5 s limit, not at 35% (its bound 583 from the MILP); the 15 single-mode workflows of
#: 10-30 agents timed to the second kept their eight proofs and bounds at 10 s (models/sat-encoding.md)
LONG_GRID_SAT_SHARE = 0.6

#: ... and this share when the search has a cutoff (model choice settling a choice of modes:
#: only a plan shorter than the cutoff, or the proof that there is none, is wanted). On
#: llm-modes-20-0 its 584 choice (cutoff 595) needs 5-8.6 s of clause learning: at 20 s the
#: whole solve was proven in 6 of 6 solves and in the bench, against 1 of 3 with 60%; the same
#: plans and proofs elsewhere in bench/modes.py (models/modes.md)
SETTLING_SAT_SHARE = 0.8

#: Largest workflow for the set-times tree search (its memory grows like n^2).
MAX_TREE_AGENTS = 300

#: Work beside HiGHS (``threads >= 2``) runs in slices of at most this many seconds ...
BESIDE_SLICE_SECONDS = 2.0

#: ... in this repeating pattern.
BESIDE_PATTERN = ("sat", "branch and bound", "sat", "genetic algorithm")


@dataclass(frozen=True)
class Outlook:
    """What the shares of the later steps depend on, when a step starts."""

    rounded_grid: bool = False  # the MILP's grid rounds the durations up
    branch_and_bound_resumes: bool = False  # the branch and bound has run, and still applies
    beside_milp: bool = False  # two threads: other searches run beside the MILP
    exact_searchable: bool = False  # the exact searches apply (see SearchState.exact_searchable)
    long_grid: bool = False  # the exact grid has more than LONG_GRID_STEPS steps below the incumbent
    settling: bool = False  # the search has a cutoff: a proof is what it is asked for


def milp_share(outlook: Outlook) -> float:
    """All the time left, or half of it when more will follow: the branch and bound resumes
    after the MILP (exact grid, one thread), or a second MILP bounds a rounded grid."""
    if outlook.rounded_grid:
        return 0.5
    return 0.5 if outlook.branch_and_bound_resumes and not outlook.beside_milp else 1.0


def sat_share(outlook: Outlook) -> float:
    """35% of the time left; on long grids (workflows timed to the second) 60%, or 80% with
    a cutoff."""
    if not outlook.long_grid:
        return 0.35
    return SETTLING_SAT_SHARE if outlook.settling else LONG_GRID_SAT_SHARE


def ga_share(outlook: Outlook) -> float:
    """Half the time left when the tree search follows, all of it otherwise."""
    return 0.5 if outlook.exact_searchable else 1.0


@dataclass(frozen=True)
class Step:
    """One line of the plan: a phase (by name, see :mod:`.phases`) and its time."""

    phase: str
    share: float | Callable[[Outlook], float]
    most: float = math.inf
    first: bool = True  # False: the second round, after the MILP (runs only with the MILP)


PLAN: tuple[Step, ...] = (
    Step("simple bounds", 0.10),
    Step("priority rules", 0.10),
    Step("genetic algorithm", 0.25),
    Step("propagation", 0.10),
    Step("sat", sat_share),
    Step("branch and bound", 0.25, most=5.0),
    Step("tree search", 0.10),
    Step("feasible-subset lp", 0.20),
    Step("milp", milp_share, first=False),
    Step("milp bound", 0.60, first=False),
    Step("feasible-subset lp", 0.40, first=False),
    Step("sat", 0.60, first=False),
    Step("branch and bound", 0.60, first=False),
    Step("genetic algorithm", ga_share, first=False),
    Step("tree search", 1.00, first=False),
)


def seconds_for(step: Step, outlook: Outlook, remaining: float) -> float:
    """The seconds ``step`` may use of the ``remaining`` ones."""
    share = step.share(outlook) if callable(step.share) else step.share
    return max(0.0, min(step.most, share * remaining))


def default_schedules(n: int) -> int:
    """Schedule budget of the first genetic search: 500 per agent, 5,000 to 50,000.

    50,000 schedules take 2-3 s on j120 and bring the plan within 2% of the
    best known; the MILP rarely improves plans of that size afterwards.
    """
    return int(min(max(500 * n, 5_000), 50_000))
