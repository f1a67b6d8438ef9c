"""The dispatcher without a network: a real store (SQLite in a temporary
file), the in-process broker, and one clock for both. Every test asserts
exactly what was published, in order, and what was stored."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from desklink.broker.memory import MemoryBroker
from desklink.config import Settings
from desklink.dispatch.dispatcher import VISITOR_PRESENCE, Dispatcher, hash_token
from desklink.errors import Conflict, Forbidden, LimitExceeded, ProtocolError
from desklink.store import Queue, Store, User

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
SETTINGS = Settings(max_open_requests_per_ip=2, request_expiry_s=300.0, visitor_grace_s=30.0)


@dataclass
class Clock:
    """One time for the dispatcher (wall clock) and the broker (monotonic)."""

    t: float = 0.0

    def wall(self) -> datetime:
        return T0 + timedelta(seconds=self.t)

    def mono(self) -> float:
        return 1000.0 + self.t


@dataclass
class Published:
    """What the dispatcher published, decoded: (channel, target, message)."""

    items: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    async def __call__(self, channel: str, data: bytes) -> int:
        text = data.decode()
        self.items.append((channel, text[0], json.loads(text[1:])))
        return 1

    def take(self) -> list[tuple[str, str, dict[str, Any]]]:
        items, self.items = self.items, []
        return items


@dataclass
class World:
    store: Store
    broker: MemoryBroker
    clock: Clock
    published: Published
    dispatcher: Dispatcher
    queue: Queue
    alice: User
    bob: User

    async def submit(self, ip: str = "192.0.2.1", question: str = "my printer is on fire") -> Any:
        req, token = await self.dispatcher.submit(
            queue=self.queue, name="Ann", email="ann@example.com", question=question, ip=ip, origin="https://example.com"
        )
        return req, token


@pytest.fixture
def clock() -> Iterator[Clock]:
    yield Clock()


@pytest.fixture
async def world(tmp_path: Path, clock: Clock) -> AsyncIterator[World]:
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'desklink.db'}")
    broker = MemoryBroker(clock=clock.mono)
    published = Published()
    try:
        queue = await store.create_queue("support", "Support", ["https://example.com"], T0)
        alice = await store.create_user("alice", "Alice", "rep", "hash", T0)
        bob = await store.create_user("bob", "Bob", "rep", "hash", T0)
        await store.set_queue_members(queue.id, [alice.id, bob.id])
        dispatcher = Dispatcher(store, broker, SETTINGS, clock.wall, publish=published)
        yield World(store, broker, clock, published, dispatcher, queue, alice, bob)
    finally:
        await broker.aclose()
        await store.close()


async def test_submit_stores_the_request_and_alerts_the_queue(world: World) -> None:
    req, token = await world.submit()
    q = world.queue.id
    assert world.published.take() == [
        (f"q:{q}", "R", {"t": "alert", "request": Dispatcher.alert_view(req, world.queue)}),
        (f"q:{q}:pos", "X", {"op": "positions"}),
    ]
    stored = await world.store.get_request(req.id)
    assert stored is not None and stored.status == "waiting" and stored.question == "my printer is on fire"
    by_token = await world.store.get_request_by_token(hash_token(token))
    assert by_token is not None and by_token.id == req.id
    assert [(e.kind, e.actor) for e in await world.store.events_for(req.id)] == [("submitted", "visitor")]
    assert await world.broker.presence_members(VISITOR_PRESENCE) == [req.id]


@pytest.mark.parametrize(
    ("email", "question", "words"),
    [
        ("not-an-address", "help", "e-mail"),
        ("ann@example.com", "", "question"),
        ("ann@example.com", "x" * (SETTINGS.max_question_chars + 1), "question"),
    ],
)
async def test_bad_submissions_store_and_publish_nothing(world: World, email: str, question: str, words: str) -> None:
    with pytest.raises(ProtocolError, match=words):
        await world.dispatcher.submit(queue=world.queue, name="Ann", email=email, question=question, ip="192.0.2.1", origin="")
    assert world.published.take() == []
    assert await world.store.waiting_requests([world.queue.id]) == []


async def test_open_requests_per_address_past_the_limit(world: World) -> None:
    for _ in range(SETTINGS.max_open_requests_per_ip):
        await world.submit()
    world.published.take()
    with pytest.raises(LimitExceeded) as refused:
        await world.submit()
    assert refused.value.code == "too_many_requests"
    assert world.published.take() == []
    await world.submit(ip="192.0.2.2")  # another address is not affected
    assert len(await world.store.waiting_requests([world.queue.id])) == SETTINGS.max_open_requests_per_ip + 1


async def test_first_accept_wins_and_the_loser_is_told_who(world: World) -> None:
    req, _ = await world.submit()
    world.published.take()
    members = frozenset({world.queue.id})
    session = await world.dispatcher.accept(world.alice, req.id, members)
    q, r = world.queue.id, f"r:{req.id}"
    published = world.published.take()
    assert [(c, t, m.get("t") or m.get("op")) for c, t, m in published] == [
        (f"q:{q}", "R", "alert.withdrawn"),
        (f"q:{q}:pos", "X", "positions"),
        (r, "V", "joined"),
        (r, "X", "accepted"),
        (r, "A", "chat"),
        (f"u:{world.alice.id}", "X", "accepted"),
    ]
    assert published[0][2] == {
        "t": "alert.withdrawn", "request_id": req.id, "reason": "taken", "taken_by": {"id": world.alice.id, "name": "Alice"},
    }
    assert published[2][2] == {"t": "joined", "rep": {"name": "Alice"}}
    assert published[4][2]["text"] == "Alice joined the conversation." and published[4][2]["from"] == "system"
    # The help box says it in the visitor's language from the code and vars (protocol/system_lines.py).
    assert (published[4][2]["code"], published[4][2]["vars"]) == ("joined", {"name": "Alice"})

    with pytest.raises(Conflict, match="already taken by Alice") as lost:
        await world.dispatcher.accept(world.bob, req.id, members)
    assert lost.value.code == "conflict_taken"
    assert world.published.take() == []
    stored = await world.store.get_request(req.id)
    assert stored is not None and (stored.status, stored.rep_id) == ("accepted", world.alice.id)
    assert session.rep_id == world.alice.id
    assert [e.kind for e in await world.store.events_for(req.id)] == ["submitted", "accepted"]


async def test_a_rep_outside_the_queue_cannot_accept(world: World) -> None:
    req, _ = await world.submit()
    world.published.take()
    with pytest.raises(Forbidden):
        await world.dispatcher.accept(world.alice, req.id, frozenset({world.queue.id + 1}))
    assert world.published.take() == []
    stored = await world.store.get_request(req.id)
    assert stored is not None and stored.status == "waiting"


async def test_a_resent_chat_line_is_stored_once_and_published_again(world: World) -> None:
    req, _ = await world.submit()
    session = await world.dispatcher.accept(world.alice, req.id, frozenset({world.queue.id}))
    world.published.take()
    first, created = await world.dispatcher.chat(req, sender="visitor", name="Ann", user_id=None, cid="c1", text="hello")
    again, created_again = await world.dispatcher.chat(req, sender="visitor", name="Ann", user_id=None, cid="c1", text="hello")
    assert (created, created_again) == (True, False)
    assert again.seq == first.seq
    published = world.published.take()
    assert len(published) == 2 and published[0] == published[1]
    channel, target, view = published[0]
    assert (channel, target) == (f"r:{req.id}", "A")
    assert (view["t"], view["session_id"], view["seq"], view["text"]) == ("chat", session.id, first.seq, "hello")
    assert "code" not in view and "vars" not in view  # only DeskLink's own lines have a code
    assert [m.body for m in await world.store.messages_after(req.id, 0, 100)] == ["Alice joined the conversation.", "hello"]


async def test_chat_after_the_end_is_refused(world: World) -> None:
    req, _ = await world.submit()
    session = await world.dispatcher.accept(world.alice, req.id, frozenset({world.queue.id}))
    await world.dispatcher.end(session, by="rep", actor="rep", actor_id=world.alice.id, disposition="solved", note="")
    world.published.take()
    with pytest.raises(Conflict) as refused:
        await world.dispatcher.chat(req, sender="visitor", name="Ann", user_id=None, cid="late", text="wait")
    assert refused.value.code == "conflict_closed"
    assert world.published.take() == []
    with pytest.raises(Conflict):  # and ending twice is refused, announced once
        await world.dispatcher.end(session, by="rep", actor="rep", disposition=None, note="")
    assert world.published.take() == []


async def test_the_sweeper_expires_what_nobody_accepted(world: World) -> None:
    req, _ = await world.submit()
    world.clock.t = SETTINGS.request_expiry_s - 1
    await world.dispatcher.visitor_present(req.id)  # the visitor is still there
    world.published.take()
    assert await world.dispatcher.sweep() == 0
    world.clock.t = SETTINGS.request_expiry_s + 1
    await world.dispatcher.visitor_present(req.id)
    assert await world.dispatcher.sweep() == 1
    q, r = world.queue.id, f"r:{req.id}"
    assert world.published.take() == [
        (f"q:{q}", "R", {"t": "alert.withdrawn", "request_id": req.id, "reason": "expired", "taken_by": None}),
        (f"q:{q}:pos", "X", {"op": "positions"}),
        (r, "V", {"t": "closed", "status": "expired"}),
        (r, "X", {"op": "ended"}),
    ]
    assert await world.dispatcher.sweep() == 0  # announced once
    assert world.published.take() == []


async def test_a_gone_visitor_is_abandoned_only_when_presence_can_be_trusted(world: World) -> None:
    req, _ = await world.submit()
    world.clock.t = SETTINGS.visitor_grace_s + 1  # no heartbeat since the submit
    world.published.take()
    assert await world.dispatcher.sweep(broker_ok=False) == 0  # the broker failed lately: nobody is judged
    assert world.published.take() == []
    await world.broker.mark_presence_gap()  # presence was lost (a broker restart)
    assert await world.dispatcher.sweep() == 0
    world.clock.t += SETTINGS.visitor_grace_s  # a full grace period of presence kept since the gap
    assert await world.dispatcher.sweep() == 1
    assert [m for _, _, m in world.published.take()][2] == {"t": "closed", "status": "abandoned"}
    stored = await world.store.get_request(req.id)
    assert stored is not None and stored.status == "abandoned"


async def test_a_visitor_renewing_the_screen_code_publishes_through_the_node(world: World) -> None:
    req, _ = await world.submit()
    session = await world.dispatcher.accept(world.alice, req.id, frozenset({world.queue.id}))
    first = await world.dispatcher.request_screen(session, world.alice, "http://127.0.0.1:8080")
    world.published.take()
    renewed = await world.dispatcher.renew_screen_code(req, "http://127.0.0.1:8080")
    assert renewed["code"] != first["code"]
    published = world.published.take()
    assert [(c, t, m["t"]) for c, t, m in published] == [(f"r:{req.id}", "A", "screen.offer"), (f"r:{req.id}", "A", "chat")]
    assert published[0][2] == renewed
    assert renewed["code"] in published[1][2]["text"]
