"""``GET /api/sessions``'s query parameters as a :class:`SessionQuery`, and
who sees what: a rep their own sessions, a supervisor also their queues',
an admin everyone's.

Who asks narrows by the one rule of server/session_access.py. Parameters (all optional): ``from`` and ``to`` (a date ``YYYY-MM-DD``, whole
days in the time zone ``tz``, ``to`` included; or a date and time with its
offset), ``tz`` (an IANA zone, default UTC), ``queue`` (slug), ``rep`` (user
id), ``visitor`` (part of the name or e-mail), ``q`` (words said in one chat
message), ``disposition``, ``had`` (comma-separated: screen, control,
files), ``limit`` and ``offset``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from starlette.requests import Request

from desklink.errors import ProtocolError
from desklink.protocol import limits as limitsmod
from desklink.protocol.messages import Disposition
from desklink.server.http import MAX_ID, query_int, query_str
from desklink.server.context import Context
from desklink.server.session_access import listing_scope
from desklink.store import User
from desklink.store._search import HAD, MAX_SEARCH_CHARS, Had, SessionQuery, split_words

#: Sessions per page: the default and the most.
SESSIONS_PAGE = 100
MAX_SESSIONS_PAGE = 500

DISPOSITIONS: tuple[str, ...] = get_args(Disposition)


def _zone(request: Request) -> ZoneInfo:
    name = query_str(request, "tz", default="UTC", max_chars=64)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ProtocolError(f"query parameter 'tz' must be a time zone such as Europe/Paris, got {name[:40]!r}") from None


def _when(request: Request, name: str, zone: ZoneInfo, *, end: bool) -> datetime | None:
    raw = query_str(request, name, max_chars=40).strip()
    if not raw:
        return None
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            return datetime.combine(day + timedelta(days=1 if end else 0), time(), zone).astimezone(UTC)
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise ProtocolError(f"query parameter {name!r} must be a date (2026-12-04) or a date and time, got {raw!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)


def _had(request: Request) -> frozenset[Had]:
    raw = query_str(request, "had", max_chars=40)
    out: set[Had] = set()
    for part in filter(None, (p.strip() for p in raw.split(","))):
        if part not in HAD:
            raise ProtocolError(f"query parameter 'had' takes {', '.join(HAD)}, got {part[:20]!r}")
        out.add(part)
    return frozenset(out)


async def query_of(request: Request, ctx: Context, asker: User) -> SessionQuery:
    """The search in ``request``, narrowed to what ``asker`` may see.
    ``ProtocolError`` (400) names the first bad parameter."""
    zone = _zone(request)
    since, until = _when(request, "from", zone, end=False), _when(request, "to", zone, end=True)
    if since is not None and until is not None and until <= since:
        raise ProtocolError("'to' must come after 'from'")
    try:
        words = split_words(query_str(request, "q", max_chars=MAX_SEARCH_CHARS + 1))
    except ValueError as exc:
        raise ProtocolError(str(exc)) from None
    disposition = query_str(request, "disposition", max_chars=32) or None
    if disposition is not None and disposition not in DISPOSITIONS:
        raise ProtocolError(f"query parameter 'disposition' takes {', '.join(DISPOSITIONS)}, got {disposition[:32]!r}")
    queue_ids: frozenset[int] | None = None
    slug = query_str(request, "queue", max_chars=64)
    if slug:
        queue = await ctx.store.get_queue_by_slug(slug)
        queue_ids = frozenset({queue.id}) if queue is not None else frozenset()
    rep = query_int(request, "rep", default=0, lo=0, hi=MAX_ID)
    scope_rep, scope_queues = await listing_scope(ctx, asker)
    return SessionQuery(
        since=since, until=until, queue_ids=queue_ids, rep_id=rep or None,
        scope_rep_id=scope_rep, scope_queue_ids=None if scope_queues is None else frozenset(scope_queues),
        visitor=query_str(request, "visitor", max_chars=200).strip(), words=words, disposition=disposition,
        had=_had(request),
        limit=query_int(request, "limit", default=SESSIONS_PAGE, lo=1, hi=MAX_SESSIONS_PAGE),
        offset=query_int(request, "offset", default=0, lo=0, hi=limitsmod.MAX_LIST_OFFSET),
    )
