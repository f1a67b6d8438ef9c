"""Reports over HTTP: the figures of :mod:`desklink.reports` as JSON and
CSV, and the requests that never became sessions.

Endpoints (all ``GET``, a signed-in user):

* ``/api/reports`` and ``/api/reports.csv``: ``from``, ``to`` (local dates
  ``YYYY-MM-DD``, both included; default the last 7 days up to today),
  ``tz`` (IANA zone, default UTC), ``group`` (day, week, queue or rep;
  default day), ``queue`` (a slug) and ``rep`` (a user id) to narrow.
* ``/api/reports/unanswered`` and ``/api/reports/unanswered.csv``
  (supervisors and admins): ``from``, ``to``, ``tz``, ``queue``, ``status``
  (abandoned, cancelled or expired), ``q`` (words in the visitor's name,
  e-mail or question), ``limit`` and ``offset``.

Scope by role, applied before any filter: a rep's figures are their own
(``rep_ids = {me}``: the requests they answered, their sessions, their
online time), whatever the queue; a supervisor's cover the queues they
belong to; an admin's everything. A filter outside the caller's scope (a
rep asking for another rep or a queue they are not in, a supervisor for a
queue they are not in or a rep who is in none of their queues) is refused
with 403 and words, never quietly emptied. Unanswered requests have no rep,
so reps get 403 there; a supervisor sees those of their queues.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import cast

from starlette.requests import Request
from starlette.responses import Response

from desklink.dispatch.dispatcher import iso
from desklink.errors import Forbidden, NotFound, ProtocolError
from desklink.protocol import limits as limitsmod
from desklink.reports import GROUPS, MAX_REPORT_DAYS, Group, ReportQuery, as_csv, as_json, safe_cell, zone
from desklink.server import auth as authmod
from desklink.server.context import Context
from desklink.server.http import MAX_ID, Access, endpoint, json_response, query_choice, query_int, query_str
from desklink.store import User
from desklink.store._reports import UNANSWERED_STATUSES, UnansweredRequest, UnansweredStatus
from desklink.store._search import MAX_SEARCH_CHARS, split_words

#: Days a report covers when ``from`` is not given.
DEFAULT_DAYS = 7
#: Unanswered requests on a page when ``limit`` is not given.
DEFAULT_PAGE = 100


@dataclass(frozen=True)
class Range:
    first: date
    last: date
    tz: str


def _date(request: Request, name: str) -> date | None:
    raw = query_str(request, name, max_chars=10).strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ProtocolError(f"query parameter {name!r} must be a date such as 2026-12-04, got {raw!r}") from None


def _range(request: Request, ctx: Context) -> Range:
    tz = query_str(request, "tz", default="UTC", max_chars=64) or "UTC"
    zone(tz)
    last = _date(request, "to") or datetime.now(zone(tz)).date()
    first = _date(request, "from") or last - timedelta(days=DEFAULT_DAYS - 1)
    if last < first:
        raise ProtocolError("'to' must not come before 'from'")
    most = min(ctx.settings.report_max_days, MAX_REPORT_DAYS)
    if (last - first).days + 1 > most:
        raise ProtocolError(f"a report covers at most {most} days; narrow 'from' and 'to'")
    return Range(first, last, tz)


async def _my_queues(ctx: Context, user: User) -> frozenset[int]:
    return frozenset(q.id for q in await ctx.store.queues_of_user(user.id))


async def _queue_filter(request: Request, ctx: Context, user: User) -> frozenset[int] | None:
    """The queues to report on: the asker's scope narrowed by ``queue``."""
    slug = query_str(request, "queue", max_chars=64).strip()
    queue = None
    if slug:
        queue = await ctx.store.get_queue_by_slug(slug)
        if queue is None:
            raise NotFound(f"no queue {slug!r}")
    if user.role == "admin":
        return None if queue is None else frozenset({queue.id})
    mine = await _my_queues(ctx, user)
    if queue is not None and queue.id not in mine:
        raise Forbidden(f"you are not in queue {slug!r}, so its figures are not yours to see")
    if queue is not None:
        return frozenset({queue.id})
    return None if user.role == "rep" else mine


async def _rep_filter(request: Request, ctx: Context, user: User) -> frozenset[int] | None:
    rep = query_int(request, "rep", default=0, lo=0, hi=MAX_ID)
    if user.role == "rep":
        if rep and rep != user.id:
            raise Forbidden("a rep sees only their own figures")
        return frozenset({user.id})
    if not rep:
        return None
    other = await ctx.store.get_user(rep)
    if other is None:
        raise NotFound(f"no user {rep}")
    if user.role == "supervisor" and rep != user.id:
        theirs = frozenset(q.id for q in await ctx.store.queues_of_user(rep))
        if not theirs & await _my_queues(ctx, user):
            raise Forbidden(f"user {rep} is in none of your queues")
    return frozenset({rep})


async def report_query(request: Request, ctx: Context, user: User) -> ReportQuery:
    """The report asked for in ``request``, within what ``user`` may see."""
    r = _range(request, ctx)
    group = cast(Group, query_choice(request, "group", GROUPS))
    queue_ids = await _queue_filter(request, ctx, user)
    rep_ids = await _rep_filter(request, ctx, user)
    return ReportQuery(r.first, r.last, r.tz, group, queue_ids=queue_ids, rep_ids=rep_ids)


