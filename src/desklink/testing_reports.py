"""Known report data for tests (and for anyone drawing reports: charts, the
daily e-mail): :func:`seed` writes requests, sessions, events, ratings and
presence with known timings and outcomes over three days around the
Europe/Paris DST change (2026-03-29 has 23 hours there) straight into a
:class:`~desklink.store.Store`; tests/store/test_reports.py holds every
figure they make, worked out by hand.

The story (UTC times): two queues, ``main`` (ann and bob are members) and
``billing`` (bob). On the 28th ann answers after 30 s and resolves in
600 s with the screen shared, rated 5; bob answers after 90 s, is granted
control, not resolved in 300 s, rated 3; a visitor cancels after 40 s; a
billing visitor leaves after 120 s; at 23:30 (already the 29th in Paris) a
billing request expires after 600 s. On the 29th bob answers billing after
10 s, offers a file, escalates after 1200 s; at 21:30 ann answers after
20 s a session that runs 3600 s across Paris midnight and ends without a
disposition. On the 30th ann answers at 09:00 after 60 s (open at
:data:`NOW`) and at 09:10 after 5 s (resolved after 600 s, rated 4). The
27th holds one more session and presence, outside the three days.
Presence: ann 08:00-12:00 and 11:00-13:00 on the 28th (two consoles),
21:00 on the 29th to 01:00, and from 08:30 on the 30th (open, last seen
09:30); bob 09:30-11:00 on the 28th and 07:00-09:00 on the 29th.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import insert, update

from desklink.store import Queue, Store, User
from desklink.store.models import PresenceRow, SessionRow
from desklink.testing import AdminAPI, ServerProcess

#: The clock of the seeded story: ann's 09:00 session on the 30th is open.
NOW = datetime(2026, 3, 30, 10, 0, tzinfo=UTC)
#: The three days of the story.
FIRST, LAST = date(2026, 3, 28), date(2026, 3, 30)


def t(day: int, hh: int, mm: int = 0, ss: int = 0) -> datetime:
    """A moment of March 2026, UTC."""
    return datetime(2026, 3, day, hh, mm, ss, tzinfo=UTC)


async def _request(store: Store, queue: Queue, created: datetime, name: str = "Visitor", question: str = "help") -> str:
    req = await store.create_request(
        queue_id=queue.id, visitor_name=name, visitor_email=f"{name.lower()}@example.com", question=question,
        token_hash=hashlib.sha256(secrets.token_bytes(16)).hexdigest(), ip="192.0.2.1",
        origin="https://example.com", now=created,
    )
    return req.id


async def answered(
    store: Store, queue: Queue, rep: User, created: datetime, wait: int, handle: int | None, *,
    disposition: str | None = None, rating: int | None = None,
    events: tuple[tuple[str, dict[str, object]], ...] = (),
) -> str:
    """A request accepted after ``wait`` s whose session ends after
    ``handle`` s (``None``: still open); returns the request id."""
    rid = await _request(store, queue, created)
    session = await store.accept_request(rid, rep.id, created + timedelta(seconds=wait))
    assert session is not None
    for kind, data in events:
        await store.add_event(request_id=rid, kind=kind, actor="rep", data=data,  # type: ignore[arg-type]
                              actor_id=rep.id, now=created + timedelta(seconds=wait + 1))
    if handle is not None:
        ended = await store.end_session(session.id, ended_by="rep", disposition=disposition, note="",
                                        now=session.started_at + timedelta(seconds=handle))
        assert ended is not None
    if rating is not None:
        async with store._write() as conn:
            await conn.execute(update(SessionRow).where(SessionRow.id == session.id).values(rating=rating))
    return rid


async def unanswered(
    store: Store, queue: Queue, created: datetime, after: int, event: str, actor: str, name: str = "Visitor",
    question: str = "help",
) -> str:
    """A request closed by ``event`` (cancel, abandon, expire) after ``after`` s."""
    rid = await _request(store, queue, created, name, question)
    closed = await store.close_request(rid, event, created + timedelta(seconds=after))  # type: ignore[arg-type]
    assert closed is not None
    await store.add_event(request_id=rid, kind="expired" if event == "expire" else "abandoned",
                          actor=actor, data={}, now=created + timedelta(seconds=after))  # type: ignore[arg-type]
    return rid


async def presence(store: Store, user: User, start: datetime, seen: datetime, ended: datetime | None) -> None:
    """One online stretch of ``user`` (``ended`` None: still open)."""
    async with store._write() as conn:
        await conn.execute(insert(PresenceRow).values(user_id=user.id, node="n1", started_at=start, seen_at=seen,
                                                      ended_at=ended))


async def seed(store: Store, ann: User, bob: User, main: Queue, billing: Queue) -> None:
    """The story above; the caller makes ann and bob members of main and
    bob of billing."""
    shared: tuple[str, dict[str, object]] = ("sharing_started", {})
    control: tuple[str, dict[str, object]] = ("privilege_granted", {"privilege": "control"})
    await answered(store, main, ann, t(28, 9), 30, 600, disposition="resolved", rating=5, events=(shared,))
    await answered(store, main, bob, t(28, 10), 90, 300, disposition="not_resolved", rating=3,
                   events=(("privilege_granted", {"privilege": "view"}), control, shared))
    await unanswered(store, main, t(28, 11), 40, "cancel", "visitor", "Carla", "Printer JAMS")
    await unanswered(store, billing, t(28, 12), 120, "abandon", "system", "Dan", "invoice 100% wrong")
    await unanswered(store, billing, t(28, 23, 30), 600, "expire", "system", "Eve", "refund")
    await answered(store, billing, bob, t(29, 8), 10, 1200, disposition="escalated",
                   events=(("file_offered", {"name": "log.txt"}),))
    await answered(store, main, ann, t(29, 21, 30), 20, 3600)
    await answered(store, main, ann, t(30, 9), 60, None)
    await answered(store, main, ann, t(30, 9, 10), 5, 600, disposition="resolved", rating=4)
    await presence(store, ann, t(28, 8), t(28, 12), t(28, 12))
    await presence(store, ann, t(28, 11), t(28, 13), t(28, 13))
    await presence(store, ann, t(29, 21), t(30, 1), t(30, 1))
    await presence(store, ann, t(30, 8, 30), t(30, 9, 30), None)
    await presence(store, bob, t(28, 9, 30), t(28, 11), t(28, 11))
    await presence(store, bob, t(29, 7), t(29, 9), t(29, 9))
    # before the three days: outside every report of them
    await answered(store, main, ann, t(27, 12), 5, 60, disposition="resolved", rating=1)
    await presence(store, ann, t(27, 8), t(27, 9), t(27, 9))


@dataclass(frozen=True)
class SeededServer:
    """The story on a running server: ids and logins of everyone in it."""

    main: dict[str, Any]
    billing: dict[str, Any]
    ann: dict[str, Any]
    bob: dict[str, Any]
    sue: dict[str, Any]
    password: str


#: The password of ann, bob and sue on a seeded server.
PASSWORD = "a long test password"


def seed_server(server: ServerProcess, admin: AdminAPI, database_url: str | None = None) -> SeededServer:
    """Queues ``main`` and ``billing``, reps ann (main) and bob (main and
    billing) and supervisor sue (billing), made through the admin API, then
    the story written into the server's database (its SQLite file unless
    ``database_url`` names another)."""
    main, billing = admin.queue("main"), admin.queue("billing")
    ann = admin.user("ann", PASSWORD, display_name="Ann")
    bob = admin.user("bob", PASSWORD, display_name="Bob")
    sue = admin.user("sue", PASSWORD, role="supervisor", display_name="Sue")
    admin.members(main["id"], [ann["id"], bob["id"]])
    admin.members(billing["id"], [bob["id"], sue["id"]])
    url = database_url or f"sqlite+aiosqlite:///{(server.data_dir / 'desklink.db').resolve()}"

    async def write() -> None:
        store = await Store.open(url)
        try:
            users = [await store.get_user(u["id"]) for u in (ann, bob)]
            queues = [await store.get_queue(q["id"]) for q in (main, billing)]
            assert all(users) and all(queues)
            await seed(store, users[0], users[1], queues[0], queues[1])  # type: ignore[arg-type]
        finally:
            await store.close()

    asyncio.run(write())
    return SeededServer(main, billing, ann, bob, sue, PASSWORD)
