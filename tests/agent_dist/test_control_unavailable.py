"""An agent on a computer without an input backend (here: an X server
without XTEST) never asks the visitor for control and never lets the rep
think the visitor declined: both sides are told that remote control is not
available on this computer, and sharing goes on."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from desklink.agent.client import CONTROL_UNAVAILABLE
from desklink.testing import ServerProcess, ViewerClient
from desklink.testing_x import XDisplay
from screen._agent import Chat, finish, start_agent


@pytest.fixture
def display() -> Iterator[XDisplay]:
    with XDisplay(1024, 600, extra=("-extension", "XTEST")) as d:
        yield d


async def test_no_xtest_means_control_is_not_available_not_declined(server: ServerProcess, display: XDisplay, chat: Chat) -> None:
    viewer = await ViewerClient.connect(server, chat.username, chat.password, chat.session_id)
    agent = start_agent(display, server, (await chat.offer())["code"], terminal=True, answer="y\n")
    await viewer.wait_status("sharing")
    await viewer.send({"t": "control.request"})
    await viewer.wait_control("asking")
    state = await viewer.wait_control("view")
    assert state["control_by"] == "unavailable"
    assert state["status"] == "sharing"  # sharing goes on
    await viewer.send({"t": "input", "events": [{"k": "move", "x": 5, "y": 5}]})
    await viewer.send({"t": "screen.stop"})
    await viewer.wait_status("stopped")
    code, out = await finish(agent)
    assert code == 0, out
    assert f"asked to control your computer: {CONTROL_UNAVAILABLE}." in out, out
    assert out.count("Allow? [y/N]") == 1, out  # only the screen was asked for
    assert "declined" not in out
    assert any(e.get("code") == "forbidden" for e in viewer.errors), viewer.errors  # no input without control
    await viewer.close()