def _csv_response(text: str, filename: str) -> Response:
    return Response(
        text.encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


@endpoint("/api/reports", ("GET",), Access.REP)
async def reports(request: Request, ctx: Context, login: authmod.Login) -> Response:
    """Report figures per day, week, queue or rep, and in total (JSON)."""
    query = await report_query(request, ctx, login.user)
    return json_response(as_json(await ctx.store.report(query)))


@endpoint("/api/reports.csv", ("GET",), Access.REP)
async def reports_csv(request: Request, ctx: Context, login: authmod.Login) -> Response:
    """The same report as a CSV file."""
    query = await report_query(request, ctx, login.user)
    text = as_csv(await ctx.store.report(query))
    return _csv_response(text, f"desklink-report-{query.group}-{query.first.isoformat()}-{query.last.isoformat()}.csv")


@dataclass(frozen=True)
class UnansweredQuery:
    range: Range
    queue_ids: frozenset[int] | None
    status: UnansweredStatus | None
    words: tuple[str, ...]
    offset: int


async def _unanswered_query(request: Request, ctx: Context, user: User) -> UnansweredQuery:
    r = _range(request, ctx)
    raw = query_str(request, "status", max_chars=16).strip()
    if raw and raw not in UNANSWERED_STATUSES:
        raise ProtocolError(f"query parameter 'status' must be one of {', '.join(UNANSWERED_STATUSES)}, got {raw!r}")
    try:
        words = split_words(query_str(request, "q", max_chars=MAX_SEARCH_CHARS + 1))
    except ValueError as exc:
        raise ProtocolError(str(exc)) from None
    return UnansweredQuery(
        range=r,
        queue_ids=await _queue_filter(request, ctx, user),
        status=raw if raw else None,
        words=words,
        offset=query_int(request, "offset", default=0, lo=0, hi=limitsmod.MAX_LIST_OFFSET),
    )


async def _unanswered(ctx: Context, q: UnansweredQuery, limit: int) -> list[UnansweredRequest]:
    rq = ReportQuery(q.range.first, q.range.last, q.range.tz)
    return await ctx.store.unanswered_requests(
        since=rq.start, until=rq.end, queue_ids=q.queue_ids, status=q.status, words=q.words, limit=limit,
        offset=q.offset,
    )


@endpoint("/api/reports/unanswered", ("GET",), Access.SUPERVISOR)
async def unanswered(request: Request, ctx: Context, login: authmod.Login) -> Response:
    """Requests that never became sessions (abandoned, cancelled, expired)."""
    q = await _unanswered_query(request, ctx, login.user)
    page = ctx.settings.unanswered_page
    limit = query_int(request, "limit", default=min(DEFAULT_PAGE, page), lo=1, hi=page)
    found = await _unanswered(ctx, q, limit + 1)
    return json_response({
        "from": q.range.first.isoformat(), "to": q.range.last.isoformat(), "tz": q.range.tz,
        "limit": limit, "offset": q.offset, "more": len(found) > limit,
        "requests": [
            {"id": u.id, "queue_id": u.queue_id, "queue": u.queue_name, "visitor_name": u.visitor_name,
             "visitor_email": u.visitor_email, "question": u.question, "status": u.status, "cancelled": u.cancelled,
             "created_at": iso(u.created_at), "closed_at": iso(u.closed_at), "wait_s": u.wait_s}
            for u in found[:limit]
        ],
    })


UNANSWERED_COLUMNS = ("id", "queue", "submitted", "closed", "status", "cancelled", "wait_s", "visitor_name",
                      "visitor_email", "question")


def unanswered_csv_text(found: list[UnansweredRequest], tz: str) -> str:
    """The listing as CSV: times in the report's zone with their offset;
    text cells a spreadsheet would run as formulas are prefixed with ``'``."""
    where = zone(tz)

    def local(dt: datetime | None) -> str:
        return "" if dt is None else dt.astimezone(UTC).astimezone(where).isoformat()

    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(UNANSWERED_COLUMNS)
    for u in found:
        w.writerow([u.id, safe_cell(u.queue_name), local(u.created_at), local(u.closed_at), u.status,
                    "yes" if u.cancelled else "no", "" if u.wait_s is None else f"{u.wait_s:g}",
                    safe_cell(u.visitor_name), safe_cell(u.visitor_email), safe_cell(u.question)])
    return out.getvalue()


@endpoint("/api/reports/unanswered.csv", ("GET",), Access.SUPERVISOR)
async def unanswered_csv(request: Request, ctx: Context, login: authmod.Login) -> Response:
    """The unanswered requests as a CSV file."""
    q = await _unanswered_query(request, ctx, login.user)
    rows = ctx.settings.unanswered_csv_rows
    limit = query_int(request, "limit", default=rows, lo=1, hi=rows)
    found = await _unanswered(ctx, q, limit)
    name = f"desklink-unanswered-{q.range.first.isoformat()}-{q.range.last.isoformat()}.csv"
    return _csv_response(unanswered_csv_text(found, q.range.tz), name)


ROUTES = [reports, reports_csv, unanswered, unanswered_csv]
