"""The relay with a scripted agent: consent gate, flow control per viewer,
a slow watcher never slowing the rep, malformed frames, limits, access."""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets

from desklink.protocol import screen
from desklink.protocol.framing import Channel, encode_frame
from desklink.testing import AdminAPI, ServerProcess, ViewerClient

from ._agent import Chat


def fill_frame(seq: int, shade: int, *, key: bool = False) -> bytes:
    rect = screen.Rect.fill(0, 0, 64, 48, (shade, shade, shade))
    frame = screen.Frame(seq, seq * 1000, 64, 48, (rect,), screen.FLAG_KEY if key else 0)
    return encode_frame(Channel.SCREEN, frame.encode())


class ScriptedAgent:
    def __init__(self, ws: websockets.ClientConnection, welcome: dict[str, object]) -> None:
        self.ws = ws
        self.welcome = welcome
        self.control: list[dict[str, object]] = []

    @classmethod
    async def join(cls, server: ServerProcess, code: str) -> ScriptedAgent:
        ws = await websockets.connect(server.ws_url + "/ws/agent")
        await ws.send(json.dumps({"t": "hello", "code": code}))
        welcome = json.loads(await ws.recv())
        assert welcome["t"] == "welcome", welcome
        return cls(ws, welcome)

    async def next_control(self, t: str, timeout: float = 5.0) -> dict[str, object]:
        while True:
            msg = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
            self.control.append(msg)
            if msg["t"] == t:
                return msg


async def test_frames_before_consent_never_reach_the_viewer(server: ServerProcess, chat: Chat) -> None:
    viewer = await ViewerClient.connect(server, chat.username, chat.password, chat.session_id)
    agent = await ScriptedAgent.join(server, (await chat.offer())["code"])
    await viewer.wait_status("asking")
    for seq in range(1, 4):
        await agent.ws.send(fill_frame(seq, 10, key=True))
    await asyncio.sleep(0.3)
    assert viewer.frames == 0
    await agent.ws.send(json.dumps({"t": "consent", "view": True}))
    await viewer.wait_status("sharing")
    await agent.ws.send(fill_frame(4, 200, key=True))  # an agent starts sharing with a key frame...
    ack = await agent.next_control("screen.ack")
    assert ack["seq"] == 4 and viewer.frames == 1
    assert "screen.refresh" not in [m["t"] for m in agent.control]  # ...so nobody asks for a second one
    assert viewer.canvas.rgb[0, 0].tolist() == [200, 200, 200]
    await agent.ws.close()
    await viewer.close()


async def test_a_slow_watcher_never_slows_the_rep(server: ServerProcess, admin: AdminAPI, chat: Chat) -> None:
    admin.join_session_queue(chat.session_id, admin.user(chat.username + "sup", "supervisor password", role="supervisor")["id"])
    rep_view = await ViewerClient.connect(server, chat.username, chat.password, chat.session_id)
    watcher = await ViewerClient.connect(server, chat.username + "sup", "supervisor password", chat.session_id)
    watcher.ack = False  # a stuck link: it never acknowledges
    agent = await ScriptedAgent.join(server, (await chat.offer())["code"])
    await agent.ws.send(json.dumps({"t": "consent", "view": True}))
    await rep_view.wait_status("sharing")
    state = await rep_view.wait_status("sharing")
    seq = 0
    for i in range(30):
        seq += 1
        await agent.ws.send(fill_frame(seq, i, key=(i == 0)))
        ack = await agent.next_control("screen.ack")  # paced by the rep's acks alone
        assert ack["seq"] == seq
    assert rep_view.frames == 30
    assert watcher.frames <= 2  # its window filled; frames were skipped for it
    assert "watchers" in state
    await agent.ws.close()
    await rep_view.close()
    await watcher.close()


