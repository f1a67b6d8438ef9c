"""A lost agent link is noticed within seconds, even when the network never
says so; the rep sees how long the relay still waits and can stop waiting;
the wait ends in "stopped by agent_lost"; a real agent on a silent link
reconnects by itself without asking the visitor again."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest
import websockets

from desklink.testing import ONE_ADDRESS_ENV, ServerProcess, ViewerClient, wait_until
from desklink.testing_x import XDisplay

from ._agent import Chat, finish, start_agent
from .test_agent_lifecycle import CuttableProxy
from .test_relay import ScriptedAgent, fill_frame

LINK = {"DESKLINK_AGENT_PING_INTERVAL_S": "0.5", "DESKLINK_AGENT_LINK_TIMEOUT_S": "1.5", "DESKLINK_AGENT_GRACE_S": "40"}


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    with ServerProcess(env={**ONE_ADDRESS_ENV, **LINK}) as srv:
        yield srv


async def _silent_agent(server: ServerProcess, chat: Chat, viewer: ViewerClient) -> ScriptedAgent:
    agent = await ScriptedAgent.join(server, (await chat.offer())["code"])
    assert agent.welcome["limits"]["ping_interval_s"] == 0.5
    await agent.ws.send(json.dumps({"t": "consent", "view": True}))
    await viewer.wait_status("sharing")
    await agent.ws.send(fill_frame(1, 80, key=True))
    await wait_until(lambda: viewer.frames == 1, what="the first frame")
    return agent  # and now it says nothing more, without closing


async def test_a_silent_agent_is_dropped_and_the_rep_may_stop_waiting(server: ServerProcess, chat: Chat) -> None:
    viewer = await ViewerClient.connect(server, chat.username, chat.password, chat.session_id)
    agent = await _silent_agent(server, chat, viewer)
    await wait_until(lambda: viewer.states[-1]["agent"] is False, 20, "the relay to notice the silent agent")
    state = viewer.states[-1]
    assert state["status"] == "sharing"  # the picture stays, dimmed by the console
    assert 0 < state["grace_left_s"] <= 40
    with pytest.raises(websockets.ConnectionClosed) as closed:  # the server closed the silent socket
        while True:
            await asyncio.wait_for(agent.ws.recv(), 10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
    # "Stop waiting": the rep stops; it is over at once.
    await viewer.send({"t": "screen.stop"})
    stopped = await viewer.wait_status("stopped")
    assert stopped["by"] == "rep" and stopped["grace_left_s"] is None
    await viewer.close()


async def test_an_agent_that_never_comes_back_ends_sharing() -> None:
    env = {**ONE_ADDRESS_ENV, **LINK, "DESKLINK_AGENT_GRACE_S": "2"}
    from desklink.testing import AdminAPI, RepClient, VisitorClient

    with ServerProcess(env=env) as short:
        admin = AdminAPI(short)
        ((user, pw),) = admin.reps(1, prefix="grace")
        rep = await RepClient.connect(short, user, pw)
        visitor = await VisitorClient.submit(short, queue="support", name="Vic")
        await rep.expect("alert")
        await rep.send({"t": "accept", "request_id": visitor.request_id})
        sid = (await rep.expect("accepted"))["session"]["id"]
        chat = Chat(rep, visitor, sid, user, pw)
        viewer = await ViewerClient.connect(short, user, pw, sid)
        agent = await _silent_agent(short, chat, viewer)
        await agent.ws.close()  # gone, and it never comes back
        stopped = await viewer.wait_status("stopped", timeout=30)
        assert stopped["by"] == "agent_lost"
        await viewer.close()
        await chat.close()
        admin.close()


async def test_the_real_agent_on_a_silent_link_comes_back_by_itself(
    server: ServerProcess, display: XDisplay, chat: Chat
) -> None:
    proxy = CuttableProxy(server.port)
    await proxy.start()
    viewer = await ViewerClient.connect(server, chat.username, chat.password, chat.session_id)
    offer = await chat.offer()
    via_proxy = ServerProcess.__new__(ServerProcess)
    via_proxy.url = f"http://127.0.0.1:{proxy.port}"
    agent = start_agent(display, via_proxy, offer["code"], terminal=True, answer="y\n")
    try:
        await viewer.wait_status("sharing")
        await viewer.settle(quiet_s=0.5)
        proxy.freeze()  # no close, no reset: the link just goes quiet
        await wait_until(lambda: viewer.states[-1]["agent"] is False, 20, "the relay to notice")
        await wait_until(lambda: viewer.states[-1]["agent"] is True, 30, "the agent to come back")
        assert viewer.status == "sharing" and proxy.connections >= 2
        await viewer.send({"t": "screen.stop"})
        code, out = await finish(agent)
        assert code == 0, out
        assert out.count("Allow?") == 1  # never asked again
    finally:
        await viewer.close()
        await proxy.stop()
