"""The deadline: reservations, shares and turns, on a clock the test moves."""

from __future__ import annotations

import math

import pytest

from orchmilp.deadline import Deadline
from orchmilp.errors import InvalidOptions


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_reservations_come_out_of_what_is_left_and_go_back_when_released():
    clock = Clock()
    d = Deadline(10, clock=clock)
    clock.t += 1
    assert d.remaining() == pytest.approx(9)
    assert d.reserve("charts", 2) == 2 and d.reserve("answer", 0.5) == 0.5
    assert d.remaining() == pytest.approx(6.5)
    assert d.at() == pytest.approx(100 + 10 - 2.5)
    d.release("charts")
    assert d.remaining() == pytest.approx(8.5)
    d.release("never reserved")  # nothing to give back: no error
    assert d.reserve("answer", 1) == 1 and d.remaining() == pytest.approx(8)  # replaced, not added


def test_a_reservation_takes_at_most_its_share_and_nothing_is_negative():
    clock = Clock()
    d = Deadline(4, clock=clock)
    assert d.reserve("charts", 30, most_share=0.5) == 2
    clock.t += 10
    assert d.remaining() == 0 and d.share(0.7, least=0.1) == 0.1


def test_turns_share_what_is_left_when_each_starts():
    clock = Clock()
    d = Deadline(12, clock=clock)
    turns = d.split(3, most=5)
    assert next(turns) == 4  # 12 / 3
    clock.t += 1  # the first turn ended early: its time goes to the others
    assert next(turns) == 5  # min(5, 11 / 2)
    clock.t += 7
    assert next(turns) == pytest.approx(4)
    assert list(turns) == []


def test_used_keeps_part_of_each_turn_back():
    d = Deadline(10, clock=Clock())
    assert next(d.split(2, used=0.8)) == pytest.approx(4)


def test_no_deadline_gives_each_turn_its_most():
    d = Deadline.none()
    assert math.isinf(d.remaining()) and list(d.split(2, most=3)) == [3, 3]


@pytest.mark.parametrize("bad", [0, -1, math.nan, "10"])
def test_a_bad_time_limit_is_refused(bad):
    with pytest.raises(InvalidOptions, match="positive number of seconds"):
        Deadline(bad)
