"""The real agent process: a dropped network resumes without asking again;
Ctrl+C stops at once on both sides and exits cleanly."""

from __future__ import annotations

import asyncio
import signal

from desklink.testing import CuttableProxy, ServerProcess, ViewerClient
from desklink.testing_x import XDisplay

from ._agent import Chat, finish, start_agent


async def test_network_drop_resumes_without_asking_again(server: ServerProcess, display: XDisplay, chat: Chat) -> None:
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
        frames_before = viewer.frames
        proxy.cut()
        await asyncio.sleep(0.2)
        assert viewer.states[-1]["agent"] is False
        # The agent comes back by itself (the terminal would need a second
        # "y" if it asked again: stdin has nothing more, which would deny).
        for _ in range(100):
            if viewer.states[-1]["agent"] and viewer.status == "sharing":
                break
            await asyncio.sleep(0.1)
        assert viewer.states[-1]["agent"] is True and viewer.status == "sharing"
        assert proxy.connections >= 2
        display.spawn("xterm", "-geometry", "60x10+100+100")
        await asyncio.sleep(1.0)
        await viewer.settle(quiet_s=0.5)
        assert viewer.frames > frames_before
        await viewer.send({"t": "screen.stop"})
        code, out = await finish(agent)
        assert code == 0, out
        assert out.count("Allow?") == 1
    finally:
        await viewer.close()
        await proxy.stop()


async def test_ctrl_c_stops_sharing_on_both_sides(server: ServerProcess, display: XDisplay, chat: Chat) -> None:
    viewer = await ViewerClient.connect(server, chat.username, chat.password, chat.session_id)
    offer = await chat.offer()
    agent = start_agent(display, server, offer["code"], terminal=True, answer="y\n")
    try:
        await viewer.wait_status("sharing")
        agent.send_signal(signal.SIGINT)
        stopped = await viewer.wait_status("stopped", timeout=15)
        assert stopped["by"] == "visitor"
        code, out = await finish(agent)
        assert code == 0 and "stopped by you" in out, out
    finally:
        await viewer.close()
