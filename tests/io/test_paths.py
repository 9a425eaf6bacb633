"""Path normalisation, overlap and the exactness of the file-lock encoding."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchmilp.model.paths import file_conflicts, normalize_path, overlaps


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
    pairs, _ = file_conflicts(reads, writes)
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
    pairs, locks = file_conflicts(reads, writes)
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
