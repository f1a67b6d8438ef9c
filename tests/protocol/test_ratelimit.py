"""Token bucket and login backoff (protocol/ratelimit.py). The caller passes
the time, so these tests drive it with made-up clocks."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desklink.protocol import limits
from desklink.protocol.ratelimit import KeyedBuckets, TokenBucket, login_backoff

# --------------------------------------------------------------------------
# TokenBucket


@pytest.mark.parametrize(("capacity", "per"), [(0, 1.0), (-1, 1.0), (1, 0.0), (1, -1.0)])
def test_capacity_and_per_must_be_positive(capacity: int, per: float) -> None:
    with pytest.raises(ValueError):
        TokenBucket(capacity, per)


def test_starts_full_and_allows_a_burst_of_capacity() -> None:
    bucket = TokenBucket(limits.MESSAGES_PER_MINUTE, 60.0)
    assert all(bucket.take(1000.0) for _ in range(limits.MESSAGES_PER_MINUTE))
    assert not bucket.take(1000.0)
    assert not bucket.take(1000.0)


def test_refills_at_rate_per_over_capacity() -> None:
    bucket = TokenBucket(120, 60.0)  # two a second
    for _ in range(120):
        bucket.take(0.0)
    assert not bucket.take(0.25)  # half a token
    assert bucket.take(0.5)  # 0.25 + 0.25 s: one token
    assert not bucket.take(0.5)
    assert bucket.take(1.0)
    assert not bucket.take(1.0)
    # a full second later there are two
    assert bucket.take(2.0) and bucket.take(2.0)
    assert not bucket.take(2.0)


def test_refill_is_capped_at_capacity() -> None:
    bucket = TokenBucket(5, 10.0)
    for _ in range(5):
        assert bucket.take(0.0)
    # a long idle period does not bank more than a burst
    assert sum(bucket.take(1e6) for _ in range(50)) == 5


def test_refused_take_does_not_spend() -> None:
    bucket = TokenBucket(1, 1.0)
    assert bucket.take(0.0)
    for _ in range(100):
        assert not bucket.take(0.5)
    assert bucket.take(1.0)


def test_retry_after() -> None:
    bucket = TokenBucket(120, 60.0)
    assert bucket.retry_after(0.0) == 0.0  # a token is there
    for _ in range(120):
        bucket.take(0.0)
    assert bucket.retry_after(0.0) == pytest.approx(0.5)
    assert bucket.retry_after(0.2) == pytest.approx(0.3)
    assert bucket.retry_after(0.5) == 0.0
    assert bucket.take(0.5)  # retry_after does not spend
    assert bucket.retry_after(0.5) == pytest.approx(0.5)


def test_retry_after_is_honest() -> None:
    bucket = TokenBucket(3, 7.0)
    for _ in range(3):
        bucket.take(10.0)
    wait = bucket.retry_after(10.0)
    assert wait == pytest.approx(7.0 / 3)
    assert not bucket.take(10.0 + wait * 0.99)
    assert bucket.take(10.0 + wait + 1e-9)


def test_time_going_backwards_does_not_mint_tokens() -> None:
    bucket = TokenBucket(2, 2.0)  # one a second
    assert bucket.take(100.0) and bucket.take(100.0)
    assert not bucket.take(0.0)
    assert not bucket.take(50.0)
    assert bucket.retry_after(0.0) == pytest.approx(1.0)
    # the clock comes back: refill counts from 100, not from 0 or 50
    assert bucket.take(101.0)
    assert not bucket.take(101.0)
    assert not bucket.take(101.5)


def test_time_going_backwards_does_not_move_the_stamp_back() -> None:
    bucket = TokenBucket(10, 10.0)
    for _ in range(10):
        bucket.take(50.0)
    bucket.take(-1e9)
    bucket.retry_after(-1e9)
    assert sum(bucket.take(51.0) for _ in range(10)) == 1


steps = st.lists(
    st.tuples(
        st.floats(min_value=-20.0, max_value=20.0, allow_nan=False),  # clock moves (may go back)
        st.integers(min_value=0, max_value=8),  # takes at that instant
    ),
    min_size=1,
    max_size=60,
)


@given(capacity=st.integers(min_value=1, max_value=10), per=st.floats(min_value=0.1, max_value=60.0), steps=steps)
def test_takes_never_exceed_burst_plus_refill(capacity: int, per: float, steps: list[tuple[float, int]]) -> None:
    """Between any two accepted takes, at most ``capacity`` plus what refilled
    in between were accepted. A window of length ``per`` therefore never holds
    more than ``2 * capacity``. Time is the clock's high-water mark: going
    back in time is not a refill."""
    bucket = TokenBucket(capacity, per)
    now = 1000.0
    high: float | None = None  # the bucket's clock starts at its first call
    accepted: list[float] = []
    for dt, n in steps:
        now += dt
        for _ in range(n):
            high = now if high is None else max(high, now)
            if bucket.take(now):
                accepted.append(high)
            assert 0.0 <= bucket.tokens <= capacity
    for i in range(len(accepted)):
        for j in range(i, len(accepted)):
            refilled = (accepted[j] - accepted[i]) * capacity / per
            assert j - i + 1 <= math.floor(capacity + refilled + 1e-6)
    for i, start in enumerate(accepted):
        in_window = sum(1 for t in accepted[i:] if t <= start + per)
        assert in_window <= 2 * capacity


@given(capacity=st.integers(min_value=1, max_value=10), per=st.floats(min_value=0.1, max_value=60.0), steps=steps)
def test_a_refused_take_means_retry_after_is_positive(capacity: int, per: float, steps: list[tuple[float, int]]) -> None:
    bucket = TokenBucket(capacity, per)
    now = 0.0
    for dt, n in steps:
        now += dt
        for _ in range(n):
            ok = bucket.take(now)
            wait = bucket.retry_after(now)
            assert 0.0 <= wait <= per / capacity + 1e-9
            if not ok:
                assert wait > 0.0


@given(capacity=st.integers(min_value=1, max_value=50), per=st.floats(min_value=0.1, max_value=60.0))
def test_steady_rate_after_the_burst(capacity: int, per: float) -> None:
    bucket = TokenBucket(capacity, per)
    assert sum(bucket.take(0.0) for _ in range(capacity + 5)) == capacity
    # over one full period exactly `capacity` more are allowed (taking as fast as allowed)
    t, taken, interval = 0.0, 0, per / capacity
    while t < per - interval / 2:
        t += interval
        taken += bucket.take(t + 1e-9 * per)
    assert capacity - 1 <= taken <= capacity


# --------------------------------------------------------------------------
# login_backoff


@pytest.mark.parametrize("failures", range(5))
def test_no_wait_below_the_limit(failures: int) -> None:
    assert login_backoff(failures, 5, 2.0) == 0.0


def test_doubles_from_the_base_at_the_limit() -> None:
    assert [login_backoff(n, 5, 2.0) for n in range(5, 10)] == [2.0, 4.0, 8.0, 16.0, 32.0]
    assert [login_backoff(n, 1, 0.5) for n in range(1, 4)] == [0.5, 1.0, 2.0]


def test_capped_at_an_hour() -> None:
    assert login_backoff(5 + 11, 5, 2.0) == 3600.0  # 2 * 2**11 = 4096
    assert login_backoff(5 + 10, 5, 2.0) == 2048.0
    assert login_backoff(1000, 5, 2.0) == 3600.0


def test_capped_at_an_hour_for_any_number_of_failures() -> None:
    assert login_backoff(5 + 1023, 5, 2.0) == 3600.0
    # 2 ** 1024 no longer converts to a float: the cap must still hold
    assert login_backoff(5 + 1024, 5, 2.0) == 3600.0
    assert login_backoff(10**6, 5, 2.0) == 3600.0


@given(
    failures=st.integers(min_value=0, max_value=10**6),
    limit=st.integers(min_value=1, max_value=100),
    base=st.floats(min_value=0.01, max_value=3600.0),
)
def test_backoff_bounds(failures: int, limit: int, base: float) -> None:
    wait = login_backoff(failures, limit, base)
    assert isinstance(wait, float)
    if failures < limit:
        assert wait == 0.0
    else:
        assert min(base, 3600.0) <= wait <= 3600.0
        assert wait <= login_backoff(failures + 1, limit, base)
        assert login_backoff(failures + 1, limit, base) <= 2 * wait


# --------------------------------------------------------------------------
# KeyedBuckets: one bucket per client address or account, bounded in number


def test_keys_have_separate_budgets() -> None:
    buckets = KeyedBuckets(3, 3.0, max_keys=10)
    assert [buckets.take("a", 0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = buckets.take("a", 0.0)
    assert wait == pytest.approx(1.0)  # one token a second
    assert buckets.take("b", 0.0) == 0.0  # another client is untouched
    assert buckets.take("a", 1.0) == 0.0
    assert buckets.statistics() == {"keys": 2, "refused": 1}


def test_a_refused_request_costs_no_token() -> None:
    buckets = KeyedBuckets(1, 10.0, max_keys=10)
    assert buckets.take("a", 0.0) == 0.0
    for _ in range(100):
        assert buckets.take("a", 5.0) > 0  # hammering does not push the refill back
    assert buckets.take("a", 10.0) == 0.0


def test_memory_is_bounded_and_the_least_recent_key_is_forgotten() -> None:
    buckets = KeyedBuckets(1, 60.0, max_keys=3)
    for key in ("a", "b", "c"):
        assert buckets.take(key, 0.0) == 0.0
    assert buckets.take("a", 0.0) > 0  # "a" is now the most recent
    assert buckets.take("d", 0.0) == 0.0  # forgets "b"
    assert buckets.statistics()["keys"] == 3
    assert buckets.take("a", 0.0) > 0 and buckets.take("c", 0.0) > 0  # still remembered
    assert buckets.take("b", 0.0) == 0.0  # forgotten: a fresh budget


@given(keys=st.lists(st.text(min_size=1, max_size=4), max_size=300), max_keys=st.integers(1, 20))
def test_never_holds_more_than_max_keys(keys: list[str], max_keys: int) -> None:
    buckets = KeyedBuckets(2, 1.0, max_keys=max_keys)
    for i, key in enumerate(keys):
        buckets.take(key, i * 0.01)
        assert buckets.statistics()["keys"] <= max_keys
