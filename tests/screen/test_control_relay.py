"""Remote control through the relay, with a scripted agent: input is refused
outside a granted control window, kept in order inside it; annotation and
clipboard cross both ways within their limits."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
import websockets

from desklink.testing import AdminAPI, ServerProcess, ViewerClient

from ._agent import Chat
from .test_relay import ScriptedAgent

LIMITS = {"DESKLINK_MAX_INPUT_EVENTS_PER_S": "50", "DESKLINK_MAX_CLIPBOARD_CHARS": "100", "DESKLINK_MAX_OPEN_REQUESTS_PER_IP": "1000",
          "DESKLINK_ANNOTATIONS_PER_MINUTE": "5"}


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    with ServerProcess(env=LIMITS) as srv:
        yield srv


async def _sharing(server: ServerProcess, chat: Chat) -> tuple[ViewerClient, ScriptedAgent]:
    viewer = await ViewerClient.connect(server, chat.username, chat.password, chat.session_id)
    agent = await ScriptedAgent.join(server, (await chat.offer())["code"])
    await agent.ws.send(json.dumps({"t": "consent", "view": True}))
    await viewer.wait_status("sharing")
    return viewer, agent


async def _viewer_error(viewer: ViewerClient, timeout: float = 5.0) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        for m in viewer.errors:
            viewer.errors.remove(m)
            return m
        await asyncio.sleep(0.02)
    raise TimeoutError("no error reached the viewer")


def keys(*names: str) -> dict[str, Any]:
    events = []
    for n in names:
        events += [{"k": "key", "key": n, "down": True}, {"k": "key", "key": n, "down": False}]
    return {"t": "input", "events": events}


async def test_input_is_refused_until_the_visitor_allows_control(server: ServerProcess, chat: Chat) -> None:
    viewer, agent = await _sharing(server, chat)
    await viewer.send(keys("a"))
    assert (await _viewer_error(viewer))["code"] == "forbidden"

    await viewer.send({"t": "control.request"})
    ask = await agent.next_control("control.ask")
    assert ask["rep"] == chat.rep.welcome["user"]["display_name"]
    assert (await viewer.wait_control("asking"))["control"] == "asking"
    await viewer.send(keys("b"))  # still not granted
    assert (await _viewer_error(viewer))["code"] == "forbidden"

    await agent.ws.send(json.dumps({"t": "consent", "control": True}))
    await viewer.wait_control("granted")
    sent = [keys("h", "i"), {"t": "input", "events": [{"k": "move", "x": 10, "y": 20}, {"k": "text", "text": "héllo 日本"}]}]
    for m in sent:
        await viewer.send(m)
    got = [await agent.next_control("input"), await agent.next_control("input")]
    assert [g["events"] for g in got] == [m["events"] for m in sent]  # in order, verbatim
    assert all(c["t"] != "input" or c["events"][0].get("key") not in ("a", "b") for c in agent.control)

    # The visitor takes control back: input is refused again at once.
    await agent.ws.send(json.dumps({"t": "control.revoked"}))
    state = await viewer.wait_control("view")
    assert state["control_by"] == "visitor"
    await viewer.send(keys("c"))
    assert (await _viewer_error(viewer))["code"] == "forbidden"
    await agent.ws.close()
    await viewer.close()


async def test_rep_gives_back_control_and_agent_drop_ends_it(server: ServerProcess, chat: Chat) -> None:
    viewer, agent = await _sharing(server, chat)
    await viewer.send({"t": "control.request"})
    await agent.next_control("control.ask")
    await agent.ws.send(json.dumps({"t": "consent", "control": True}))
    await viewer.wait_control("granted")
    # The rep's link drops mid-control: the agent is told to release everything.
    await viewer.close()
    released = await agent.next_control("input")
    assert released["events"] == [{"k": "release"}]
    viewer = await ViewerClient.connect(server, chat.username, chat.password, chat.session_id)
    assert (await viewer.wait_control("granted"))["control"] == "granted"
    await viewer.send({"t": "control.release"})
    end = await agent.next_control("control.end")
    assert end["by"] == "rep"
    assert (await viewer.wait_control("view"))["control_by"] == "rep"

    await viewer.send({"t": "control.request"})
    await agent.next_control("control.ask")
    await agent.ws.send(json.dumps({"t": "consent", "control": True}))
    await viewer.wait_control("granted")
    await agent.ws.close()
    state = await viewer.wait_control("view")
    assert state["control_by"] == "system" and state["agent"] is False
    await viewer.close()


async def test_visitor_declines_control(server: ServerProcess, chat: Chat) -> None:
    viewer, agent = await _sharing(server, chat)
    await viewer.send({"t": "control.request"})
    await agent.next_control("control.ask")
    await viewer.wait_control("asking")
    await agent.ws.send(json.dumps({"t": "consent", "control": False}))
    state = await viewer.wait_control("view")
    assert state["control_by"] == "visitor"
    await agent.ws.close()
    await viewer.close()


async def test_watchers_cannot_act_and_input_rate_is_limited(server: ServerProcess, admin: AdminAPI, chat: Chat) -> None:
    admin.join_session_queue(chat.session_id, admin.user(chat.username + "sup", "supervisor password", role="supervisor")["id"])
    viewer, agent = await _sharing(server, chat)
    watcher = await ViewerClient.connect(server, chat.username + "sup", "supervisor password", chat.session_id)
    await watcher.send({"t": "control.request"})
    assert (await _viewer_error(watcher))["code"] == "forbidden"
    await viewer.send({"t": "control.request"})
    await agent.next_control("control.ask")
    await agent.ws.send(json.dumps({"t": "consent", "control": True}))
    await viewer.wait_control("granted")
    await watcher.send(keys("x"))
    assert (await _viewer_error(watcher))["code"] == "forbidden"

    # Past the per-message bound: refused whole, with a clear error.
    too_many = {"t": "input", "events": [{"k": "move", "x": i, "y": i} for i in range(65)]}
    await viewer.send(too_many)
    assert (await _viewer_error(viewer))["code"] == "bad_message"

    # 50 events a second: 30 messages of 2 events in a burst pass 25 and refuse the rest.
    for _ in range(30):
        await viewer.send(keys("z"))
    err = await _viewer_error(viewer)
    assert err["code"] == "rate_limited"
    forwarded = 0
    try:
        while True:
            await agent.next_control("input", timeout=0.5)
            forwarded += 1
    except TimeoutError:
        pass
    assert 20 <= forwarded <= 26
    await agent.ws.close()
    await viewer.close()
    await watcher.close()


async def test_the_visitor_clears_and_a_returning_agent_gets_the_board_back(server: ServerProcess, chat: Chat) -> None:
    viewer, agent = await _sharing(server, chat)
    await viewer.send({"t": "annotate", "op": "stroke", "id": "s1", "color": "#ff0000", "points": [[10, 10], [20, 20]]})
    await agent.next_control("annotate")
    await agent.ws.send(json.dumps({"t": "annotate", "op": "stroke", "id": "v1", "color": "#9333ea", "points": [[5, 5], [6, 6]]}))
    for _ in range(50):
        if any(a.get("id") == "v1" for a in viewer.annotations):
            break
        await asyncio.sleep(0.05)

    # The agent's link drops; it comes back with its resume token and gets both strokes again, in order.
    await agent.ws.close()
    await viewer.wait_status("sharing")
    ws = await websockets.connect(server.ws_url + "/ws/agent")
    await ws.send(json.dumps({"t": "hello", "resume": agent.welcome["resume"]}))
    back = ScriptedAgent(ws, json.loads(await ws.recv()))
    assert back.welcome["t"] == "welcome" and back.welcome["resumed"] is True
    first = await back.next_control("annotate")
    second = await back.next_control("annotate")
    assert (first["id"], second["id"]) == ("s1", "v1")

    # The visitor clears: every viewer's board empties, and so does the relay's (a later viewer gets nothing).
    await back.ws.send(json.dumps({"t": "annotate", "op": "clear"}))
    for _ in range(50):
        if viewer.annotations[-1].get("op") == "clear":
            break
        await asyncio.sleep(0.05)
    assert viewer.annotations[-1] == {"t": "annotate", "op": "clear"}
    late = await ViewerClient.connect(server, chat.username, chat.password, chat.session_id)
    await late.wait_status("sharing")
    await asyncio.sleep(0.3)
    assert late.annotations == []
    await back.ws.close()
    await viewer.close()
    await late.close()


async def test_annotation_rate_is_limited_per_side(server: ServerProcess, chat: Chat) -> None:
    """Past ``annotations_per_minute`` (5 here) a side's strokes are refused
    with ``rate_limited`` and go nowhere; the other side's budget is its own."""
    viewer, agent = await _sharing(server, chat)
    for i in range(7):
        await viewer.send({"t": "annotate", "op": "stroke", "id": f"r{i}", "points": [[i, i]]})
    got = [(await agent.next_control("annotate"))["id"] for _ in range(5)]
    assert got == [f"r{i}" for i in range(5)]
    err = await _viewer_error(viewer)
    assert err["code"] == "rate_limited"
    for i in range(7):
        await agent.ws.send(json.dumps({"t": "annotate", "op": "stroke", "id": f"v{i}", "points": [[i, i]]}))
    refused = await agent.next_control("error")
    assert refused["code"] == "rate_limited"
    await asyncio.sleep(0.3)
    assert [a["id"] for a in viewer.annotations] == [f"v{i}" for i in range(5)]
    assert not any(m.get("t") == "annotate" and m.get("id") in ("r5", "r6") for m in agent.control)
    await agent.ws.close()
    await viewer.close()


