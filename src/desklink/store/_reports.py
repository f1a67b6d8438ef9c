"""Reports: every figure of :data:`desklink.reports.FIGURES`, computed in SQL
that runs on SQLite and PostgreSQL alike.

How the SQL is cut
------------------
The periods arrive as ``[start, end)`` UTC intervals (:class:`Bucket`) and
become a ``UNION ALL`` CTE the rows are joined to; the databases never
convert time zones. Each report runs four statements per set of rows (the
rows, then the ``total`` over the whole range):

* **requests** (two statements): one row per request submitted in a
  period, with its session and its escalation flags (``EXISTS`` over the
  request's indexed events), counted per group; and its waits and handle
  times (read once, ``MATERIALIZED``) ranked with ``ROW_NUMBER`` and
  counted per group for nearest-rank percentiles (p-th percentile: the
  smallest value whose rank ``r`` has ``100 * r >= p * n``).
* **online time**: each rep's presence stretches (an open one ends at its
  ``seen_at``) merged into islands (a running ``MAX`` of earlier ends finds
  where a new island starts; overlapping consoles count once), clipped to
  each period.
* **sessions**: the sessions touching the range, read once
  (``MATERIALIZED``), each (an open one up to ``now``) clipped to each
  period; its clipped time summed for the load, its start and end as +1/-1
  points whose running ``SUM`` per rep gives the peak load (an end sorts
  before a start at the same instant).

Durations are seconds rounded to milliseconds (SQLite's ``julianday`` is a
float of days), ratios and the mean rating are rounded to 4 decimals. On
PostgreSQL the report's transaction turns JIT off (``SET LOCAL jit =
off``): the range join's estimates trigger JIT compilation that cost over a
second, more than the queries.

Grouping: ``day``/``week`` rows are keyed by period; ``queue`` rows by the
request's queue (online time: the queue's members); ``rep`` rows by the rep
holding the session, so a rep's request figures count only requests that rep
answered (abandoned and expired requests have no rep and count 0 there).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Literal, get_args

from sqlalchemy import (
    Float,
    String,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import CTE

from desklink.reports import FIGURE_NAMES, Bucket, Report, ReportQuery, ReportRow, Value
from desklink.store._base import StoreBase
from desklink.store._search import _like
from desklink.store.models import (
    EventRow,
    PresenceRow,
    QueueMemberRow,
    QueueRow,
    RequestRow,
    SessionRow,
    UserRow,
    UTCDateTime,
)

Mode = Literal["day", "week", "queue", "rep", "total"]

#: What the unanswered listing may be narrowed to.
UnansweredStatus = Literal["abandoned", "cancelled", "expired"]
UNANSWERED_STATUSES: Final[tuple[UnansweredStatus, ...]] = get_args(UnansweredStatus)

_PERCENTILES: Final = {"wait": "wait", "handle": "handle", "abandoned": "abandoned_wait"}
_DISPOSITIONS: Final = {"resolved": "resolved_rate", "not_resolved": "not_resolved_rate", "escalated": "escalated_rate"}
_FLAGS: Final = ("screen", "control", "files")


@dataclass(frozen=True, slots=True)
class UnansweredRequest:
    """A request that never became a session, and how long it waited
    until it was closed (abandoned: cancelled by the visitor or left;
    expired: nobody accepted it in time)."""

    id: str
    queue_id: int
    queue_name: str
    visitor_name: str
    visitor_email: str
    question: str
    status: str
    cancelled: bool
    created_at: datetime
    closed_at: datetime | None
    wait_s: float | None


def _empty_figures() -> dict[str, Value]:
    out: dict[str, Value] = dict.fromkeys(FIGURE_NAMES, None)
    for name in ("requests", "answered", "abandoned", "cancelled", "expired", "rating_count", "load_peak"):
        out[name] = 0
    out["online_s"] = 0.0
    return out


#: Counts that add up across periods (and the hidden ``_`` numerators).
_SUMMED_REQUEST_COUNTS: Final = ("requests", "answered", "abandoned", "cancelled", "expired", "rating_count")


def _fold(rows: Iterable[dict[str, Value]]) -> dict[str, Value]:
    """The total of non-overlapping periods' unfinished figures (without
    percentiles)."""
    total = _empty_figures()
    for figs in rows:
        for name, value in figs.items():
            if value is None or name.endswith(("_p50", "_p90")):
                continue
            if name == "load_peak":
                total[name] = max(int(total[name] or 0), int(value))
            else:
                total[name] = (total.get(name) or 0) + value
    return total


def _finish(figs: dict[str, Value]) -> None:
    """Turn the hidden numerators into rates, the mean rating and the load."""
    n = figs["answered"]
    for f in _FLAGS:
        figs[f + "_rate"] = _ratio(figs.pop("_" + f, 0), n)
    for d, name in _DISPOSITIONS.items():
        figs[name] = _ratio(figs.pop("_" + d, 0), n)
    rated = figs["rating_count"]
    figs["rating_avg"] = _ratio(figs.pop("_rating_sum", 0), rated)
    online = figs["online_s"]
    busy = figs.pop("_busy_s", None)
    figs["online_s"] = round(float(online or 0.0), 3)
    figs["load_avg"] = round(float(busy or 0.0) / float(online), 4) if online else None


def _secs(v: Any) -> float | None:
    return None if v is None else round(float(v), 3)


def _ratio(num: Any, den: Any) -> float | None:
    return round(float(num) / float(den), 4) if den else None


class ReportsMixin(StoreBase):
    # ------------------------------------------------------------ dialect bits
    def _seconds(self, later: Any, earlier: Any) -> ColumnElement[float]:
        """Seconds from ``earlier`` to ``later`` as a float."""
        if self._dialect == "sqlite":
            return (func.julianday(later) - func.julianday(earlier)) * 86400.0
        return cast(func.extract("epoch", later - earlier), Float)

    def _least(self, a: Any, b: Any) -> ColumnElement[Any]:
        return func.min(a, b) if self._dialect == "sqlite" else func.least(a, b)

    def _greatest(self, a: Any, b: Any) -> ColumnElement[Any]:
        return func.max(a, b) if self._dialect == "sqlite" else func.greatest(a, b)

    # ------------------------------------------------------------ the report
    async def report(self, query: ReportQuery, *, now: datetime | None = None) -> Report:
        """Every figure of ``query`` per row and in total (see the module's
        notes); open sessions count up to ``now`` (default: the clock)."""
        now = now or datetime.now(UTC)
        whole = Bucket("total", "Total", query.start, query.end)
        buckets = query.buckets()
        async with self._read() as conn:
            if self._dialect == "postgresql":
                # The estimates of a range join over a list of periods are
                # high enough to trigger JIT compilation, which costs more
                # (over a second) than the query itself; this transaction only.
                await conn.execute(text("SET LOCAL jit = off"))
            rows = await self._figures(conn, query, buckets, query.group, now)
            if query.group in ("day", "week"):
                # The periods do not overlap: counts, online and session
                # time add up, the peak is the highest; only the
                # percentiles need the whole range read again.
                total = _fold(rows.values())
                whole_pct = await self._figures(conn, query, [whole], "total", now, percentiles_only=True)
                for name, value in whole_pct.get("total", {}).items():
                    if name.endswith(("_p50", "_p90")):
                        total[name] = value
            else:
                total = (await self._figures(conn, query, [whole], "total", now)).get("total", _empty_figures())
            labels = await self._labels(conn, query, rows)
        for figs in (*rows.values(), total):
            _finish(figs)
        if query.group in ("day", "week"):
            out = [ReportRow(b.key, b.label, rows.get(b.key, _empty_figures())) for b in buckets]
        else:
            out = sorted((ReportRow(k, labels.get(k, k), v) for k, v in rows.items()), key=lambda r: (r.label, r.key))
        return Report(query=query, rows=tuple(out), total=ReportRow("total", "Total", total))

    async def _labels(self, conn: AsyncConnection, query: ReportQuery, rows: dict[str, dict[str, Value]]) -> dict[str, str]:
        if query.group not in ("queue", "rep") or not rows:
            return {}
        ids = sorted(int(k) for k in rows)
        if query.group == "queue":
            found = await conn.execute(select(QueueRow.id, QueueRow.name).where(QueueRow.id.in_(ids)))
        else:
            found = await conn.execute(select(UserRow.id, UserRow.display_name).where(UserRow.id.in_(ids)))
        return {str(i): name for i, name in found.all()}

    def _buckets_cte(self, buckets: Sequence[Bucket]) -> CTE:
        parts = [
            select(
                literal(b.key, String()).label("k"),
                literal(b.start, UTCDateTime()).label("bs"),
                literal(b.end, UTCDateTime()).label("be"),
            )
            for b in buckets
        ]
        return (union_all(*parts) if len(parts) > 1 else parts[0]).cte("buckets")

    async def _figures(
        self, conn: AsyncConnection, query: ReportQuery, buckets: Sequence[Bucket], mode: Mode, now: datetime,
        *, percentiles_only: bool = False,
    ) -> dict[str, dict[str, Value]]:
        """The figures per group, unfinished: numerators of the rates, the
        rating sum and the session time kept under ``_`` names (see
        :func:`_finish`), so day and week rows can be added up."""
        out: dict[str, dict[str, Value]] = {}

        def row(key: Any) -> dict[str, Value]:
            return out.setdefault(str(key), _empty_figures())

        b = self._buckets_cte(buckets)
        await self._request_figures(conn, query, b, mode, row, counts_too=not percentiles_only)
        if not percentiles_only:
            await self._online_figures(conn, query, b, mode, row)
            await self._session_figures(conn, query, b, mode, now, row)
        return out

    # ------------------------------------------------------------ requests
    async def _request_figures(
        self, conn: AsyncConnection, query: ReportQuery, b: CTE, mode: Mode, row: Any, *, counts_too: bool = True
    ) -> None:
        r, s = RequestRow, SessionRow
        same = EventRow.request_id == r.id
        flags = {
            "screen": exists().where(same, EventRow.kind == "sharing_started"),
            "control": exists().where(
                same, EventRow.kind == "privilege_granted", EventRow.data["privilege"].as_string() == "control"
            ),
            "files": exists().where(same, EventRow.kind.in_(("file_offered", "file_asked"))),
        }
        cancelled = exists().where(same, EventRow.kind == "abandoned", EventRow.actor == "visitor")
        answered = s.id.is_not(None)
        g: Any = r.queue_id if mode == "queue" else s.rep_id if mode == "rep" else b.c.k
        # The whole range again (the periods' join implies it): it gives the
        # planners an estimate from the index, not from a join to a list.
        where: list[ColumnElement[bool]] = [r.created_at >= query.start, r.created_at < query.end]
        if query.queue_ids is not None:
            where.append(r.queue_id.in_(sorted(query.queue_ids)))
        if query.rep_ids is not None:
            where.append(s.rep_id.in_(sorted(query.rep_ids)))
        if mode == "rep":
            where.append(s.rep_id.is_not(None))
        def per_request(*cols: Any) -> Any:
            return (
                select(g.label("g"), *cols)
                .select_from(r)
                .join(b, and_(r.created_at >= b.c.bs, r.created_at < b.c.be))
                .outerjoin(s, s.request_id == r.id)
                .where(*where)
            )

        reqs = per_request(
            r.status.label("status"),
            answered.label("answered"),
            case((and_(r.status == "abandoned", cancelled), 1), else_=0).label("cancelled"),
            *(case((and_(answered, cond), 1), else_=0).label(name) for name, cond in flags.items()),
            s.disposition.label("disposition"),
            s.rating.label("rating"),
        ).cte("reqs")
        # The durations, read once for the three percentile pairs.
        times = (
            per_request(
                case((r.accepted_at.is_not(None), self._seconds(r.accepted_at, r.created_at))).label("wait"),
                case((s.ended_at.is_not(None), self._seconds(s.ended_at, s.started_at))).label("handle"),
                case((r.status == "abandoned", self._seconds(r.closed_at, r.created_at))).label("abandoned"),
            )
            .cte("times")
            .prefix_with("MATERIALIZED")
        )
        one: ColumnElement[Any] = literal_column("1")
        counts = None if not counts_too else select(
            reqs.c.g,
            func.count().label("requests"),
            func.count(case((reqs.c.answered, one))).label("answered"),
            func.count(case((reqs.c.status == "abandoned", one))).label("abandoned"),
            func.coalesce(func.sum(reqs.c.cancelled), 0).label("cancelled"),
            func.count(case((reqs.c.status == "expired", one))).label("expired"),
            *(func.coalesce(func.sum(reqs.c[f]), 0).label(f) for f in _FLAGS),
            *(func.count(case((reqs.c.disposition == d, one))).label(d) for d in _DISPOSITIONS),
            func.coalesce(func.sum(reqs.c.rating), 0).label("rating_sum"),
            func.count(reqs.c.rating).label("rating_count"),
        ).group_by(reqs.c.g)
        for m in (await conn.execute(counts)).mappings() if counts is not None else ():
            figs = row(m["g"])
            for name in _SUMMED_REQUEST_COUNTS:
                figs[name] = int(m[name])
            for name in (*_FLAGS, *_DISPOSITIONS, "rating_sum"):
                figs["_" + name] = int(m[name])

        values = union_all(
            *(
                select(times.c.g, literal_column(f"'{m}'").label("m"), times.c[m].label("v")).where(times.c[m].is_not(None))
                for m in _PERCENTILES
            )
        ).cte("vals")
        # n per group from a GROUP BY: a second window (COUNT OVER) would
        # sort the values again, which doubled the time on SQLite.
        counts_of = (
            select(values.c.g, values.c.m, func.count().label("n")).group_by(values.c.g, values.c.m).subquery("cnt")
        )
        ranked = select(
            values.c.g,
            values.c.m,
            values.c.v,
            func.row_number().over(partition_by=(values.c.g, values.c.m), order_by=values.c.v).label("rn"),
        ).subquery("ranked")
        pct = (
            select(
                ranked.c.g,
                ranked.c.m,
                *(
                    func.min(case((ranked.c.rn * 100 >= p * counts_of.c.n, ranked.c.v))).label(f"p{p}")
                    for p in (50, 90)
                ),
            )
            .join(counts_of, and_(counts_of.c.g == ranked.c.g, counts_of.c.m == ranked.c.m))
            .group_by(ranked.c.g, ranked.c.m)
        )
        for m in (await conn.execute(pct)).mappings():
            figs = row(m["g"])
            prefix = _PERCENTILES[m["m"]]
            figs[prefix + "_p50"] = _secs(m["p50"])
            figs[prefix + "_p90"] = _secs(m["p90"])

    # ------------------------------------------------------------ online time
    def _member_of(self, queue_ids: frozenset[int]) -> ColumnElement[bool]:
        members = select(QueueMemberRow.user_id).where(QueueMemberRow.queue_id.in_(sorted(queue_ids)))
        return PresenceRow.user_id.in_(members.scalar_subquery())

    async def _online_figures(self, conn: AsyncConnection, query: ReportQuery, b: CTE, mode: Mode, row: Any) -> None:
        p = PresenceRow
        end = func.coalesce(p.ended_at, p.seen_at)
        where = [p.started_at < query.end, end > query.start]
        if query.rep_ids is not None:
            where.append(p.user_id.in_(sorted(query.rep_ids)))
        if query.queue_ids is not None:
            where.append(self._member_of(query.queue_ids))
        stretches = select(p.id, p.user_id, p.started_at.label("s"), end.label("e")).where(*where).subquery("stretches")
        prev_end = func.max(stretches.c.e).over(
            partition_by=stretches.c.user_id, order_by=(stretches.c.s, stretches.c.id), rows=(None, -1)
        )
        flagged = select(
            stretches,
            case((or_(prev_end.is_(None), stretches.c.s > prev_end), 1), else_=0).label("new"),
        ).subquery("flagged")
        numbered = select(
            flagged,
            func.sum(flagged.c.new)
            .over(partition_by=flagged.c.user_id, order_by=(flagged.c.s, flagged.c.id), rows=(None, 0))
            .label("island"),
        ).subquery("numbered")
        islands = (
            select(numbered.c.user_id, func.min(numbered.c.s).label("s"), func.max(numbered.c.e).label("e"))
            .group_by(numbered.c.user_id, numbered.c.island)
            .subquery("islands")
        )
        clipped = self._seconds(self._least(islands.c.e, b.c.be), self._greatest(islands.c.s, b.c.bs))
        g: Any = (
            QueueMemberRow.queue_id if mode == "queue" else islands.c.user_id if mode == "rep" else b.c.k
        )
        stmt = (
            select(g.label("g"), func.sum(clipped).label("online"))
            .select_from(islands)
            .join(b, and_(islands.c.s < b.c.be, islands.c.e > b.c.bs))
        )
        if mode == "queue":
            stmt = stmt.join(QueueMemberRow, QueueMemberRow.user_id == islands.c.user_id)
            if query.queue_ids is not None:
                stmt = stmt.where(QueueMemberRow.queue_id.in_(sorted(query.queue_ids)))
        stmt = stmt.group_by(g)
        for m in (await conn.execute(stmt)).mappings():
            row(m["g"])["online_s"] = _secs(m["online"]) or 0.0

    # ------------------------------------------------------------ sessions
    async def _session_figures(
        self, conn: AsyncConnection, query: ReportQuery, b: CTE, mode: Mode, now: datetime, row: Any
    ) -> None:
        s, r = SessionRow, RequestRow
        where = [s.started_at < query.end, or_(s.ended_at.is_(None), s.ended_at > query.start)]
        if query.queue_ids is not None:
            where.append(r.queue_id.in_(sorted(query.queue_ids)))
        if query.rep_ids is not None:
            where.append(s.rep_id.in_(sorted(query.rep_ids)))
        # The sessions touching the range, read once (materialized: the
        # join to the periods below would otherwise read them per period).
        live = (
            select(
                s.rep_id.label("rep"),
                r.queue_id.label("queue"),
                s.started_at.label("st"),
                func.coalesce(s.ended_at, literal(now, UTCDateTime())).label("en"),
            )
            .join(r, r.id == s.request_id)
            .where(*where)
            .cte("live")
            .prefix_with("MATERIALIZED")
        )
        g: Any = live.c.queue if mode == "queue" else live.c.rep if mode == "rep" else b.c.k
        parts = (
            select(
                g.label("g"),
                live.c.rep,
                self._greatest(live.c.st, b.c.bs).label("cs"),
                self._least(live.c.en, b.c.be).label("ce"),
            )
            .select_from(live)
            .join(b, and_(live.c.st < b.c.be, live.c.en > b.c.bs))
            .cte("parts")
            .prefix_with("MATERIALIZED")
        )
        points = union_all(
            select(parts.c.g, parts.c.rep, parts.c.cs.label("t"), literal_column("1").label("d")),
            select(parts.c.g, parts.c.rep, parts.c.ce.label("t"), literal_column("-1").label("d")),
        ).subquery("points")
        running = select(
            points.c.g,
            func.sum(points.c.d)
            .over(partition_by=(points.c.g, points.c.rep), order_by=(points.c.t, points.c.d), rows=(None, 0))
            .label("open"),
        ).subquery("running")
        both = union_all(
            select(parts.c.g, literal_column("'busy'").label("m"),
                   cast(func.sum(self._seconds(parts.c.ce, parts.c.cs)), Float).label("v")).group_by(parts.c.g),
            select(running.c.g, literal_column("'peak'").label("m"),
                   cast(func.max(running.c.open), Float).label("v")).group_by(running.c.g),
        )
        for m in (await conn.execute(both)).mappings():
            if m["m"] == "busy":
                row(m["g"])["_busy_s"] = _secs(m["v"])
            else:
                row(m["g"])["load_peak"] = int(m["v"] or 0)

    # ------------------------------------------------------------ unanswered
    async def unanswered_requests(
        self,
        *,
        since: datetime,
        until: datetime,
        queue_ids: frozenset[int] | None = None,
        status: UnansweredStatus | None = None,
        words: Sequence[str] = (),
        limit: int = 100,
        offset: int = 0,
    ) -> list[UnansweredRequest]:
        """Requests submitted in ``[since, until)`` that never became a
        session (abandoned or expired), newest first. ``status``: only
        abandoned (cancelled or left), only cancelled, or only expired;
        ``words`` (from :func:`~desklink.store._search.split_words`) must each
        appear in the visitor's name, e-mail or question, in any case."""
        r = RequestRow
        cancelled = exists().where(EventRow.request_id == r.id, EventRow.kind == "abandoned", EventRow.actor == "visitor")
        where: list[ColumnElement[bool]] = [r.created_at >= since, r.created_at < until]
        if status == "expired":
            where.append(r.status == "expired")
        elif status is not None:
            where.append(r.status == "abandoned")
            if status == "cancelled":
                where.append(cancelled)
        else:
            where.append(r.status.in_(("abandoned", "expired")))
        if queue_ids is not None:
            where.append(r.queue_id.in_(sorted(queue_ids)))
        for w in words:
            pattern = _like(w)
            where.append(
                or_(*(func.lower(c).like(pattern, escape="\\") for c in (r.visitor_name, r.visitor_email, r.question)))
            )
        stmt = (
            select(
                r.id, r.queue_id, QueueRow.name.label("queue_name"), r.visitor_name, r.visitor_email, r.question,
                r.status, and_(r.status == "abandoned", cancelled).label("cancelled"), r.created_at, r.closed_at,
                case((r.closed_at.is_not(None), self._seconds(r.closed_at, r.created_at))).label("wait_s"),
            )
            .join(QueueRow, QueueRow.id == r.queue_id)
            .where(*where)
            .order_by(r.created_at.desc(), r.id.desc())
            .limit(limit)
            .offset(offset)
        )
        async with self._read() as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return [
            UnansweredRequest(
                id=m["id"], queue_id=m["queue_id"], queue_name=m["queue_name"], visitor_name=m["visitor_name"],
                visitor_email=m["visitor_email"], question=m["question"], status=m["status"],
                cancelled=bool(m["cancelled"]), created_at=m["created_at"], closed_at=m["closed_at"],
                wait_s=_secs(m["wait_s"]),
            )
            for m in rows
        ]
