"""Finding sessions: by date, queue, rep, visitor, words said in the chat,
outcome, and whether the screen was shared, controlled or files moved.

One query, run by the database on SQLite and PostgreSQL alike: filters are
``WHERE`` clauses and ``EXISTS`` subqueries over the session's messages and
events (both indexed by request), never Python loops over rows. Words match
case-insensitively inside one message (``LIKE`` with the wildcards of the
search text escaped); the first such message is returned with each hit, so
the Session View can open at the moment the words were said.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal, get_args

from sqlalchemy import ColumnElement, and_, exists, func, or_, select

from desklink.store._base import StoreBase, record
from desklink.store.models import EventRow, MessageRow, QueueRow, RequestRow, SessionRow, UserRow
from desklink.store.records import Queue, Request, Session

#: What a session may have had besides chat.
Had = Literal["screen", "control", "files"]
HAD: Final[tuple[Had, ...]] = get_args(Had)

#: Words in one search, at most (each is one ``LIKE`` over the messages).
MAX_SEARCH_WORDS: Final = 8
#: Characters of a search text, at most.
MAX_SEARCH_CHARS: Final = 200
#: Characters of the matching message returned with a hit.
EXCERPT_CHARS: Final = 160


@dataclass(frozen=True, slots=True)
class SessionQuery:
    """A search. Every field narrows; the empty query lists everything the
    asker may see. Who is asking comes as a scope (server/session_access.py):
    sessions held by ``scope_rep_id`` or in ``scope_queue_ids``; both None:
    everything (an admin)."""

    since: datetime | None = None
    until: datetime | None = None
    queue_ids: frozenset[int] | None = None
    rep_id: int | None = None
    visitor: str = ""
    words: tuple[str, ...] = ()
    disposition: str | None = None
    had: frozenset[Had] = field(default_factory=frozenset)
    scope_rep_id: int | None = None
    scope_queue_ids: frozenset[int] | None = None
    limit: int = 100
    offset: int = 0


@dataclass(frozen=True, slots=True)
class SessionHit:
    """A session found, with what the history shows beside it, and the first
    message holding the searched words (when words were searched)."""

    session: Session
    request: Request
    queue: Queue
    rep_name: str
    match_at: datetime | None = None
    match_seq: int | None = None
    match_excerpt: str = ""


def split_words(text: str) -> tuple[str, ...]:
    """The words of a search text: lowercased, at most :data:`MAX_SEARCH_WORDS`
    (a longer text raises ``ValueError`` with words to show)."""
    if len(text) > MAX_SEARCH_CHARS:
        raise ValueError(f"a search is at most {MAX_SEARCH_CHARS} characters")
    words = tuple(dict.fromkeys(w.lower() for w in text.split()))
    if len(words) > MAX_SEARCH_WORDS:
        raise ValueError(f"search for at most {MAX_SEARCH_WORDS} words")
    return words


def _like(word: str) -> str:
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _has_words(words: Sequence[str]) -> ColumnElement[bool]:
    body = func.lower(MessageRow.body)
    return and_(*(body.like(_like(w), escape="\\") for w in words))


def _had(kind: Had) -> ColumnElement[bool]:
    same = EventRow.request_id == RequestRow.id
    if kind == "screen":
        cond: ColumnElement[bool] = EventRow.kind == "sharing_started"
    elif kind == "control":
        cond = and_(EventRow.kind == "privilege_granted", EventRow.data["privilege"].as_string() == "control")
    else:
        cond = EventRow.kind.in_(("file_offered", "file_asked"))
    return exists().where(same, cond)


class SearchMixin(StoreBase):
    async def search_sessions(self, q: SessionQuery) -> list[SessionHit]:
        """Sessions matching ``q``, newest first (by start, then id)."""
        cols: list[Any] = [
            *(c.label("s_" + c.name) for c in SessionRow.__table__.c),
            *(c.label("r_" + c.name) for c in RequestRow.__table__.c),
            *(c.label("q_" + c.name) for c in QueueRow.__table__.c),
            UserRow.display_name.label("rep_name"),
        ]
        where: list[ColumnElement[bool]] = []
        if q.since is not None:
            where.append(SessionRow.started_at >= q.since)
        if q.until is not None:
            where.append(SessionRow.started_at < q.until)
        if q.queue_ids is not None:
            where.append(RequestRow.queue_id.in_(sorted(q.queue_ids)) if q.queue_ids else RequestRow.queue_id.is_(None))
        if q.rep_id is not None:
            where.append(SessionRow.rep_id == q.rep_id)
        if q.scope_rep_id is not None or q.scope_queue_ids is not None:
            mine: list[ColumnElement[bool]] = []
            if q.scope_rep_id is not None:
                mine.append(SessionRow.rep_id == q.scope_rep_id)
            if q.scope_queue_ids:
                mine.append(RequestRow.queue_id.in_(sorted(q.scope_queue_ids)))
            where.append(or_(*mine))
        if q.visitor:
            pattern = _like(q.visitor.lower())
            where.append(or_(func.lower(RequestRow.visitor_name).like(pattern, escape="\\"),
                             func.lower(RequestRow.visitor_email).like(pattern, escape="\\")))
        if q.disposition is not None:
            where.append(SessionRow.disposition == q.disposition)
        for kind in sorted(q.had):
            where.append(_had(kind))
        if q.words:
            matching = and_(MessageRow.request_id == RequestRow.id, _has_words(q.words))
            first = select(func.min(MessageRow.seq)).where(matching).correlate(RequestRow).scalar_subquery()
            where.append(exists().where(matching))
            cols.append(first.label("match_seq"))
        stmt = (
            select(*cols)
            .join(RequestRow, RequestRow.id == SessionRow.request_id)
            .join(QueueRow, QueueRow.id == RequestRow.queue_id)
            .join(UserRow, UserRow.id == SessionRow.rep_id)
            .where(*where)
            .order_by(SessionRow.started_at.desc(), SessionRow.id.desc())
            .limit(q.limit)
            .offset(q.offset)
        )
        async with self._read() as conn:
            rows = (await conn.execute(stmt)).all()
            matches: dict[tuple[str, int], tuple[datetime | None, str]] = {}
            wanted = [(r._mapping["r_id"], r._mapping["match_seq"]) for r in rows if q.words and r._mapping["match_seq"] is not None]
            if wanted:
                found = await conn.execute(
                    select(MessageRow.request_id, MessageRow.seq, MessageRow.created_at, MessageRow.body).where(
                        or_(*(and_(MessageRow.request_id == rid, MessageRow.seq == seq) for rid, seq in wanted))
                    )
                )
                for rid, mseq, mat, mbody in found.all():
                    matches[(rid, mseq)] = (mat, mbody)
        out = []
        for row in rows:
            m = row._mapping
            seq: int | None = m["match_seq"] if q.words else None
            at: datetime | None = None
            body = ""
            if seq is not None:
                at, body = matches.get((m["r_id"], seq), (None, ""))
            out.append(
                SessionHit(
                    session=record(Session, {k[2:]: v for k, v in m.items() if k.startswith("s_")}),
                    request=record(Request, {k[2:]: v for k, v in m.items() if k.startswith("r_")}),
                    queue=record(Queue, {k[2:]: v for k, v in m.items() if k.startswith("q_")}),
                    rep_name=m["rep_name"],
                    match_at=at,
                    match_seq=seq,
                    match_excerpt=_excerpt(body, q.words) if body else "",
                )
            )
        return out


def _excerpt(body: str, words: Sequence[str]) -> str:
    """The part of ``body`` around the first searched word, at most
    :data:`EXCERPT_CHARS` characters."""
    if len(body) <= EXCERPT_CHARS:
        return body
    at = body.lower().find(words[0]) if words else 0
    start = max(0, min(at - EXCERPT_CHARS // 3, len(body) - EXCERPT_CHARS))
    text = body[start : start + EXCERPT_CHARS]
    return ("…" if start else "") + text + ("…" if start + EXCERPT_CHARS < len(body) else "")
