"""The fast search over choices of modes (search/mode_choice.py): every score is the makespan
of a schedule the independent checker accepts, and the annealing keeps within the budgets."""

from __future__ import annotations

import itertools
import time

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import orchmilp
from orchmilp.io.modes import mode_table
from orchmilp.search import mode_choice
from orchmilp.search.mode_choice import ChoiceScorer, anneal_choices
from orchmilp.search.modes import result_of_schedule
from tests.helpers import assert_valid_plan
from tests.reference import in_modes, mode_brute_force, reference_optimum
from tests.strategies import mode_workflows


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mode_workflows(max_agents=6), st.randoms(use_true_random=False))
def test_a_score_is_the_makespan_of_a_valid_schedule_of_that_choice(workflow, rnd):
    table = mode_table(workflow)
    scorer = ChoiceScorer(table, orchmilp.load(workflow))
    choice = np.array([rnd.choice(modes) for modes in scorer.allowed])
    start = scorer.schedule(choice)
    single, _usd = in_modes(workflow, tuple(choice))
    result = result_of_schedule(orchmilp.load(table.apply(workflow, tuple(choice))), start, time.perf_counter())
    assert_valid_plan(single, result.to_dict(), samples=0)
    assert result.makespan == scorer.score(choice) >= reference_optimum(single)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mode_workflows(max_agents=6))
def test_the_annealed_choices_keep_within_the_budgets_and_beat_their_start(workflow):
    optimum = mode_brute_force(workflow)
    table = mode_table(workflow)
    scorer = ChoiceScorer(table, orchmilp.load(workflow))
    cheapest = tuple(
        min(modes, key=lambda m: table.modes[j][m].consumes.get("usd", 0.0)) for j, modes in enumerate(scorer.allowed)
    )
    found = anneal_choices(scorer, {cheapest: scorer.score(np.array(cheapest))}, time.perf_counter() + 0.05, keep=3)
    if optimum is None or not table.within_budgets(cheapest):
        assert optimum is not None or found == []
        return
    scores = [s for s, _c in found]
    assert scores == sorted(scores) and scores[0] <= scorer.score(np.array(cheapest))
    for score, choice in found:
        assert table.within_budgets(choice) and score == scorer.score(np.array(choice)) >= optimum


def test_the_annealing_finds_the_budgeted_optimum_from_the_cheapest_models(four_models):
    table = mode_table(four_models)
    scorer = ChoiceScorer(table, orchmilp.load(four_models))
    cheapest = tuple(max(modes, key=lambda m: table.modes[j][m].duration) for j, modes in enumerate(scorer.allowed))
    (score, choice), *_ = anneal_choices(
        scorer, {cheapest: scorer.score(np.array(cheapest))}, time.perf_counter() + 0.5
    )
    assert score == 310 < scorer.score(np.array(cheapest))  # the optimum: test_modes.py
    assert table.named(choice) == {"plan": "opus", "impl-a": "opus", "impl-b": "haiku"}


def test_a_stalled_annealing_starts_again_with_the_next_seed_until_runs_stop_gaining(four_models, monkeypatch):
    table = mode_table(four_models)
    scorer = ChoiceScorer(table, orchmilp.load(four_models))
    cheapest = tuple(max(modes, key=lambda m: table.modes[j][m].duration) for j, modes in enumerate(scorer.allowed))
    fastest = tuple(min(modes, key=lambda m: table.modes[j][m].duration) for j, modes in enumerate(scorer.allowed))
    fits = [c for c in itertools.product(*scorer.allowed) if scorer.fits(np.array(c))]
    # a start within the budgets scored between the cheapest models' and the optimum
    second = max(
        (c for c in fits if 310 < scorer.score(np.array(c)) < scorer.score(np.array(cheapest))),
        key=lambda c: scorer.score(np.array(c)),
    )
    assert not scorer.fits(np.array(fastest))  # passed over
    runs: list[tuple[tuple[int, ...], dict, float]] = []
    real = mode_choice._anneal

    def recorded(scorer, current, seen, switchable, until, rng):
        state = rng.bit_generator.state
        real(scorer, current, seen, switchable, until, rng)
        runs.append((tuple(int(m) for m in current), state, min(seen.values())))

    monkeypatch.setattr(mode_choice, "_anneal", recorded)
    starts = {c: scorer.score(np.array(c)) for c in (second, fastest, cheapest)}
    found = anneal_choices(scorer, starts, time.perf_counter() + 60, seed=5)
    # the best-scored start first, then the starts in turn, each run with its own seed: 5, 6, 7, ...
    assert [start for start, _s, _b in runs] == [(second, cheapest)[k % 2] for k in range(len(runs))]
    assert [state for _s, state, _b in runs] == [
        np.random.default_rng(5 + k).bit_generator.state for k in range(len(runs))
    ]
    # it stops, long before its time, once RESTARTS_WITHOUT_GAIN runs in a row found nothing better
    bests = [starts[second]] + [b for _s, _d, b in runs]
    last_gain = max((k for k in range(1, len(bests)) if bests[k] < bests[k - 1]), default=0)
    assert len(runs) == last_gain + mode_choice.RESTARTS_WITHOUT_GAIN
    assert found[0][0] == bests[-1] == 310


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mode_workflows(max_agents=6), st.integers(0, 6))
def test_a_cheapened_choice_spends_less_and_its_schedule_ends_by_the_deadline(workflow, slack):
    """cheapen_choice (least spend's fallback): from the most expensive choice within the
    budget, a choice that spends less, within the budget, whose schedule the independent
    checker accepts and which ends by the deadline; none only when no single switch to a
    cheaper mode keeps the schedule by the deadline."""
    table = mode_table(workflow)
    scorer = ChoiceScorer(table, orchmilp.load(workflow))
    within = [c for c in itertools.product(*scorer.allowed) if scorer.fits(np.array(c))]
    if not within:
        return
    start_choice = max(within, key=lambda c: in_modes(workflow, c)[1])
    deadline = scorer.score(np.array(start_choice)) + slack
    found = mode_choice.cheapen_choice(scorer, start_choice, table.consumed("usd"), deadline, time.perf_counter() + 5)
    if found is None:
        for j, modes in enumerate(scorer.allowed):
            for m in modes:
                other = np.array(start_choice)
                other[j] = m
                cheaper = in_modes(workflow, tuple(other))[1] < in_modes(workflow, start_choice)[1]
                if cheaper and scorer.fits(other):
                    assert scorer.score(other) > deadline
        return
    choice, start = found
    single, usd = in_modes(workflow, choice)
    assert usd < in_modes(workflow, start_choice)[1] and usd <= workflow["budgets"]["usd"]
    result = result_of_schedule(orchmilp.load(table.apply(workflow, choice)), start, time.perf_counter())
    assert_valid_plan(single, result.to_dict(), samples=0)
    assert result.makespan <= deadline
