"""Every WebSocket message is bounded by ``max_message_bytes`` at the
transport, before it is buffered and before anyone has authenticated; only a
joined agent's screen frames may be larger, and they come in parts that the
server joins up to ``max_screen_frame_bytes``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest
import websockets

from desklink.protocol import screen
from desklink.protocol.framing import Channel, split_frame
from desklink.testing import ONE_ADDRESS_ENV, AdminAPI, RepClient, ServerProcess, ViewerClient, VisitorClient, wait_until

LIMITS = {"DESKLINK_MAX_MESSAGE_BYTES": "8192", "DESKLINK_MAX_SCREEN_FRAME_BYTES": "40000"}


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    with ServerProcess(env={**ONE_ADDRESS_ENV, **LIMITS}) as srv:
        yield srv


async def _closed_code(ws: websockets.ClientConnection) -> int:
    with pytest.raises(websockets.ConnectionClosed) as closed:
        while True:
            await asyncio.wait_for(ws.recv(), 10)
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code


@pytest.mark.parametrize("path", ["/ws/agent", "/ws/visitor"])
async def test_a_large_message_before_authentication_is_refused_by_the_transport(server: ServerProcess, path: str) -> None:
    """The sockets accepted before their first message (the console's are
    refused at the handshake without a login)."""
    ws = await websockets.connect(server.ws_url + path, origin=server.url, max_size=None)  # type: ignore[arg-type]
    try:
        await ws.send(b"\x02" + bytes(20_000))  # over max_message_bytes, under max_screen_frame_bytes
    except websockets.ConnectionClosed:
        pass
    assert await _closed_code(ws) == 1009


def _frame(seq: int, width: int, height: int, payload: bytes) -> bytes:
    rect = screen.Rect(0, 0, width, height, screen.Enc.JPEG, payload)
    return screen.Frame(seq, seq, width, height, (rect,), screen.FLAG_KEY).encode()


async def test_a_joined_agent_sends_large_frames_in_parts(server: ServerProcess, admin: AdminAPI) -> None:
    admin.queue("parts")
    ((user, pw),) = admin.reps(1, queue_slug="parts", prefix="parts")
    rep = await RepClient.connect(server, user, pw)
    visitor = await VisitorClient.submit(server, queue="parts", name="Vic")
    await rep.expect("alert")
    await rep.send({"t": "accept", "request_id": visitor.request_id})
    sid = (await rep.expect("accepted"))["session"]["id"]
    viewer = await ViewerClient.connect(server, user, pw, sid)
    await rep.send({"t": "screen.request", "session_id": sid})
    code = (await visitor.expect("screen.offer"))["code"].replace(" ", "")
    agent = await websockets.connect(server.ws_url + "/ws/agent")
    await agent.send(json.dumps({"t": "hello", "code": code}))
    welcome = json.loads(await agent.recv())
    assert welcome["limits"]["max_message_bytes"] == 8192
    await agent.send(json.dumps({"t": "consent", "view": True}))
    await viewer.wait_status("sharing")

    # A 30 KB frame (a JPEG payload the test viewer does not decode: a FILL
    # keeps its canvas happy) in parts of at most 8192 bytes.
    big = screen.Frame(1, 1, 64, 48, (screen.Rect.fill(0, 0, 64, 48, (9, 9, 9)),) * 1500, screen.FLAG_KEY).encode()
    assert 8192 < len(big) < 40_000
    parts = list(split_frame(Channel.SCREEN, big, 8192))
    assert len(parts) > 1 and all(len(p) <= 8192 for p in parts)
    for i, part in enumerate(parts):
        await agent.send(part)
        if i == 0:  # a control message may come between parts
            await agent.send(json.dumps({"t": "ping"}))
    await wait_until(lambda: viewer.frames == 1, what="the joined frame at the viewer")
    assert viewer.canvas.rgb[0, 0].tolist() == [9, 9, 9]

    # Past max_screen_frame_bytes, however it is cut, the agent is closed (1009).
    too_big = screen.Frame(2, 2, 64, 48, (screen.Rect.fill(0, 0, 64, 48, (1, 1, 1)),) * 2600, 0).encode()
    assert len(too_big) > 40_000
    for part in split_frame(Channel.SCREEN, too_big, 8192):
        try:
            await agent.send(part)
        except websockets.ConnectionClosed:
            break
    assert await _closed_code(agent) == 1009
    await viewer.close()
    await rep.close()
    await visitor.close()
