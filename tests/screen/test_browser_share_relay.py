"""``/ws/share`` (a visitor's browser sharing its screen) with real WebSocket
clients against a real server: view only, the consent gate, video chunks
through the same windows and acks as frames, the chunk size and rate
limits, a malformed chunk closing only that share, the page going away."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
import websockets

from desklink.protocol import codes, screen
from desklink.protocol.framing import MORE, Channel, encode_frame
from desklink.testing import ONE_ADDRESS_ENV, ServerProcess, ViewerClient

from ._agent import Chat

MAX_CHUNK = 20_000
PER_S = 8


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    env = {
        **ONE_ADDRESS_ENV,
        "DESKLINK_BROWSER_SHARE_MAX_CHUNK_BYTES": str(MAX_CHUNK),
        "DESKLINK_BROWSER_SHARE_CHUNKS_PER_S": str(PER_S),
        "DESKLINK_JOIN_ATTEMPTS_PER_MINUTE": "1000",  # every share here joins from 127.0.0.1
    }
    with ServerProcess(env=env) as srv:
        yield srv


def chunk(seq: int, *, key: bool = False, size: int = 100, codec: screen.Codec = screen.Codec.H264) -> bytes:
    data = bytes([0, 0, 0, 1, 0x65 if key else 0x41]) + bytes(size - 5)
    msg = screen.VideoChunk(seq, seq * 1000, 1280, 720, codec, data, screen.FLAG_KEY if key else 0)
    return encode_frame(Channel.SCREEN, msg.encode())


class BrowserSharer:
    """What the help box does on ``/ws/share``, scripted."""

    def __init__(self, ws: websockets.ClientConnection, welcome: dict[str, Any]) -> None:
        self.ws = ws
        self.welcome = welcome
        self.seen: list[str] = []  # the type of every text message read, in order

    @classmethod
    async def join(cls, server: ServerProcess, code: str, *, consent: bool = True, origin: str | None = None) -> BrowserSharer:
        ws = await websockets.connect(server.ws_url + "/ws/share", origin=origin or server.url)  # type: ignore[arg-type]
        await ws.send(json.dumps({"t": "hello", "code": code, "platform": "browser"}))
        welcome = json.loads(await ws.recv())
        assert welcome["t"] == "welcome", welcome
        if consent:
            await ws.send(json.dumps({"t": "consent", "view": True}))
        return cls(ws, welcome)

    async def next_control(self, t: str, timeout: float = 5.0) -> dict[str, Any]:
        while True:
            msg = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
            self.seen.append(msg["t"])
            if msg["t"] == t:
                return msg

    async def closed(self, timeout: float = 5.0) -> tuple[int, str, list[dict[str, Any]]]:
        """Read until the server closes; returns its code, reason and the text messages before."""
        texts: list[dict[str, Any]] = []
        with pytest.raises(websockets.ConnectionClosed) as info:
            while True:
                msg = await asyncio.wait_for(self.ws.recv(), timeout)
                if isinstance(msg, str):
                    texts.append(json.loads(msg))
        rcvd = info.value.rcvd
        assert rcvd is not None
        return rcvd.code, rcvd.reason, texts


async def chat_goes_on(chat: Chat, cid: str) -> None:
    await chat.visitor.send({"t": "chat.send", "cid": cid, "text": "still here"})
    assert (await chat.rep.expect("chat", cid=cid))["text"] == "still here"


async def test_video_chunks_flow_after_consent_view_only(server: ServerProcess, chat: Chat) -> None:
    viewer = await ViewerClient.connect(server, chat.username, chat.password, chat.session_id)
    sharer = await BrowserSharer.join(server, (await chat.offer())["code"], consent=False)
    # The welcome asks for view only and tells the browser its limits.
    assert sharer.welcome["asks"] == ["view"]
    assert sharer.welcome["limits"]["browser_max_chunk_bytes"] == MAX_CHUNK
    assert sharer.welcome["limits"]["browser_chunks_per_s"] == PER_S
    state = await viewer.wait_status("asking")
    assert state["source"] == "browser"
    # Nothing flows before the visitor picked a screen (the consent follows the pick).
    await sharer.ws.send(chunk(1, key=True))
    await asyncio.sleep(0.3)
    assert viewer.frames == 0
    await sharer.ws.send(json.dumps({"t": "consent", "view": True}))
    await viewer.wait_status("sharing")
    await sharer.ws.send(chunk(2, key=True))  # a share starts with a key chunk: no refresh is asked for it
    assert (await sharer.next_control("screen.ack"))["seq"] == 2
    assert "screen.refresh" not in sharer.seen
    await sharer.ws.send(chunk(3))
    assert (await sharer.next_control("screen.ack"))["seq"] == 3
    assert [(c.seq, c.key, c.codec) for c in viewer.video] == [(2, True, screen.Codec.H264), (3, False, screen.Codec.H264)]
    assert viewer.video[0].data == chunk(2, key=True)[1 + 23 :]
    # A chunk in parts (each WebSocket message within max_message_bytes) is joined.
    whole = chunk(4, size=15_000)
    await sharer.ws.send(bytes([Channel.SCREEN | MORE]) + whole[1:8000])
    await sharer.ws.send(bytes([Channel.SCREEN]) + whole[8000:])
    assert (await sharer.next_control("screen.ack"))["seq"] == 4
    assert len(viewer.video[-1].data) == 15_000
    # View only: control is refused with the reason, and nothing reaches the browser.
    await viewer.send({"t": "control.request"})
    err = await viewer.expect_error()
    assert err["code"] == "forbidden" and "browser" in err["message"] and "agent" in err["message"]
    assert viewer.states[-1]["control"] == "view"
    # The visitor's Stop: the rep sees why.
    await sharer.ws.send(json.dumps({"t": "screen.stop", "why": "stop_button"}))
    stopped = await viewer.wait_status("stopped")
    assert stopped["by"] == "visitor" and stopped["reason"] == "the visitor pressed Stop in the help box"
    await chat_goes_on(chat, "after-stop")
    await viewer.close()


async def test_a_chunk_over_the_size_limit_closes_only_the_share(server: ServerProcess, chat: Chat) -> None:
    viewer = await ViewerClient.connect(server, chat.username, chat.password, chat.session_id)
    sharer = await BrowserSharer.join(server, (await chat.offer())["code"])
    await viewer.wait_status("sharing")
    await sharer.ws.send(chunk(1, key=True, size=MAX_CHUNK - 23 - 1))  # just fits
    assert (await sharer.next_control("screen.ack"))["seq"] == 1
    big = chunk(2, size=MAX_CHUNK)  # header + data past the limit
    await sharer.ws.send(bytes([Channel.SCREEN | MORE]) + big[1:10_000])
    await sharer.ws.send(bytes([Channel.SCREEN]) + big[10_000:])
    code, reason, _ = await sharer.closed()
    assert code == codes.CLOSE_TOO_BIG and str(MAX_CHUNK) in reason
    stopped = await viewer.wait_status("stopped")
    assert stopped["by"] == "system" and "could not read" in stopped["reason"] and str(MAX_CHUNK) in stopped["reason"]
    await chat_goes_on(chat, "after-big")
    await viewer.close()


async def test_chunks_faster_than_the_rate_close_the_share(server: ServerProcess, chat: Chat) -> None:
    viewer = await ViewerClient.connect(server, chat.username, chat.password, chat.session_id)
    sharer = await BrowserSharer.join(server, (await chat.offer())["code"])
    await viewer.wait_status("sharing")
    for seq in range(1, PER_S + 3):  # a burst past the bucket, far faster than PER_S a second
        await sharer.ws.send(chunk(seq, key=True))
    code, reason, _ = await sharer.closed()
    assert code == codes.CLOSE_LIMITED and reason == f"more than {PER_S} screen chunks a second"
    stopped = await viewer.wait_status("stopped")
    assert stopped["reason"].startswith("the visitor's browser sent screen chunks faster than allowed")
    assert viewer.frames <= PER_S
    await chat_goes_on(chat, "after-fast")
    await viewer.close()


@pytest.mark.parametrize(
    ("name", "payload"),
    [
        ("unknown codec", screen.VideoChunk(1, 0, 64, 48, screen.Codec.VP8, b"x", 1).encode()[:18] + b"\x09" + (1).to_bytes(4, "big") + b"x"),
        ("length mismatch", screen.VideoChunk(1, 0, 64, 48, screen.Codec.VP8, b"abc", 1).encode() + b"stray"),
        ("zero size", screen.VideoChunk(1, 0, 0, 48, screen.Codec.VP8, b"abc", 1).encode()),
        ("cursor", screen.Cursor(0, 0, 0, 0, 0, 0, b"").encode()),
        ("truncated", screen.VideoChunk(1, 0, 64, 48, screen.Codec.VP8, b"abc", 1).encode()[:10]),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
async def test_a_malformed_chunk_closes_only_that_share(server: ServerProcess, chat: Chat, name: str, payload: bytes) -> None:
    viewer = await ViewerClient.connect(server, chat.username, chat.password, chat.session_id)
    sharer = await BrowserSharer.join(server, (await chat.offer())["code"])
    await viewer.wait_status("sharing")
    await sharer.ws.send(encode_frame(Channel.SCREEN, payload))
    code, reason, _ = await sharer.closed()
    assert code == codes.CLOSE_BAD_DATA and reason, name
    stopped = await viewer.wait_status("stopped")
    assert stopped["by"] == "system" and stopped["reason"].startswith("the visitor's browser sent a screen chunk DeskLink could not read")
    await chat_goes_on(chat, f"after-{name.replace(' ', '-')}")
    # The rep may ask again, and a new share works.
    sharer2 = await BrowserSharer.join(server, (await chat.offer())["code"])
    await viewer.wait_status("sharing")
    await sharer2.ws.send(chunk(1, key=True))
    assert (await sharer2.next_control("screen.ack"))["seq"] == 1
    await sharer2.ws.close()
    await viewer.close()


async def test_the_page_going_away_stops_the_share_at_once(server: ServerProcess, chat: Chat) -> None:
    viewer = await ViewerClient.connect(server, chat.username, chat.password, chat.session_id)
    sharer = await BrowserSharer.join(server, (await chat.offer())["code"])
    await viewer.wait_status("sharing")
    await sharer.ws.close()
    stopped = await viewer.wait_status("stopped", timeout=5)  # no grace period: a page cannot come back
    assert stopped["reason"] == "the visitor's page closed or lost its connection"
    await viewer.close()


async def test_a_site_the_queue_does_not_allow_cannot_share(server: ServerProcess, chat: Chat) -> None:
    with pytest.raises(websockets.InvalidStatus):
        await websockets.connect(server.ws_url + "/ws/share", origin="http://elsewhere.example")  # type: ignore[arg-type]


async def test_the_chat_ending_stops_the_share(server: ServerProcess, chat: Chat) -> None:
    viewer = await ViewerClient.connect(server, chat.username, chat.password, chat.session_id)
    sharer = await BrowserSharer.join(server, (await chat.offer())["code"])
    await viewer.wait_status("sharing")
    await chat.visitor.send({"t": "leave"})
    code, _, texts = await sharer.closed()
    assert code == codes.CLOSE_ENDED and {"t": "ended", "by": "session_ended"} in texts
    assert (await viewer.wait_status("stopped"))["by"] == "session_ended"
    await viewer.close()


async def test_a_view_only_share_cannot_send_clipboard_annotations_or_control_answers(server: ServerProcess, chat: Chat) -> None:
    viewer = await ViewerClient.connect(server, chat.username, chat.password, chat.session_id)
    sharer = await BrowserSharer.join(server, (await chat.offer())["code"])
    await viewer.wait_status("sharing")
    refused = [
        {"t": "clipboard.allow", "to_visitor": True, "from_visitor": True},
        {"t": "clipboard", "text": "from a page script"},
        {"t": "control.revoked"},
        {"t": "annotate", "op": "clear"},
    ]
    for msg in refused:
        await sharer.ws.send(json.dumps(msg))
        err = await sharer.next_control("error")
        assert (err["code"], err["ref"]) == ("bad_state", msg["t"]), err
    assert viewer.clipboard is None and viewer.annotations == []
    await sharer.ws.send(chunk(1, key=True))  # the share itself goes on
    assert (await sharer.next_control("screen.ack"))["seq"] == 1
    await sharer.ws.close()
    await viewer.close()


async def test_text_messages_spend_the_per_minute_budget(server: ServerProcess, chat: Chat) -> None:
    sharer = await BrowserSharer.join(server, (await chat.offer())["code"])
    for _ in range(130):  # messages_per_minute is 120, with a burst of the same
        await sharer.ws.send(json.dumps({"t": "ping"}))
    err = await sharer.next_control("error")
    assert err["code"] == "rate_limited"
    await sharer.ws.close()


async def test_a_browser_share_cannot_resume(server: ServerProcess, chat: Chat) -> None:
    sharer = await BrowserSharer.join(server, (await chat.offer())["code"])
    token = sharer.welcome["resume"]
    ws = await websockets.connect(server.ws_url + "/ws/share", origin=server.url)  # type: ignore[arg-type]
    await ws.send(json.dumps({"t": "hello", "resume": token}))
    with pytest.raises(websockets.ConnectionClosed) as info:
        await asyncio.wait_for(ws.recv(), 5)
    assert info.value.rcvd is not None and info.value.rcvd.code == codes.CLOSE_AUTH
    assert "cannot resume" in info.value.rcvd.reason
    await sharer.ws.close()
