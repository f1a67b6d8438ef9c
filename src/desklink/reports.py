"""Support metrics: what every figure of a report means, the periods a report
is cut into, and its CSV form. The store computes the figures in SQL
(``store/_reports.py``); the admin center's charts, the CSV export and the
daily e-mail all read the same :class:`Report`, so they can never disagree.

Theory of operation
-------------------
A report covers the local calendar days ``first`` to ``last`` (inclusive) in
one IANA time zone, and is cut into rows by ``group``:

* ``day`` / ``week``: one row per local day, or per ISO week (Monday first)
  clipped to the range. Day boundaries are computed here, in Python, with the
  zone's real offsets (a DST day has 23 or 25 hours), and handed to the SQL
  as a list of ``[start, end)`` UTC intervals (:class:`Bucket`): the
  databases never convert time zones, so SQLite and PostgreSQL agree.
* ``queue`` / ``rep``: one row per queue or per rep over the whole range.

The counting rule: **everything about a request is counted in the period in
which it was submitted** (its wait, its session's handle time, escalations,
disposition and rating), so a row's figures always describe the same set of
requests. Only the reps' online time and load are cut by the clock: the part
of each online stretch (and each session) that falls inside the period.

Percentiles are nearest-rank: p50 of n sorted values is the value at rank
ceil(0.5 * n). Rates are fractions of ``answered`` (0.0 to 1.0), ``None``
where nothing was answered. Times are in seconds.

Scope: a rep sees only their own figures, a supervisor those of their queues,
an admin everything (``server/api_reports.py`` sets :attr:`ReportQuery.queue_ids`
and :attr:`ReportQuery.rep_ids` from the caller's role).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Final, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from desklink.errors import ProtocolError
from desklink.protocol import limits

Group = Literal["day", "week", "queue", "rep"]
GROUPS: Final[tuple[Group, ...]] = get_args(Group)
Unit = Literal["count", "seconds", "ratio", "rating"]

#: The longest range one report may cover (a year of days); the server's
#: setting ``report_max_days`` may only lower it.
MAX_REPORT_DAYS: Final = limits.REPORT_MAX_DAYS


@dataclass(frozen=True)
class Figure:
    """One column of a report: its name (CSV header, JSON key), a short
    label for people, its unit, and what it means (docs/operations.md
    repeats these words)."""

    name: str
    label: str
    unit: Unit
    definition: str


FIGURES: Final[tuple[Figure, ...]] = (
    Figure("requests", "Requests", "count", "Requests submitted in the period."),
    Figure("answered", "Answered", "count", "Of those, requests a rep accepted (each became a session)."),
    Figure(
        "abandoned",
        "Abandoned",
        "count",
        "Requests that ended before anyone accepted: the visitor cancelled or left.",
    ),
    Figure(
        "cancelled",
        "Cancelled",
        "count",
        "Of the abandoned, those the visitor cancelled (the rest closed their page and did not come back).",
    ),
    Figure("abandoned_wait_p50", "Abandoned after p50", "seconds", "Median time from submit to abandoning."),
    Figure("abandoned_wait_p90", "Abandoned after p90", "seconds", "90th percentile of time from submit to abandoning."),
    Figure("expired", "Expired", "count", "Requests nobody accepted before they expired."),
    Figure("wait_p50", "Wait p50", "seconds", "Median time from submit to accept, over answered requests."),
    Figure("wait_p90", "Wait p90", "seconds", "90th percentile of time from submit to accept."),
    Figure("handle_p50", "Handle p50", "seconds", "Median time from accept to end, over ended sessions."),
    Figure("handle_p90", "Handle p90", "seconds", "90th percentile of time from accept to end."),
    Figure("screen_rate", "To screen", "ratio", "Share of answered requests whose session shared a screen."),
    Figure("control_rate", "To control", "ratio", "Share of answered requests where the rep was granted control."),
    Figure("files_rate", "To files", "ratio", "Share of answered requests where a file was offered or asked for."),
    Figure("resolved_rate", "Resolved", "ratio", "Share of answered requests wrapped up as resolved."),
    Figure("not_resolved_rate", "Not resolved", "ratio", "Share wrapped up as not resolved."),
    Figure("escalated_rate", "Escalated", "ratio", "Share wrapped up as escalated."),
    Figure("rating_avg", "Rating", "rating", "Mean visitor rating (1 to 5) of the rated sessions."),
    Figure("rating_count", "Ratings", "count", "Sessions the visitor rated."),
    Figure(
        "online_s",
        "Online time",
        "seconds",
        "Time reps were online in the period (a rep's overlapping consoles count once;"
        " per queue: the queue's members).",
    ),
    Figure(
        "load_avg",
        "Load",
        "ratio",
        "Average number of open sessions per online rep: session time inside the period divided by online time.",
    ),
    Figure("load_peak", "Peak load", "count", "Most sessions one rep held at the same moment in the period."),
)
FIGURE_NAMES: Final[tuple[str, ...]] = tuple(f.name for f in FIGURES)

Value = int | float | None


@dataclass(frozen=True)
class Bucket:
    """One period of a day or week report: ``[start, end)`` in UTC."""

    key: str
    label: str
    start: datetime
    end: datetime


def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``; :class:`ProtocolError` for an unknown one."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ProtocolError(f"unknown time zone {name!r}") from None


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The first instant of ``day`` in ``tz``, in UTC (zoneinfo resolves a
    midnight skipped or repeated by DST to the instant the day begins)."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def day_buckets(first: date, last: date, tz: ZoneInfo) -> list[Bucket]:
    out = []
    day = first
    while day <= last:
        nxt = day + timedelta(days=1)
        out.append(Bucket(day.isoformat(), day.isoformat(), local_midnight(day, tz), local_midnight(nxt, tz)))
        day = nxt
    return out


def week_buckets(first: date, last: date, tz: ZoneInfo) -> list[Bucket]:
    """ISO weeks (Monday to Sunday), the first and last clipped to the range;
    the key is the ISO week (``2026-W49``)."""
    out = []
    day = first
    while day <= last:
        end = min(day + timedelta(days=7 - day.weekday()), last + timedelta(days=1))
        year, week, _ = day.isocalendar()
        label = f"{year}-W{week:02d} ({day.isoformat()})"
        out.append(Bucket(f"{year}-W{week:02d}", label, local_midnight(day, tz), local_midnight(end, tz)))
        day = end
    return out


@dataclass(frozen=True)
class ReportQuery:
    """What to report on. ``queue_ids``/``rep_ids``: ``None`` for all, else
    only those (a filter the caller chose, intersected with the caller's
    scope by the API)."""

    first: date
    last: date
    tz: str = "UTC"
    group: Group = "day"
    queue_ids: frozenset[int] | None = None
    rep_ids: frozenset[int] | None = None

    def __post_init__(self) -> None:
        if self.group not in GROUPS:
            raise ProtocolError(f"group must be one of {', '.join(GROUPS)}")
        if self.last < self.first:
            raise ProtocolError("the report ends before it starts")
        if (self.last - self.first).days + 1 > MAX_REPORT_DAYS:
            raise ProtocolError(f"a report covers at most {MAX_REPORT_DAYS} days")
        zone(self.tz)

    @property
    def start(self) -> datetime:
        return local_midnight(self.first, zone(self.tz))

    @property
    def end(self) -> datetime:
        return local_midnight(self.last + timedelta(days=1), zone(self.tz))

    def buckets(self) -> list[Bucket]:
        """The rows' periods for ``day``/``week``; one period spanning the
        whole range for ``queue``/``rep``."""
        tz = zone(self.tz)
        if self.group == "day":
            return day_buckets(self.first, self.last, tz)
        if self.group == "week":
            return week_buckets(self.first, self.last, tz)
        label = f"{self.first.isoformat()} to {self.last.isoformat()}"
        return [Bucket("all", label, self.start, self.end)]


@dataclass(frozen=True)
class ReportRow:
    """One row: ``key`` (a day, an ISO week, a queue id or a user id, as
    text), ``label`` for people (a queue's or rep's name), and one value per
    name in :data:`FIGURE_NAMES`."""

    key: str
    label: str
    figures: dict[str, Value] = field(default_factory=dict)


@dataclass(frozen=True)
class Report:
    query: ReportQuery
    rows: tuple[ReportRow, ...]
    #: The same figures over every row at once (percentiles of the whole
    #: range, not an average of the rows').
    total: ReportRow


def as_json(report: Report) -> dict[str, object]:
    q = report.query
    return {
        "from": q.first.isoformat(),
        "to": q.last.isoformat(),
        "tz": q.tz,
        "group": q.group,
        "figures": [{"name": f.name, "label": f.label, "unit": f.unit, "definition": f.definition} for f in FIGURES],
        "rows": [{"key": r.key, "label": r.label, **r.figures} for r in report.rows],
        "total": {"key": report.total.key, "label": report.total.label, **report.total.figures},
    }


def _cell(value: Value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))
    return str(value)


def safe_cell(text: str) -> str:
    """Text as a CSV cell that a spreadsheet will not run as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


_safe = safe_cell


def as_csv(report: Report) -> str:
    """The report as CSV (RFC 4180, ``\\r\\n`` line ends): a header of
    ``group``, ``label`` and every figure name, one line per row and a last
    ``total`` line. Seconds are plain numbers of seconds; ratios fractions."""
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow([report.query.group, "label", *FIGURE_NAMES])
    for row in (*report.rows, report.total):
        w.writerow([_safe(row.key), _safe(row.label), *(_cell(row.figures.get(n)) for n in FIGURE_NAMES)])
    return out.getvalue()
