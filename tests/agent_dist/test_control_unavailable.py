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


@pytest.mark.slow
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


VIEWER_SAYS = """async () => {
  const { RemoteControl } = await import('/static/viewer/input.js');
  const surface = document.createElement('div');
  document.body.append(surface);
  const toasts = [];
  const button = (testid, text) => { const b = document.createElement('button'); b.textContent = text; return b; };
  const rc = new RemoteControl({ surface, visitor: 'Vic', send: () => true, toast: (t) => toasts.push(t), root: () => surface,
    button, canvas: () => null, size: () => null });
  document.body.append(rc.element);
  const base = { t: 'screen.state', status: 'sharing', agent: true };
  const said = [];
  for (const by of ['unavailable', 'visitor']) {
    rc.onState({ ...base, control: 'asking', control_by: null });
    rc.render(true, true);
    rc.onState({ ...base, control: 'view', control_by: by });
    rc.render(true, true);
    said.push([rc.statusEl.dataset.by, rc.statusEl.textContent]);
  }
  return { said, toasts };
}"""


@pytest.mark.browser
def test_the_viewer_says_not_available_rather_than_declined(server: ServerProcess) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        try:
            page = browser.new_page()
            page.goto(server.url + "/download")
            result = page.evaluate(VIEWER_SAYS)
        finally:
            browser.close()
    assert result["said"] == [
        ["unavailable", "Remote control is not available on this computer"],
        ["visitor", "The visitor declined control"],
    ]
    assert result["toasts"] == ["The visitor declined control"]
