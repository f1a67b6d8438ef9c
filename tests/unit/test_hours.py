"""Business hours (desklink.hours), pure: parsing and refusing, open or not
at an instant, the next opening, across daylight saving time, holidays and
overnight intervals; Hypothesis checks the rules that must hold for any
hours and instant."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desklink.hours import ALWAYS_OPEN, DAYS, Hours, HoursError, parse

BERLIN = ZoneInfo("Europe/Berlin")


def hours(raw: dict[str, Any]) -> Hours:
    return parse(raw, max_intervals=6, max_holidays=50)


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)  # type: ignore[misc]


OFFICE = {"tz": "Europe/Berlin", "weekly": {d: [["09:00", "17:00"]] for d in DAYS[:5]}}


class TestParse:
    def test_empty_is_always_open(self) -> None:
        assert parse(None, max_intervals=1, max_holidays=1) is ALWAYS_OPEN
        assert parse({}, max_intervals=1, max_holidays=1) is ALWAYS_OPEN
        assert ALWAYS_OPEN.is_open(datetime(2026, 12, 25, 3, tzinfo=UTC))
        assert ALWAYS_OPEN.next_opening(datetime(2026, 12, 25, 3, tzinfo=UTC)) is None

    def test_round_trip_normalises(self) -> None:
        raw = {"tz": "Europe/Berlin", "weekly": {"mon": [["13:30", "17:00"], ["09:00", "12:30"]], "tue": []},
               "holidays": ["2026-12-26", "2026-12-25"]}
        h = hours(raw)
        assert h.as_json() == {
            "tz": "Europe/Berlin",
            "weekly": {"mon": [["09:00", "12:30"], ["13:30", "17:00"]]},
            "holidays": ["2026-12-25", "2026-12-26"],
        }
        assert hours(h.as_json()) == h

    @pytest.mark.parametrize(
        ("raw", "words"),
        [
            ([], "must be an object"),
            ({"tz": "Nowhere/City"}, "not a time zone"),
            ({"tz": 5}, "time zone"),
            ({"zone": "UTC"}, "unknown fields"),
            ({"weekly": []}, "must map days"),
            ({"weekly": {"monday": []}}, "unknown days"),
            ({"weekly": {"mon": "09:00-17:00"}}, "list of [start, end]"),
            ({"weekly": {"mon": [["09:00"]]}}, "[start, end]"),
            ({"weekly": {"mon": [["9:00", "17:00"]]}}, "not a time like"),
            ({"weekly": {"mon": [["09:00", "17:60"]]}}, "not a time like"),
            ({"weekly": {"mon": [["09:00", "24:01"]]}}, "past 24:00"),
            ({"weekly": {"mon": [["24:00", "02:00"]]}}, "cannot start at 24:00"),
            ({"weekly": {"mon": [["09:00", "09:00"]]}}, "is empty"),
            ({"weekly": {"mon": [["09:00", "12:00"], ["11:59", "13:00"]]}}, "overlap"),
            ({"weekly": {"mon": [["22:00", "02:00"], ["23:00", "23:30"]]}}, "overlap"),
            ({"weekly": {"mon": [[f"{h:02d}:00", f"{h:02d}:30"] for h in range(7)]}}, "at most 6"),
            ({"holidays": "2026-12-25"}, "list of dates"),
            ({"holidays": ["2026-02-30"]}, "not a date"),
            ({"holidays": ["20261225"]}, "not a date"),
            ({"holidays": [f"2027-01-{d:02d}" for d in range(1, 32)] + [f"2027-02-{d:02d}" for d in range(1, 21)]}, "at most 50"),
        ],
    )
    def test_refused_in_words(self, raw: Any, words: str) -> None:
        with pytest.raises(HoursError) as err:
            hours(raw)
        assert words in str(err.value)


class TestOpen:
    def test_office_hours(self) -> None:
        h = hours(OFFICE)
        assert not h.is_open(berlin(2026, 12, 7, 8, 59))  # Monday
        assert h.is_open(berlin(2026, 12, 7, 9, 0))
        assert h.is_open(berlin(2026, 12, 7, 16, 59))
        assert not h.is_open(berlin(2026, 12, 7, 17, 0))  # end is exclusive
        assert h.next_opening(berlin(2026, 12, 7, 17, 0)) == berlin(2026, 12, 8, 9, 0)
        # Friday evening: next opening is Monday morning.
        assert h.next_opening(berlin(2026, 12, 11, 18, 0)) == berlin(2026, 12, 14, 9, 0)
        assert h.next_opening(berlin(2026, 12, 7, 12, 0)) is None  # open now

    def test_several_intervals_a_day(self) -> None:
        h = hours({"tz": "UTC", "weekly": {"mon": [["09:00", "12:00"], ["13:00", "17:00"]]}})
        lunch = datetime(2026, 12, 7, 12, 30, tzinfo=UTC)
        assert not h.is_open(lunch)
        assert h.next_opening(lunch) == datetime(2026, 12, 7, 13, 0, tzinfo=UTC)

    def test_holidays_close_the_day_they_start(self) -> None:
        h = hours({**OFFICE, "holidays": ["2026-12-24", "2026-12-25"]})
        assert not h.is_open(berlin(2026, 12, 24, 10, 0))
        assert h.next_opening(berlin(2026, 12, 23, 18, 0)) == berlin(2026, 12, 28, 9, 0)

    def test_holidays_alone_close_only_those_days(self) -> None:
        h = hours({"tz": "Europe/Berlin", "holidays": ["2026-12-25"]})
        assert h.is_open(berlin(2026, 12, 24, 23, 59))
        assert not h.is_open(berlin(2026, 12, 25, 12, 0))
        assert h.next_opening(berlin(2026, 12, 25, 12, 0)) == berlin(2026, 12, 26, 0, 0)

    def test_overnight_interval_runs_into_the_next_day(self) -> None:
        h = hours({"tz": "Europe/Berlin", "weekly": {"fri": [["22:00", "06:00"]]}})
        assert h.is_open(berlin(2026, 12, 4, 23, 0))  # Friday
        assert h.is_open(berlin(2026, 12, 5, 5, 59))  # Saturday morning
        assert not h.is_open(berlin(2026, 12, 5, 6, 0))
        assert not h.is_open(berlin(2026, 12, 4, 5, 0))  # Friday morning belongs to Thursday: closed
        assert h.next_opening(berlin(2026, 12, 5, 6, 0)) == berlin(2026, 12, 11, 22, 0)

    def test_overnight_into_a_holiday_still_runs(self) -> None:
        h = hours({"tz": "Europe/Berlin", "weekly": {"fri": [["22:00", "06:00"]], "sat": [["22:00", "06:00"]]},
                   "holidays": ["2026-12-05"]})
        assert h.is_open(berlin(2026, 12, 5, 3, 0))  # Friday's night, into Saturday's holiday
        assert not h.is_open(berlin(2026, 12, 5, 23, 0))  # Saturday's own interval is cancelled

    def test_until_midnight(self) -> None:
        h = hours({"tz": "UTC", "weekly": {"mon": [["18:00", "24:00"]]}})
        assert h.is_open(datetime(2026, 12, 7, 23, 59, tzinfo=UTC))
        assert not h.is_open(datetime(2026, 12, 8, 0, 0, tzinfo=UTC))


class TestDaylightSavingTime:
    def test_wall_clock_hours_hold_in_summer_and_winter(self) -> None:
        h = hours(OFFICE)
        winter, summer = berlin(2026, 1, 5, 9, 0), berlin(2026, 7, 6, 9, 0)
        assert h.is_open(winter) and h.is_open(summer)
        assert winter.astimezone(UTC).hour == 8 and summer.astimezone(UTC).hour == 7
        assert not h.is_open(berlin(2026, 7, 6, 8, 59))

    def test_spring_forward(self) -> None:
        # 2026-03-29: Berlin's clocks jump from 02:00 to 03:00.
        h = hours({"tz": "Europe/Berlin", "weekly": {"sat": [["22:00", "06:00"]]}})
        start, end = berlin(2026, 3, 28, 22, 0), berlin(2026, 3, 29, 6, 0)
        assert h.is_open(start) and not h.is_open(end)
        assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=7)  # one hour shorter that night
        assert h.is_open(datetime(2026, 3, 29, 3, 59, tzinfo=UTC))  # 05:59 summer time
        assert not h.is_open(datetime(2026, 3, 29, 4, 0, tzinfo=UTC))

    def test_an_interval_in_the_skipped_hour_does_not_open(self) -> None:
        h = hours({"tz": "Europe/Berlin", "weekly": {"sun": [["02:00", "03:00"]]}})
        night = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # 01:30 winter time
        assert not h.is_open(datetime(2026, 3, 29, 1, 0, tzinfo=UTC))
        assert h.next_opening(night) == berlin(2026, 4, 5, 2, 0)

    def test_fall_back(self) -> None:
        # 2026-10-25: 03:00 summer time becomes 02:00 winter time again.
        h = hours({"tz": "Europe/Berlin", "weekly": {"sat": [["22:00", "06:00"]]}})
        start, end = berlin(2026, 10, 24, 22, 0), berlin(2026, 10, 25, 6, 0)
        assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=9)
        assert h.is_open(datetime(2026, 10, 25, 4, 59, tzinfo=UTC))  # 05:59 winter time
        assert not h.is_open(datetime(2026, 10, 25, 5, 0, tzinfo=UTC))

    def test_next_opening_across_the_change(self) -> None:
        h = hours(OFFICE)
        friday = berlin(2026, 3, 27, 18, 0)
        assert h.next_opening(friday) == berlin(2026, 3, 30, 9, 0)
        assert h.next_opening(friday).astimezone(UTC).hour == 7  # type: ignore[union-attr]


# ---------------------------------------------------------------- properties
_clock = st.integers(0, 24 * 60 - 1).map(lambda m: f"{m // 60:02d}:{m % 60:02d}")
_interval = st.tuples(_clock, _clock).filter(lambda p: p[0] != p[1]).map(list)
_zones = st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"])
_day = st.dates(date(2026, 1, 1), date(2027, 12, 31))


@st.composite
def _hours(draw: st.DrawFn) -> Hours:
    weekly = {}
    for d in draw(st.lists(st.sampled_from(DAYS), unique=True, max_size=7)):
        weekly[d] = [draw(_interval)]
    holidays = [x.isoformat() for x in draw(st.lists(_day, unique=True, max_size=5))]
    return hours({"tz": draw(_zones), "weekly": weekly, "holidays": holidays})


_instant = st.datetimes(datetime(2026, 1, 1), datetime(2027, 12, 31), timezones=st.just(UTC))


@settings(max_examples=150, deadline=None)
@given(_hours(), _instant)
def test_next_opening_is_the_first_open_instant(h: Hours, now: datetime) -> None:
    """Closed now and an opening found: open there, closed a minute before
    it (or it is exactly now+), and not open at any whole hour in between."""
    nxt = h.next_opening(now)
    if h.is_open(now):
        assert nxt is None
        return
    if nxt is None:
        return
    assert nxt > now
    assert h.is_open(nxt)
    probe = now + timedelta(minutes=30)
    while probe < nxt:
        assert not h.is_open(probe), (probe, nxt)
        probe += timedelta(minutes=30)


@settings(max_examples=150, deadline=None)
@given(_hours(), _instant)
def test_json_round_trip_answers_alike(h: Hours, now: datetime) -> None:
    again = hours(h.as_json())
    assert again == h
    assert again.is_open(now) == h.is_open(now)


@settings(max_examples=100, deadline=None)
@given(_hours(), _day)
def test_a_holiday_with_no_overnight_before_it_is_closed_all_day(h: Hours, day: date) -> None:
    closed = Hours(tz=h.tz, weekly=h.weekly, holidays=h.holidays | {day, day - timedelta(days=1)})
    if closed.always_open:
        return
    local = datetime(day.year, day.month, day.day, 12, tzinfo=ZoneInfo(h.tz))
    assert not closed.is_open(local)
