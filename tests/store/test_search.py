"""Session search on SQLite and PostgreSQL: each filter narrows to exactly the
sessions seeded for it, words match inside one message whatever their case,
wildcards in the search text are literal, and the first message with the
words comes back with its time."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from desklink.store import Queue, Store, User
from desklink.store._search import MAX_SEARCH_CHARS, MAX_SEARCH_WORDS, SessionQuery, split_words

from ._helpers import at, make_queue, make_user, token_hash


@dataclass
class Seeded:
    ann: User
    bob: User
    main: Queue
    billing: Queue
    ids: dict[str, str]  # label -> session id


async def _session(store: Store, queue: Queue, rep: User, t: float, *, name: str, email: str, lines: list[str],
                   events: list[tuple[str, dict[str, object]]] = (), disposition: str | None = None) -> str:  # type: ignore[assignment]
    req = await store.create_request(queue_id=queue.id, visitor_name=name, visitor_email=email, question="help",
                                     token_hash=token_hash(), ip="192.0.2.1", origin="https://example.com", now=at(t))
    session = await store.accept_request(req.id, rep.id, at(t + 5))
    assert session is not None
    for i, line in enumerate(lines):
        sender = "visitor" if i % 2 == 0 else "rep"
        await store.add_message(request_id=req.id, client_id=f"c{i}", sender=sender, sender_name=name,  # type: ignore[arg-type]
                                user_id=None if sender == "visitor" else rep.id, body=line, now=at(t + 10 + i))
    for kind, data in events:
        await store.add_event(request_id=req.id, kind=kind, actor="system", data=data, now=at(t + 30))  # type: ignore[arg-type]
    if disposition:
        await store.end_session(session.id, ended_by="rep", disposition=disposition, note="", now=at(t + 60))
    return session.id


@pytest.fixture
async def seeded(store: Store) -> Seeded:
    ann, bob = await make_user(store, "ann"), await make_user(store, "bob")
    main, billing = await make_queue(store, "main"), await make_queue(store, "billing")
    ids = {
        "printer": await _session(store, main, ann, 0, name="Carla Jones", email="carla@example.com",
                                  lines=["My PRINTER jams", "Which model?", "an old one"], disposition="resolved"),
        "screen": await _session(store, main, bob, 3600, name="Dan", email="dan@corp.example",
                                 lines=["the screen is black"], events=[("sharing_started", {})]),
        "control": await _session(store, billing, ann, 7200, name="Eve", email="eve@example.com",
                                  lines=["invoice 100% wrong"],
                                  events=[("sharing_started", {}), ("privilege_granted", {"privilege": "control"})],
                                  disposition="escalated"),
        "files": await _session(store, billing, bob, 86400, name="Frank", email="f@example.com",
                                lines=["here is the log", "printer log attached"],
                                events=[("privilege_granted", {"privilege": "view"}), ("file_offered", {"name": "log.txt"})]),
    }
    return Seeded(ann, bob, main, billing, ids)


async def _found(store: Store, **kw: object) -> set[str]:
    return {h.session.id for h in await store.search_sessions(SessionQuery(**kw))}  # type: ignore[arg-type]


async def test_each_filter_narrows_to_what_was_seeded(store: Store, seeded: Seeded) -> None:
    ids = seeded.ids
    assert await _found(store) == set(ids.values())
    assert await _found(store, since=at(3600), until=at(86400)) == {ids["screen"], ids["control"]}
    assert await _found(store, queue_ids=frozenset({seeded.billing.id})) == {ids["control"], ids["files"]}
    assert await _found(store, queue_ids=frozenset()) == set()  # a supervisor of no queue sees nothing
    assert await _found(store, rep_id=seeded.ann.id) == {ids["printer"], ids["control"]}
    assert await _found(store, visitor="JONES") == {ids["printer"]}
    assert await _found(store, visitor="corp.example") == {ids["screen"]}
    assert await _found(store, disposition="escalated") == {ids["control"]}
    assert await _found(store, had=frozenset({"screen"})) == {ids["screen"], ids["control"]}
    assert await _found(store, had=frozenset({"control"})) == {ids["control"]}
    assert await _found(store, had=frozenset({"files"})) == {ids["files"]}
    assert await _found(store, had=frozenset({"screen", "control"}), rep_id=seeded.ann.id) == {ids["control"]}


async def test_words_match_in_one_message_and_the_first_match_comes_back(store: Store, seeded: Seeded) -> None:
    hits = await store.search_sessions(SessionQuery(words=split_words("printer")))
    assert [h.session.id for h in hits] == [seeded.ids["files"], seeded.ids["printer"]]  # newest first
    printer = hits[1]
    assert printer.match_seq == 1 and printer.match_excerpt == "My PRINTER jams"
    assert printer.match_at == at(10)
    assert hits[0].match_seq == 2 and hits[0].match_at == at(86400 + 11)
    # Both words in one message; not one word here and one there.
    assert await _found(store, words=split_words("printer log")) == {seeded.ids["files"]}
    assert await _found(store, words=split_words("printer model")) == set()
    # A wildcard in the search text is a character, not a pattern.
    assert await _found(store, words=split_words("100%")) == {seeded.ids["control"]}
    assert await _found(store, words=split_words("1_0")) == set()
    assert await _found(store, words=split_words("%")) == {seeded.ids["control"]}


async def test_paging_is_stable(store: Store, seeded: Seeded) -> None:
    first = await store.search_sessions(SessionQuery(limit=3))
    rest = await store.search_sessions(SessionQuery(limit=3, offset=3))
    assert [h.session.id for h in first + rest] == [seeded.ids[k] for k in ("files", "control", "screen", "printer")]
    assert first[0].rep_name == "Bob" and first[0].queue.slug == "billing"


def test_search_text_limits() -> None:
    assert split_words("  Printer  printer JAM ") == ("printer", "jam")
    with pytest.raises(ValueError, match="at most"):
        split_words("x" * (MAX_SEARCH_CHARS + 1))
    with pytest.raises(ValueError, match="words"):
        split_words(" ".join(f"w{i}" for i in range(MAX_SEARCH_WORDS + 1)))
