"""Two nodes on PostgreSQL and Redis: a rep on one, a visitor on the other.

This is the scale-out shape (docs/deploy.md): web nodes are stateless, and
alerts, claims, presence and chat cross nodes through the broker.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from desklink.testing import AdminAPI, RepClient, ServerProcess, VisitorClient

pytestmark = [pytest.mark.pg, pytest.mark.redis]


@pytest.fixture
def nodes(pg_database_url: str, redis_url: str, tmp_path: Path) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    env = {
        "DESKLINK_DATABASE_URL": pg_database_url,
        "DESKLINK_REDIS_URL": redis_url,
        "DESKLINK_BROKER_PREFIX": f"dltest:{secrets.token_hex(4)}:",
    }
    with ServerProcess(env=env, data_dir=tmp_path / "a") as a:
        with ServerProcess(env=env, data_dir=tmp_path / "b") as b:
            b.admin_password = a.admin_password
            yield a, b


async def test_alert_accept_and_chat_cross_nodes(nodes: tuple[ServerProcess, ServerProcess]) -> None:
    a, b = nodes
    admin = AdminAPI(a)
    (u1, p1), (u2, p2) = admin.reps(2, prefix="node")
    admin.close()
    rep_a = await RepClient.connect(a, u1, p1)
    rep_b = await RepClient.connect(b, u2, p2)
    visitor = await VisitorClient.submit(b, name="Ann", question="across nodes")
    assert visitor.welcome["queue"]["online_reps"] == 2  # presence is shared

    alerts = await asyncio.gather(rep_a.expect("alert"), rep_b.expect("alert"))
    assert {x["request"]["id"] for x in alerts} == {visitor.request_id}
    await asyncio.gather(
        rep_a.send({"t": "accept", "request_id": visitor.request_id}),
        rep_b.send({"t": "accept", "request_id": visitor.request_id}),
    )
    w = await asyncio.gather(rep_a.expect("alert.withdrawn"), rep_b.expect("alert.withdrawn"))
    assert w[0]["taken_by"] == w[1]["taken_by"]
    winner, loser = (rep_a, rep_b) if w[0]["taken_by"]["id"] == rep_a.welcome["user"]["id"] else (rep_b, rep_a)
    sid = (await winner.expect("accepted"))["session"]["id"]
    assert (await loser.expect("error"))["code"] == "conflict_taken"
    await visitor.expect("joined")

    await visitor.send({"t": "chat.send", "cid": "v1", "text": "hello from node b"})
    assert (await winner.expect("chat", cid="v1"))["text"] == "hello from node b"
    await winner.send({"t": "chat.send", "session_id": sid, "cid": "r1", "text": "hello back"})
    assert (await visitor.expect("chat", cid="r1"))["text"] == "hello back"

    # The visitor (on node b) also opens the conversation on node a and resumes there.
    again = await VisitorClient.open(a, visitor.request_id, visitor.token, last_seq=0)
    await again.expect("chat", cid="r1")
    await winner.send({"t": "end", "session_id": sid, "disposition": "resolved"})
    assert (await again.expect("ended"))["by"] == "rep"
    assert (await visitor.expect("ended"))["by"] == "rep"
    for c in (rep_a, rep_b, visitor, again):
        await c.close()


async def test_a_transfer_crosses_nodes(nodes: tuple[ServerProcess, ServerProcess]) -> None:
    """Ann on node a offers the session to Bob on node b (a queue transfer:
    the alert crosses on the queue channel); Bob's accept moves it, Ann's
    console on node a lets go and the visitor on node a is told."""
    a, b = nodes
    admin = AdminAPI(a)
    (u1, p1), (u2, p2) = admin.reps(2, prefix="hand")
    queue_id = admin.queue("support")["id"]
    admin.close()
    ann = await RepClient.connect(a, u1, p1)
    bob = await RepClient.connect(b, u2, p2)
    visitor = await VisitorClient.submit(a, name="Vera", question="hand me over")
    await asyncio.gather(ann.expect("alert"), bob.expect("alert"))
    await ann.send({"t": "accept", "request_id": visitor.request_id})
    sid = (await ann.expect("accepted"))["session"]["id"]
    await visitor.expect("joined")

    await ann.send({"t": "transfer", "session_id": sid, "to_queue_id": queue_id, "note": "over to you"})
    offer = await bob.expect("handoff.alert")
    assert (offer["from"]["name"], offer["note"]) == (ann.welcome["user"]["display_name"], "over to you")
    await bob.send({"t": "handoff.accept", "session_id": sid, "id": offer["id"]})
    assert (await bob.expect("accepted"))["session"]["id"] == sid
    assert (await ann.expect("taken_over", session_id=sid))["how"] == "transfer"
    assert (await ann.expect("handoff.result", outcome="accepted"))["by"]["id"] == bob.welcome["user"]["id"]
    assert (await visitor.expect("taken_over"))["rep"]["name"] == bob.welcome["user"]["display_name"]
    await bob.send({"t": "chat.send", "session_id": sid, "cid": "b1", "text": "from node b"})
    assert (await visitor.expect("chat", cid="b1"))["text"] == "from node b"
    for c in (ann, bob, visitor):
        await c.close()
