"""expected_wait (dispatch/wait.py): the estimate a waiting visitor sees."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desklink.dispatch.wait import DEFAULT_WAIT_S, ROUND_TO_S, expected_wait

waits = st.lists(st.floats(min_value=0.0, max_value=24 * 3600.0), max_size=30)
positions = st.integers(min_value=1, max_value=500)
reps = st.integers(min_value=1, max_value=100)


def test_constants() -> None:
    assert DEFAULT_WAIT_S == 60.0
    assert ROUND_TO_S == 15.0


@pytest.mark.parametrize("online", [0, -1])
def test_nobody_online_means_no_estimate(online: int) -> None:
    assert expected_wait(1, [30.0, 40.0], online) is None
    assert expected_wait(7, [], online) is None


@pytest.mark.parametrize("position", [0, -1])
def test_position_zero_is_no_wait(position: int) -> None:
    assert expected_wait(position, [300.0], 2) == 0.0


def test_without_history_a_minute_per_position() -> None:
    assert expected_wait(1, [], 1) == 60.0
    assert expected_wait(3, [], 1) == 180.0


def test_median_of_recent_waits_times_position() -> None:
    assert expected_wait(1, [30.0, 45.0, 600.0], 1) == 45.0
    assert expected_wait(2, [30.0, 45.0, 600.0], 1) == 90.0
    # even count: mean of the middle two
    assert expected_wait(1, [30.0, 90.0], 1) == 60.0
    # one very slow request does not move the estimate
    assert expected_wait(1, [60.0, 60.0, 60.0, 86400.0], 1) == 60.0
    # order does not matter
    assert expected_wait(1, [600.0, 30.0, 45.0], 1) == 45.0


def test_rounded_up_to_a_quarter_minute() -> None:
    assert expected_wait(1, [61.0], 1) == 75.0
    assert expected_wait(1, [75.0], 1) == 75.0
    assert expected_wait(1, [75.001], 1) == 90.0
    assert expected_wait(3, [20.0], 1) == 60.0
    assert expected_wait(3, [21.0], 1) == 75.0  # 63 s -> 75 s


def test_never_below_one_step_per_position() -> None:
    assert expected_wait(1, [0.0, 1.0, 2.0], 1) == 15.0
    assert expected_wait(4, [1.0], 1) == 60.0


def test_number_of_reps_does_not_change_a_positive_estimate() -> None:
    assert expected_wait(2, [100.0], 1) == expected_wait(2, [100.0], 9)


@given(position=positions, recent=waits, online=reps)
def test_rounded_estimate_bounds(position: int, recent: list[float], online: int) -> None:
    est = expected_wait(position, recent, online)
    assert est is not None
    assert est % ROUND_TO_S == 0
    per = sorted(recent)[len(recent) // 2] if len(recent) % 2 else None
    if per is not None:
        raw = max(per, ROUND_TO_S) * position
        assert raw <= est < raw + ROUND_TO_S
    assert est >= ROUND_TO_S * position


@given(position=positions, recent=waits, online=reps)
def test_monotonic_in_position(position: int, recent: list[float], online: int) -> None:
    here = expected_wait(position, recent, online)
    behind = expected_wait(position + 1, recent, online)
    assert here is not None and behind is not None
    assert behind > here
    assert expected_wait(position - 1, recent, online) < here  # type: ignore[operator]


@given(position=positions, recent=waits, extra=st.floats(min_value=0.0, max_value=24 * 3600.0))
def test_monotonic_in_history(position: int, recent: list[float], extra: float) -> None:
    # making every recent wait longer never shortens the estimate
    longer = [w + extra for w in recent]
    assert expected_wait(position, longer, 1) >= expected_wait(position, recent, 1)  # type: ignore[operator]
