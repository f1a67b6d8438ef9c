"""First accept wins, with 50 reps online and all accepting at once."""

from __future__ import annotations

import asyncio

from desklink.testing import AdminAPI, RepClient, ServerProcess, VisitorClient

REPS = 50


async def test_fifty_reps_accept_at_once_exactly_one_wins(server: ServerProcess, admin: AdminAPI) -> None:
    admin.queue("race")
    creds = admin.reps(REPS, queue_slug="race", prefix="racer")
    reps = await asyncio.gather(*(RepClient.connect(server, u, p) for u, p in creds))
    visitor = await VisitorClient.submit(server, queue="race", name="Ann", question="my printer is on fire")

    alerts = await asyncio.gather(*(r.expect("alert") for r in reps))
    assert {a["request"]["id"] for a in alerts} == {visitor.request_id}

    await asyncio.gather(*(r.send({"t": "accept", "request_id": visitor.request_id}) for r in reps))
    withdrawn = await asyncio.gather(*(r.expect("alert.withdrawn", request_id=visitor.request_id) for r in reps))

    # Every console hears that it is gone, and all name the same winner.
    winners = {w["taken_by"]["id"] for w in withdrawn}
    assert len(winners) == 1 and all(w["reason"] == "taken" for w in withdrawn)
    winner_id = winners.pop()

    # Exactly one console gets the session; every other gets conflict_taken.
    outcomes = []
    for r in reps:
        for _ in range(20):
            if any(m["t"] in ("accepted", "error") for m in r.received):
                break
            await r.recv(5)
        outcomes.append(next(m for m in r.received if m["t"] in ("accepted", "error")))
    accepted = [o for o in outcomes if o["t"] == "accepted"]
    refused = [o for o in outcomes if o["t"] == "error"]
    assert len(accepted) == 1
    assert len(refused) == REPS - 1
    assert {o["code"] for o in refused} == {"conflict_taken"}
    winner_client = reps[outcomes.index(accepted[0])]
    assert winner_client.welcome["user"]["id"] == winner_id

    joined = await visitor.expect("joined")
    assert joined["rep"]["name"] == winner_client.welcome["user"]["display_name"]

    # The database agrees: one session, held by the winner.
    detail = admin.http.get(f"/api/sessions/{accepted[0]['session']['id']}").json()
    assert detail["rep"]["id"] == winner_id
    assert [e["kind"] for e in detail["events"]].count("accepted") == 1
    for c in [*reps, visitor]:
        await c.close()


async def test_away_reps_and_other_queues_are_not_alerted(server: ServerProcess, admin: AdminAPI) -> None:
    admin.queue("quiet")
    admin.queue("other")
    (online_user, online_pw), (away_user, away_pw) = admin.reps(2, queue_slug="quiet", prefix="quiet")
    (other_user, other_pw), = admin.reps(1, queue_slug="other", prefix="otherq")
    online = await RepClient.connect(server, online_user, online_pw)
    away = await RepClient.connect(server, away_user, away_pw, online=False)
    other = await RepClient.connect(server, other_user, other_pw)
    visitor = await VisitorClient.submit(server, queue="quiet")
    await online.expect("alert")
    await asyncio.sleep(0.5)
    for silent in (away, other):
        while True:
            try:
                msg = await silent.recv(0.2)
            except TimeoutError:
                break
            assert msg["t"] != "alert", msg

    # A rep who goes online later is shown what is already waiting.
    await away.send({"t": "presence", "status": "online"})
    late = await away.expect("alert")
    assert late["request"]["id"] == visitor.request_id
    for c in (online, away, other, visitor):
        await c.close()
