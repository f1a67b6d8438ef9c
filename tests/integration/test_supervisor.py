"""Supervisors in a live conversation (issue 13, "Live board"): watch,
whisper, join the chat, take over, on a real server with real sockets.

The whisper's promise is negative: it never reaches the visitor. Each check
first passes a marker the visitor must see (a chat line sent after the
whisper), so "not there" is judged after the visitor's socket, resume and
transcript have caught up past the whisper."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from desklink.protocol.limits import MAX_CHAT_CHARS
from desklink.testing import ONE_ADDRESS_ENV, AdminAPI, RepClient, ServerProcess, VisitorClient

PW = "supervisor password"
SECRET = "between us: try safe mode"


def _mentions(messages: list[dict[str, Any]], text: str) -> bool:
    return any(text in str(m) for m in messages) or any(m.get("t") == "whisper" for m in messages)


LOGINS: dict[str, tuple[str, str]] = {}


async def _live(server: ServerProcess, admin: AdminAPI, unique: str) -> tuple[RepClient, VisitorClient, str, dict[str, Any]]:
    queue = admin.queue(unique + "q")
    ((user, password),) = admin.reps(1, queue_slug=queue["slug"], prefix=unique + "r")
    LOGINS[user] = (user, password)
    rep = await RepClient.connect(server, user, password)
    visitor = await VisitorClient.submit(server, queue=queue["slug"], name="Vera")
    await rep.expect("alert")
    await rep.send({"t": "accept", "request_id": visitor.request_id})
    sid = str((await rep.expect("accepted"))["session"]["id"])
    await visitor.expect("joined")
    await visitor.send({"t": "chat.send", "cid": "v1", "text": "my printer is on fire"})
    await rep.expect("chat", cid="v1")
    return rep, visitor, sid, queue


def _supervisor(admin: AdminAPI, queue: dict[str, Any], username: str, name: str = "Sue") -> tuple[str, str]:
    sup = admin.user(username, PW, role="supervisor", display_name=name)
    admin.members(queue["id"], [*admin.queue(queue["slug"])["members"], sup["id"]])
    return username, PW


async def test_watch_whisper_join_and_take_over(server: ServerProcess, admin: AdminAPI, unique: str) -> None:
    rep, visitor, sid, queue = await _live(server, admin, unique)
    sue = await RepClient.connect(server, *_supervisor(admin, queue, unique + "sue"), online=False)
    try:
        # Watch: the history, then who watches, told to the visitor and the rep.
        await sue.send({"t": "watch", "session_id": sid})
        watching = await sue.expect("watching")
        assert watching["session"]["id"] == sid and watching["session"]["rep"]["name"] == rep.welcome["user"]["display_name"]
        assert (await sue.expect("chat", cid="v1"))["text"] == "my printer is on fire"
        sue_label = [{"id": sue.welcome["user"]["id"], "name": "Sue", "role": "supervisor"}]
        assert (await visitor.expect("watchers"))["watchers"] == sue_label
        assert (await rep.expect("watchers"))["watchers"] == sue_label
        # Live chat reaches the watcher; the watcher may not speak yet.
        await visitor.send({"t": "chat.send", "cid": "v2", "text": "still burning"})
        await sue.expect("chat", cid="v2")
        await sue.send({"t": "chat.send", "session_id": sid, "cid": "s0", "text": "hi"})
        assert (await sue.expect("error"))["code"] == "forbidden"

        # Whisper: to the rep (and watchers), stored, never to the visitor.
        await sue.send({"t": "whisper", "session_id": sid, "cid": "w1", "text": SECRET})
        heard = await rep.expect("whisper")
        assert (heard["text"], heard["from"]["name"], heard["session_id"]) == (SECRET, "Sue", sid)
        assert (await sue.expect("whisper"))["cid"] == "w1"
        await rep.send({"t": "chat.send", "session_id": sid, "cid": "r1", "text": "marker after the whisper"})
        await visitor.expect("chat", cid="r1")
        assert not _mentions(visitor.received, SECRET)
        # ... nor in a resumed help box's catch-up ...
        again = await VisitorClient.open(server, visitor.request_id, visitor.token)
        await again.expect("chat", cid="r1")
        assert not _mentions(again.received, SECRET)
        await again.close()
        # ... nor in the transcript the visitor saves.
        async with httpx.AsyncClient(base_url=server.url) as http:
            saved = await http.get("/api/visitor/transcript?format=text", headers={"Authorization": f"Bearer {visitor.token}"})
        assert saved.status_code == 200 and "marker after the whisper" in saved.text and SECRET not in saved.text
        # ... and a reloaded console shows the whisper again.
        reloaded = await RepClient.connect(server, *LOGINS[rep.welcome["user"]["username"]], online=False)
        assert (await reloaded.expect("whisper"))["text"] == SECRET
        assert (await reloaded.expect("watchers", session_id=sid))["watchers"] == sue_label
        await reloaded.close()
        # Whispers keep the chat's text limit.
        await sue.send({"t": "whisper", "session_id": sid, "cid": "w2", "text": "x" * (MAX_CHAT_CHARS + 1)})
        assert (await sue.expect("error"))["code"] in ("too_large", "bad_message")
        assert not any(m.get("cid") == "w2" for m in rep.received)

        # Join the chat: the visitor is told and reads Sue's lines under her name.
        await sue.send({"t": "join_chat", "session_id": sid})
        await sue.expect("chat_joined", session_id=sid)
        joined = await visitor.expect("chat", text="Sue (supervisor) joined the chat.")
        assert joined["from"] == "system"
        # Said in the visitor's language from its code (docs/protocol.md, "System lines").
        assert (joined["code"], joined["vars"]) == ("joined_chat", {"name": "Sue", "role": "supervisor"})
        await sue.send({"t": "chat.send", "session_id": sid, "cid": "s1", "text": "Sue here, I can help"})
        line = await visitor.expect("chat", cid="s1")
        assert (line["name"], line["from"]) == ("Sue", "rep")
        await rep.expect("chat", cid="s1")

        # Take over: Sue holds it, the old rep is told and drops it.
        await sue.send({"t": "take_over", "session_id": sid})
        assert (await sue.expect("accepted"))["session"]["id"] == sid
        told = await rep.expect("taken_over", session_id=sid)
        assert told["by"]["name"] == "Sue"
        assert (await visitor.expect("taken_over"))["rep"] == {"name": "Sue"}
        took = await visitor.expect("chat", text="Sue took over the conversation.")
        assert (took["code"], took["vars"]) == ("taken_over", {"name": "Sue"})
        assert (await visitor.expect("watchers"))["watchers"] == []
        await rep.send({"t": "chat.send", "session_id": sid, "cid": "r2", "text": "am I still here?"})
        assert (await rep.expect("error"))["code"] == "forbidden"
        await visitor.send({"t": "chat.send", "cid": "v3", "text": "thanks Sue"})
        await sue.expect("chat", cid="v3")
        await sue.send({"t": "chat.send", "session_id": sid, "cid": "s2", "text": "you are welcome"})
        await visitor.expect("chat", cid="s2")
        # Sue ends it as its holder.
        await sue.send({"t": "end", "session_id": sid, "disposition": "resolved", "note": ""})
        await visitor.expect("ended")
    finally:
        for c in (sue, rep, visitor):
            await c.close()

    # The transcript never holds the whisper; the timeline logs every act in order.
    transcript = admin.http.get(f"/api/sessions/{sid}/transcript")
    assert transcript.status_code == 200 and SECRET not in transcript.text and "Sue here" in transcript.text
    texts = [i["text"] for i in admin.http.get(f"/api/sessions/{sid}/timeline").json()["items"]]
    acts = [
        "Sue (supervisor) started watching the chat",
        f"Sue (supervisor) whispered to the rep: {SECRET}",
        "Sue (supervisor) joined the chat",
        "Sue (supervisor) took the session over from",
    ]
    at = [next(i for i, t in enumerate(texts) if t.startswith(a)) for a in acts]
    assert at == sorted(at), texts
    session = admin.http.get(f"/api/sessions/{sid}").json()
    assert "Sue" in str(session)


async def test_unwatch_and_a_closed_console_stop_the_visitor_seeing_them(
    server: ServerProcess, admin: AdminAPI, unique: str
) -> None:
    rep, visitor, sid, queue = await _live(server, admin, unique)
    sue = await RepClient.connect(server, *_supervisor(admin, queue, unique + "sue"), online=False)
    ann = await RepClient.connect(server, *_supervisor(admin, queue, unique + "ann", "Ann"), online=False)
    try:
        await sue.send({"t": "watch", "session_id": sid})
        await visitor.expect("watchers", watchers=[{"id": sue.welcome["user"]["id"], "name": "Sue", "role": "supervisor"}])
        await ann.send({"t": "watch", "session_id": sid})
        both = await visitor.expect("watchers")
        assert [w["name"] for w in both["watchers"]] == ["Sue", "Ann"]
        # Another watcher hears whispers too.
        await sue.send({"t": "whisper", "session_id": sid, "cid": "w1", "text": "watch this"})
        assert (await ann.expect("whisper"))["text"] == "watch this"
        await sue.send({"t": "unwatch", "session_id": sid})
        await sue.expect("unwatched", session_id=sid)
        assert [w["name"] for w in (await visitor.expect("watchers"))["watchers"]] == ["Ann"]
        # No more chat for Sue once she stopped watching.
        await visitor.send({"t": "chat.send", "cid": "v9", "text": "after"})
        await ann.expect("chat", cid="v9")
        await sue.send({"t": "whisper", "session_id": sid, "cid": "w2", "text": "late"})
        assert (await sue.expect("error"))["code"] == "forbidden"
        assert not any(m.get("cid") == "v9" for m in sue.received)
        await ann.close()
        assert (await visitor.expect("watchers"))["watchers"] == []
    finally:
        for c in (sue, rep, visitor):
            await c.close()


async def test_only_supervisors_of_the_queue_and_admins_may_watch(
    server: ServerProcess, admin: AdminAPI, unique: str
) -> None:
    rep, visitor, sid, queue = await _live(server, admin, unique)
    other = admin.queue(unique + "other")
    far = admin.user(unique + "far", PW, role="supervisor", display_name="Far")
    admin.members(other["id"], [far["id"]])
    ((peer_user, peer_pw),) = admin.reps(1, queue_slug=queue["slug"], prefix=unique + "peer")
    peer = await RepClient.connect(server, peer_user, peer_pw, online=False)
    far_sup = await RepClient.connect(server, unique + "far", PW, online=False)
    boss = await RepClient.connect(server, "admin", server.admin_password, online=False)
    try:
        for who in (peer, far_sup):
            await who.send({"t": "watch", "session_id": sid})
            err = await who.expect("error")
            assert err["code"] == "forbidden" and "supervisor" in err["message"]
            for t in ("whisper", "join_chat", "take_over"):
                msg: dict[str, Any] = {"t": t, "session_id": sid}
                if t == "whisper":
                    msg |= {"cid": "x", "text": "psst"}
                await who.send(msg)
                assert (await who.expect("error"))["code"] == "forbidden"
        await rep.send({"t": "watch", "session_id": sid})
        assert (await rep.expect("error"))["code"] == "bad_state"
        await boss.send({"t": "watch", "session_id": "no-such-session"})
        assert (await boss.expect("error"))["code"] == "not_found"
        await boss.send({"t": "watch", "session_id": sid})
        await boss.expect("watching")
        assert (await visitor.expect("watchers"))["watchers"][0]["role"] == "admin"
        # The holder is untouched by all of it.
        await rep.send({"t": "chat.send", "session_id": sid, "cid": "r1", "text": "still mine"})
        await visitor.expect("chat", cid="r1")
        # The screen viewer follows the same rule (refused before the socket opens).
        assert await _viewer_refused(server, far_sup, sid)
    finally:
        for c in (peer, far_sup, boss, rep, visitor):
            await c.close()


async def _viewer_refused(server: ServerProcess, client: RepClient, sid: str) -> bool:
    """Is ``client``'s user turned away from the session's screen viewer?
    (The close before accepting reaches the client as HTTP 403.)"""
    import websockets

    http, _ = server.login(client.welcome["user"]["username"], PW)
    cookie = http.cookies["dl_session"]
    http.close()
    try:
        ws = await websockets.connect(
            f"{server.ws_url}/ws/viewer?session={sid}", origin=server.url, additional_headers={"Cookie": f"dl_session={cookie}"}  # type: ignore[arg-type]
        )
    except websockets.InvalidStatus as exc:
        return exc.response.status_code == 403
    await ws.close()
    return False


async def test_a_supervisor_who_loses_the_queue_stops_watching(server: ServerProcess, admin: AdminAPI, unique: str) -> None:
    rep, visitor, sid, queue = await _live(server, admin, unique)
    sue = await RepClient.connect(server, *_supervisor(admin, queue, unique + "sue"), online=False)
    try:
        await sue.send({"t": "watch", "session_id": sid})
        await sue.expect("watching")
        await visitor.expect("watchers", watchers=[{"id": sue.welcome["user"]["id"], "name": "Sue", "role": "supervisor"}])
        members = [m for m in admin.queue(queue["slug"])["members"] if m != sue.welcome["user"]["id"]]
        admin.members(queue["id"], members)
        assert (await sue.expect("unwatched", session_id=sid))["reason"] == "access"
        assert (await visitor.expect("watchers"))["watchers"] == []
        await sue.send({"t": "whisper", "session_id": sid, "cid": "w1", "text": "still here?"})
        assert (await sue.expect("error"))["code"] == "forbidden"
    finally:
        for c in (sue, rep, visitor):
            await c.close()


async def test_take_over_hands_the_screen_to_the_supervisor(server: ServerProcess, admin: AdminAPI, unique: str) -> None:
    """The relay's primary viewer becomes the supervisor's; the old rep's
    viewer closes (4003) and theirs may act."""
    import asyncio

    from desklink.testing import ViewerClient, wait_until

    rep, visitor, sid, queue = await _live(server, admin, unique)
    rep_login = LOGINS[rep.welcome["user"]["username"]]
    sue_login = _supervisor(admin, queue, unique + "sue")
    sue = await RepClient.connect(server, *sue_login, online=False)
    rep_view = await ViewerClient.connect(server, *rep_login, sid)
    sue_view = await ViewerClient.connect(server, *sue_login, sid)
    try:
        await wait_until(lambda: bool(rep_view.states) and rep_view.states[-1]["watchers"] == ["Sue"], what="Sue watching")
        await sue.send({"t": "watch", "session_id": sid})
        await sue.expect("watching")
        await sue.send({"t": "take_over", "session_id": sid})
        await sue.expect("accepted")
        await asyncio.wait_for(asyncio.shield(rep_view._task), 10)
        assert rep_view.ws.close_code == 4003
        await wait_until(lambda: sue_view.states[-1]["watchers"] == [], what="Sue no longer a watcher")
        # Sue's viewer acts now: stopping is the primary viewer's (a watcher gets forbidden).
        await sue_view.send({"t": "screen.stop"})
        await wait_until(lambda: sue_view.states[-1]["status"] == "stopped", what="Sue stopped the share")
    finally:
        for c in (sue, rep, visitor):
            await c.close()
        for v in (rep_view, sue_view):
            await v.close()


@pytest.fixture
def nodes(pg_database_url: str, redis_url: str, tmp_path: Path) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    env = {
        "DESKLINK_DATABASE_URL": pg_database_url,
        "DESKLINK_REDIS_URL": redis_url,
        "DESKLINK_BROKER_PREFIX": f"dltest:{secrets.token_hex(4)}:",
        **ONE_ADDRESS_ENV,
    }
    with ServerProcess(env=env, data_dir=tmp_path / "a") as a:
        with ServerProcess(env=env, data_dir=tmp_path / "b") as b:
            b.admin_password = a.admin_password
            yield a, b


@pytest.mark.pg
@pytest.mark.redis
async def test_supervising_across_two_nodes_on_postgresql_and_redis(nodes: tuple[ServerProcess, ServerProcess]) -> None:
    """The rep and the visitor on node a, the supervisor on node b: who
    watches, whispers and the take-over cross nodes through the broker."""
    a, b = nodes
    admin = AdminAPI(a)
    try:
        rep, visitor, sid, queue = await _live(a, admin, "tn")
        sue = await RepClient.connect(b, *_supervisor(admin, queue, "tnsue"), online=False)
    finally:
        admin.close()
    try:
        await sue.send({"t": "watch", "session_id": sid})
        await sue.expect("watching")
        assert [w["name"] for w in (await visitor.expect("watchers"))["watchers"]] == ["Sue"]
        await visitor.send({"t": "chat.send", "cid": "v2", "text": "from node a"})
        await sue.expect("chat", cid="v2")
        await sue.send({"t": "whisper", "session_id": sid, "cid": "w1", "text": SECRET})
        assert (await rep.expect("whisper"))["text"] == SECRET
        await sue.send({"t": "take_over", "session_id": sid})
        await sue.expect("accepted")
        await rep.expect("taken_over", session_id=sid)
        await rep.send({"t": "chat.send", "session_id": sid, "cid": "r9", "text": "mine?"})
        assert (await rep.expect("error"))["code"] == "forbidden"
        await sue.send({"t": "chat.send", "session_id": sid, "cid": "s1", "text": "Sue from node b"})
        assert (await visitor.expect("chat", cid="s1"))["name"] == "Sue"
        assert not _mentions(visitor.received, SECRET)
    finally:
        for c in (sue, rep, visitor):
            await c.close()