async def test_annotation_and_clipboard_both_ways(server: ServerProcess, chat: Chat) -> None:
    viewer, agent = await _sharing(server, chat)
    stroke = {"t": "annotate", "op": "stroke", "id": "s1", "tool": "arrow", "color": "#ff0000", "width": 6, "points": [[10, 10], [200, 120]]}
    await viewer.send(stroke)
    got = await agent.next_control("annotate")
    assert got["points"] == [[10, 10], [200, 120]] and got["tool"] == "arrow"
    await agent.ws.send(json.dumps({"t": "annotate", "op": "stroke", "id": "v1", "points": [[5, 5], [6, 6]]}))
    for _ in range(50):
        if any(a.get("id") == "v1" for a in viewer.annotations):
            break
        await asyncio.sleep(0.05)
    assert any(a.get("id") == "v1" for a in viewer.annotations)
    # A viewer who joins later sees what is on the board.
    late = await ViewerClient.connect(server, chat.username, chat.password, chat.session_id)
    for _ in range(50):
        if {a.get("id") for a in late.annotations} >= {"s1", "v1"}:
            break
        await asyncio.sleep(0.05)
    assert {a.get("id") for a in late.annotations} >= {"s1", "v1"}

    # Off until the visitor turns it on, in both directions.
    assert viewer.states[-1]["clipboard"] == {"from_visitor": False, "to_visitor": False}
    await viewer.send({"t": "clipboard", "text": "too early"})
    assert (await _viewer_error(viewer))["code"] == "forbidden"
    await agent.ws.send(json.dumps({"t": "clipboard", "text": "not yet"}))
    assert (await agent.next_control("error"))["code"] == "forbidden"
    await agent.ws.send(json.dumps({"t": "clipboard.allow", "to_visitor": True, "from_visitor": True}))
    for _ in range(50):
        if viewer.states[-1]["clipboard"] == {"from_visitor": True, "to_visitor": True}:
            break
        await asyncio.sleep(0.05)
    assert viewer.states[-1]["clipboard"] == {"from_visitor": True, "to_visitor": True}
    assert viewer.clipboard is None  # nothing crossed before the switch
    await viewer.send({"t": "clipboard", "text": "copied by the rep"})
    assert (await agent.next_control("clipboard"))["text"] == "copied by the rep"
    await agent.ws.send(json.dumps({"t": "clipboard", "text": "copied by the visitor"}))
    for _ in range(50):
        if viewer.clipboard == "copied by the visitor":
            break
        await asyncio.sleep(0.05)
    assert viewer.clipboard == "copied by the visitor"
    await viewer.send({"t": "clipboard", "text": "x" * 101})
    assert (await _viewer_error(viewer))["code"] == "too_large"
    bad = {"t": "annotate", "op": "stroke", "id": "s2", "color": "red", "points": []}
    await viewer.send(bad)
    assert (await _viewer_error(viewer))["code"] == "bad_message"
    await agent.ws.close()
    await viewer.close()
    await late.close()