async def test_malformed_frame_closes_only_that_agent(server: ServerProcess, chat: Chat) -> None:
    viewer = await ViewerClient.connect(server, chat.username, chat.password, chat.session_id)
    agent = await ScriptedAgent.join(server, (await chat.offer())["code"])
    await agent.ws.send(json.dumps({"t": "consent", "view": True}))
    await viewer.wait_status("sharing")
    bad = screen.Frame(1, 0, 64, 48, (screen.Rect(60, 40, 10, 10, screen.Enc.FILL, b"\x00\x00\x00"),)).encode()
    await agent.ws.send(encode_frame(Channel.SCREEN, bad))  # rectangle outside the screen
    with pytest.raises(websockets.ConnectionClosed) as closed:
        while True:
            await asyncio.wait_for(agent.ws.recv(), 5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1007
    # The chat goes on.
    await chat.visitor.send({"t": "chat.send", "cid": "after-bad-frame", "text": "still here"})
    assert (await chat.rep.expect("chat", cid="after-bad-frame"))["text"] == "still here"
    await viewer.wait_status("sharing")
    assert viewer.states[-1]["agent"] is False
    await viewer.close()


async def test_ending_the_session_stops_agent_and_viewer(server: ServerProcess, chat: Chat) -> None:
    viewer = await ViewerClient.connect(server, chat.username, chat.password, chat.session_id)
    agent = await ScriptedAgent.join(server, (await chat.offer())["code"])
    await agent.ws.send(json.dumps({"t": "consent", "view": True}))
    await viewer.wait_status("sharing")
    await chat.rep.send({"t": "end", "session_id": chat.session_id, "disposition": "resolved"})
    ended = await agent.next_control("ended")
    assert ended["by"] == "session_ended"
    stopped = await viewer.wait_status("stopped")
    assert stopped["by"] == "session_ended"
    await agent.ws.close()
    await viewer.close()


async def test_join_attempts_are_limited_per_address() -> None:
    codes_seen = []
    with ServerProcess(env={"DESKLINK_JOIN_ATTEMPTS_PER_MINUTE": "10"}) as fresh:
        for _ in range(12):
            codes_seen.append(await _try_join(fresh))
    assert codes_seen[:10] == [4001] * 10
    assert codes_seen[10:] == [4029, 4029]


async def _try_join(server: ServerProcess) -> int:
    ws = await websockets.connect(server.ws_url + "/ws/agent")
    await ws.send(json.dumps({"t": "hello", "code": "999 999 999"}))
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await asyncio.wait_for(ws.recv(), 5)
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code


async def test_only_the_holder_or_a_supervisor_may_view(server: ServerProcess, admin: AdminAPI, chat: Chat) -> None:
    admin.user(chat.username + "x", "another rep password")
    with pytest.raises(websockets.InvalidStatus):
        await ViewerClient.connect(server, chat.username + "x", "another rep password", chat.session_id)
    # A supervisor watches only sessions of their queues.
    admin.user(chat.username + "far", "supervisor password", role="supervisor")
    with pytest.raises(websockets.InvalidStatus):
        await ViewerClient.connect(server, chat.username + "far", "supervisor password", chat.session_id)
    with pytest.raises(websockets.InvalidStatus):
        await websockets.connect(f"{server.ws_url}/ws/viewer?session={chat.session_id}", origin=server.url)


async def test_a_watching_supervisor_cannot_switch_the_monitor(server: ServerProcess, admin: AdminAPI, chat: Chat) -> None:
    """Watchers look; only the rep holding the session acts, choosing the
    monitor included (before, a watcher's screen.select reached the agent)."""
    admin.join_session_queue(chat.session_id, admin.user(chat.username + "sel", "supervisor password", role="supervisor")["id"])
    rep_view = await ViewerClient.connect(server, chat.username, chat.password, chat.session_id)
    watcher = await ViewerClient.connect(server, chat.username + "sel", "supervisor password", chat.session_id)
    agent = await ScriptedAgent.join(server, (await chat.offer())["code"])
    await agent.ws.send(json.dumps({"t": "consent", "view": True}))
    monitors = [{"index": 1, "width": 64, "height": 48, "primary": True}, {"index": 2, "width": 64, "height": 48}]
    await agent.ws.send(json.dumps({"t": "screen.info", "monitors": monitors, "selected": 1}))
    await rep_view.wait_status("sharing")
    await watcher.send({"t": "screen.select", "monitor": 2})
    assert (await watcher.expect_error())["code"] == "forbidden"
    await rep_view.send({"t": "screen.select", "monitor": 1})
    # On the agent's one socket, the rep's select arrives and the watcher's,
    # sent first, never did.
    got = await agent.next_control("screen.select")
    assert got["monitor"] == 1
    assert [m for m in agent.control if m["t"] == "screen.select"] == [got]
    await agent.ws.close()
    await rep_view.close()
    await watcher.close()
