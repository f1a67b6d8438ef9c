"""A queue's business hours: when its help desk is open (sans-I/O).

Theory of operation
-------------------
Hours are a time zone (IANA, e.g. ``Europe/Berlin``), up to
``max_intervals`` opening intervals per weekday and a list of holidays
(dates in that zone). As JSON, the shape the store keeps and the admin API
takes::

    {"tz": "Europe/Berlin",
     "weekly": {"mon": [["09:00", "12:30"], ["13:30", "17:00"]], "sat": [["22:00", "06:00"]]},
     "holidays": ["2026-12-24", "2026-12-25"]}

Rules:

* No interval on any day means **open all day, every day** except the
  holidays; with no holidays either, always open (the default: a queue
  without hours behaves as before).
* An interval is ``[start, end)`` in the zone's wall-clock time, minutes
  precision; ``end`` may be ``24:00``. ``end`` before ``start`` is an
  **overnight** interval: it runs into the next day (``22:00-06:00``).
  ``start == end`` is refused (say ``00:00-24:00`` for all day).
* An interval belongs to the day it **starts** on. A holiday cancels the
  intervals that start on it; Friday's ``22:00-06:00`` still runs into a
  Saturday holiday's morning.
* Wall-clock times are turned into instants with :mod:`zoneinfo`, so
  daylight saving time is honoured: ``09:00`` is 09:00 local in summer and
  winter. A time skipped by a spring-forward jump counts as the instant the
  clock jumps to (``02:30`` on that night is 03:30 local); an ambiguous one
  (autumn) is its first occurrence.

:func:`parse` checks and normalises the JSON (:class:`HoursError` in words
when it is wrong); :meth:`Hours.is_open` and :meth:`Hours.next_opening`
answer for a given instant, which the caller passes in (tests control the
clock).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from desklink.errors import ProtocolError

#: Weekday keys in ``datetime.weekday()`` order.
DAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: How far :meth:`Hours.next_opening` looks ahead: a year and a week covers
#: every holiday list a year long.
LOOKAHEAD_DAYS: Final = 372
_CLOCK = re.compile(r"([01]\d|2[0-4]):([0-5]\d)")
_MINUTES_PER_DAY: Final = 24 * 60


class HoursError(ProtocolError):
    """Business hours that cannot be used, said in words."""


@dataclass(frozen=True, slots=True)
class Interval:
    """Minutes since local midnight; ``end <= start`` runs overnight."""

    start: int
    end: int

    @property
    def overnight(self) -> bool:
        return self.end <= self.start

    def text(self) -> tuple[str, str]:
        return _clock(self.start), _clock(self.end)


@dataclass(frozen=True, slots=True)
class Hours:
    tz: str = "UTC"
    #: One tuple of intervals per weekday, Monday first.
    weekly: tuple[tuple[Interval, ...], ...] = ((),) * 7
    holidays: frozenset[date] = frozenset()

    @property
    def always_open(self) -> bool:
        return not any(self.weekly) and not self.holidays

    def _intervals(self, day: date) -> tuple[Interval, ...]:
        if day in self.holidays:
            return ()
        if not any(self.weekly):
            return (ALL_DAY,)
        return self.weekly[day.weekday()]

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    def _spans(self, day: date) -> list[tuple[datetime, datetime]]:
        """The open spans (UTC) of the intervals that start on local ``day``."""
        zone = self.zone
        spans = []
        for iv in self._intervals(day):
            start = _instant(day, iv.start, zone)
            end_day = day + timedelta(days=1) if iv.overnight else day
            end = _instant(end_day, iv.end, zone)
            if end > start:
                spans.append((start, end))
        return spans

    def is_open(self, now: datetime) -> bool:
        """Whether the desk is open at ``now`` (timezone-aware)."""
        if self.always_open:
            return True
        today = now.astimezone(self.zone).date()
        return any(start <= now < end for d in (today - timedelta(days=1), today) for start, end in self._spans(d))

    def next_opening(self, now: datetime) -> datetime | None:
        """When the desk next opens after ``now`` (UTC), or ``None`` when it
        is open now or does not open within :data:`LOOKAHEAD_DAYS`."""
        if self.is_open(now):
            return None
        today = now.astimezone(self.zone).date()
        for n in range(-1, LOOKAHEAD_DAYS):
            starts = sorted(start for start, _ in self._spans(today + timedelta(days=n)) if start > now)
            if starts:
                return starts[0]
        return None

    def as_json(self) -> dict[str, Any]:
        """The normalised JSON form (what :func:`parse` takes)."""
        return {
            "tz": self.tz,
            "weekly": {name: [list(iv.text()) for iv in ivs] for name, ivs in zip(DAYS, self.weekly, strict=True) if ivs},
            "holidays": sorted(d.isoformat() for d in self.holidays),
        }


ALWAYS_OPEN: Final = Hours()
ALL_DAY: Final = Interval(0, 24 * 60)


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _instant(day: date, minutes: int, zone: ZoneInfo) -> datetime:
    """Local wall-clock ``minutes`` on ``day`` as a UTC instant (24:00 is
    the next midnight). ``fold=0``: an ambiguous time is its first
    occurrence, a skipped one is read with the offset before the jump."""
    if minutes >= _MINUTES_PER_DAY:
        day, minutes = day + timedelta(days=1), minutes - _MINUTES_PER_DAY
    return datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=zone).astimezone(UTC)


def _minutes(value: Any, what: str) -> int:
    if not isinstance(value, str) or not _CLOCK.fullmatch(value):
        raise HoursError(f"{what}: {str(value)[:20]!r} is not a time like 09:00 (00:00 to 24:00)")
    hh, mm = int(value[:2]), int(value[3:])
    if hh == 24 and mm:
        raise HoursError(f"{what}: {value!r} is past 24:00")
    return hh * 60 + mm


def parse(raw: Any, *, max_intervals: int, max_holidays: int) -> Hours:
    """Check and normalise business hours given as JSON; ``None`` or ``{}``
    mean always open. :class:`HoursError` says what is wrong."""
    if raw is None or raw == {}:
        return ALWAYS_OPEN
    if not isinstance(raw, dict):
        raise HoursError("hours must be an object with tz, weekly and holidays")
    unknown = sorted(set(raw) - {"tz", "weekly", "holidays"})
    if unknown:
        raise HoursError(f"hours have unknown fields {unknown[:5]}; they are tz, weekly and holidays")
    tz = raw.get("tz", "UTC")
    if not isinstance(tz, str) or not tz or len(tz) > 64:
        raise HoursError("tz must be a time zone like Europe/Berlin")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise HoursError(f"tz: {tz[:64]!r} is not a time zone like Europe/Berlin") from None
    weekly_raw = raw.get("weekly")
    weekly_raw = {} if weekly_raw is None else weekly_raw
    if not isinstance(weekly_raw, dict):
        raise HoursError("weekly must map days (mon ... sun) to lists of [start, end]")
    bad_days = sorted(str(k)[:10] for k in weekly_raw if k not in DAYS)
    if bad_days:
        raise HoursError(f"weekly has unknown days {bad_days[:5]}; days are {', '.join(DAYS)}")
    weekly: list[tuple[Interval, ...]] = []
    for name in DAYS:
        given = weekly_raw.get(name)
        given = [] if given is None else given
        if not isinstance(given, list):
            raise HoursError(f"weekly.{name} must be a list of [start, end]")
        if len(given) > max_intervals:
            raise HoursError(f"weekly.{name} has {len(given)} intervals; at most {max_intervals} a day")
        ivs = []
        for pair in given:
            if not isinstance(pair, list) or len(pair) != 2:
                raise HoursError(f"weekly.{name}: each interval is [start, end], like [\"09:00\", \"17:00\"]")
            start, end = _minutes(pair[0], f"weekly.{name}"), _minutes(pair[1], f"weekly.{name}")
            if start == end:
                raise HoursError(f"weekly.{name}: {pair[0]}-{pair[1]} is empty (00:00-24:00 is all day)")
            if start == _MINUTES_PER_DAY:
                raise HoursError(f"weekly.{name}: an interval cannot start at 24:00")
            ivs.append(Interval(start, end))
        ivs.sort(key=lambda iv: iv.start)
        _check_no_overlap(name, ivs)
        weekly.append(tuple(ivs))
    holidays_raw = raw.get("holidays")
    holidays_raw = [] if holidays_raw is None else holidays_raw
    if not isinstance(holidays_raw, list):
        raise HoursError("holidays must be a list of dates like 2026-12-25")
    if len(holidays_raw) > max_holidays:
        raise HoursError(f"{len(holidays_raw)} holidays; at most {max_holidays}")
    holidays = set()
    for d in holidays_raw:
        try:
            if not isinstance(d, str) or len(d) != 10:
                raise ValueError
            holidays.add(date.fromisoformat(d))
        except ValueError:
            raise HoursError(f"holidays: {str(d)[:20]!r} is not a date like 2026-12-25") from None
    return Hours(tz=tz, weekly=tuple(weekly), holidays=frozenset(holidays))


def _check_no_overlap(name: str, ivs: list[Interval]) -> None:
    """Intervals of one day, sorted by start, must not overlap (an overnight
    one runs to the end of the day as far as this day goes)."""
    for a, b in zip(ivs, ivs[1:], strict=False):
        a_end = _MINUTES_PER_DAY if a.overnight else a.end
        if b.start < a_end:
            raise HoursError(f"weekly.{name}: {'-'.join(a.text())} and {'-'.join(b.text())} overlap")


def stored(raw: Any) -> Hours:
    """Hours as the store keeps them (checked when they were set); anything
    unreadable counts as always open rather than stopping the help box."""
    try:
        return parse(raw, max_intervals=_MINUTES_PER_DAY, max_holidays=10**6)
    except HoursError:
        return ALWAYS_OPEN
