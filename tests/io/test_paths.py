"""Path normalisation, overlap and the exactness of the file-lock encoding."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchmilp.model.paths import file_conflicts, file_locks, normalize_path, overlaps


@pytest.mark.parametrize(
    "raw,normal",
    [
        ("src/a.py", "src/a.py"),
        ("./src//a.py", "src/a.py"),
        ("src/", "src/"),
        ("./", ""),
        ("a/./b/", "a/b/"),
        ("src/.", "src/"),
    ],
)
def test_normalize(raw, normal):
    assert normalize_path(raw) == normal


@pytest.mark.parametrize("raw,why", [("/etc", "absolute"), ("a/../b", "'..'"), ("", "empty")])
def test_normalize_rejects(raw, why):
    with pytest.raises(ValueError, match=why):
        normalize_path(raw)


@pytest.mark.parametrize(
    "a,b,expected",
    [
        ("src/", "src/a.py", True),
        ("src/a.py", "src/ab.py", False),
        ("src/a.py", "src/a.py", True),
        ("src", "src/a.py", False),  # a file named src covers nothing below it
        ("", "anything/at/all", True),
        ("src/", "srcx/", False),
    ],
)
def test_overlaps(a, b, expected):
    assert overlaps(a, b) is expected and overlaps(b, a) is expected


def test_readers_share_and_writers_conflict():
    reads = [("src/",), ("src/a.py",), (), ()]
    writes = [(), (), ("src/a.py",), ("docs/",)]
    pairs = file_conflicts(reads, writes)
    assert [(c.a, c.b) for c in pairs] == [(0, 2), (1, 2)]
    assert pairs[0].path_a == "src/" and pairs[0].path_b == "src/a.py"


PATHS = ["", "a", "b/", "b/x", "b/y", "b/c/", "b/c/z", "d/"]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.lists(st.sampled_from(PATHS), max_size=3), st.lists(st.sampled_from(PATHS), max_size=2)),
        min_size=1,
        max_size=7,
    )
)
def test_file_locks_forbid_exactly_the_conflicting_sets(agents):
    """Every set of agents passes all lock rows iff no two of them conflict."""
    reads = [tuple(dict.fromkeys(r)) for r, _ in agents]
    writes = [tuple(dict.fromkeys(w)) for _, w in agents]
    pairs, locks = file_conflicts(reads, writes), file_locks(reads, writes)
    conflict = {(c.a, c.b) for c in pairs}
    # brute force conflict definition
    n = len(agents)
    expected = {
        (i, j)
        for i, j in itertools.combinations(range(n), 2)
        if any(overlaps(w, q) for w in writes[i] for q in reads[j] + writes[j])
        or any(overlaps(w, q) for w in writes[j] for q in reads[i] + writes[i])
    }
    assert conflict == expected
    for size in range(1, n + 1):
        for subset in itertools.combinations(range(n), size):
            members = set(subset)
            fits = all(
                sum(lock.capacity for a in lock.writers if a in members) + sum(1 for a in lock.others if a in members)
                <= lock.capacity
                for lock in locks
            )
            independent = not any((i, j) in conflict for i, j in itertools.combinations(sorted(members), 2))
            assert fits == independent, (subset, locks)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(st.lists(st.sampled_from(PATHS[1:]), max_size=3), st.lists(st.sampled_from(PATHS[1:]), max_size=2)),
        min_size=2,
        max_size=7,
    ),
    st.data(),
)
def test_pairs_from_the_locks_and_a_lifted_conflict_stay_exact(agents, data):
    """The problem's pairs computed from its locks are its conflicts; lifting one conflict
    (a what-if) allows exactly that pair and keeps every other, in the locks and the pairs."""
    from orchmilp import load
    from orchmilp.analysis.bottlenecks import lift_conflict
    from orchmilp.model.paths import display_path

    workflow = {
        "agents": [
            {
                "id": f"a{i}",
                "duration": 1,
                "reads": [display_path(p) for p in r],
                "writes": [display_path(p) for p in w],
            }
            for i, (r, w) in enumerate(agents)
        ]
    }
    problem = load(workflow)
    pairs = [(c.a, c.b) for c in problem.conflicts]
    assert problem.conflict_pairs.tolist() == [list(p) for p in pairs]
    for a, b in pairs:  # the paths named for a pair really make it conflict
        c = problem.conflict(a, b)
        assert (c.a, c.b) == (a, b) and (overlaps(c.path_a, c.path_b))
    if not pairs:
        return
    a, b = data.draw(st.sampled_from(pairs))
    lifted = lift_conflict(problem, a, b)
    expected = set(pairs) - {(a, b)}
    assert {(c.a, c.b) for c in lifted.conflicts} == expected
    assert {tuple(p) for p in lifted.conflict_pairs.tolist()} == expected
    forbidden = set()
    for lock in lifted.locks:
        members = set(lock.writers) | set(lock.others)
        forbidden |= {(min(w, m), max(w, m)) for w in lock.writers for m in members if w != m}
    assert forbidden == expected
