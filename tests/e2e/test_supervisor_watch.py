"""A supervisor watches a live session in Chromium (issue 13, "Live board"):
Rita's console holds a chat with Vic's help box and Vic shares the screen
with the real agent on Xvfb (terminal mode). Sue opens the console as the
live board links it, /console/?watch=<session_id>: the help box names her
as watching the chat and the agent as watching the screen; her whisper shows
in Rita's console, marked, and never in the help box; she joins the chat,
then takes the session over and the conversation goes on with her.
"""

from __future__ import annotations

import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from desklink.testing import AdminAPI, ServerProcess, poll_until
from desklink.testing_x import XDisplay

from test_help_flow import Watched
from test_screen_viewer import Scene

HostSite = Any  # tests/e2e/conftest.py:HostSite

pytestmark = pytest.mark.browser

WHISPER = "Ask Vic for the exact error code first"


@pytest.fixture
def display() -> Iterator[XDisplay]:
    with XDisplay(1024, 768) as d:
        yield d


def test_a_supervisor_watches_whispers_joins_and_takes_over(
    browser: Browser, server: ServerProcess, admin: AdminAPI, host_site: HostSite, unique: str,
    display: XDisplay, tmp_path: Path,
) -> None:
    scene = Scene(browser, server, admin, host_site, unique)
    sid = str(scene.session_id)
    password = "pw-" + secrets.token_hex(8)
    sue_user = admin.user(f"{unique}sue", password, role="supervisor", display_name="Sue")
    admin.join_session_queue(sid, sue_user["id"])
    sue_w = Watched(browser)
    agent: subprocess.Popen[str] | None = None
    out = tmp_path / "agent.out"
    try:
        # Vic shares the screen with the real agent.
        code = scene.request_screen().replace(" ", "")
        with out.open("w") as sink:
            agent = subprocess.Popen(
                [sys.executable, "-m", "desklink", "agent", "--server", server.url, "--code", code, "--terminal"],
                env={**display.env, "PYTHONUNBUFFERED": "1"}, stdin=subprocess.PIPE, stdout=sink, stderr=subprocess.STDOUT,
                text=True,
            )
        display.children.append(agent)
        assert agent.stdin is not None
        agent.stdin.write("y\n")
        agent.stdin.flush()
        expect(scene.status()).to_have_text("Sharing")

        # Sue opens the session from the live board's link.
        sue = sue_w.page
        sue.goto(f"{server.url}/console/?watch={sid}")
        sue.get_by_test_id("username").fill(f"{unique}sue")
        sue.get_by_test_id("password").fill(password)
        sue.get_by_test_id("login").click()
        watched = sue.locator(f'[data-testid=chat][data-session-id="{sid}"]')
        expect(watched).to_have_attribute("data-watching", "true")
        expect(watched.get_by_test_id("watch-banner")).to_contain_text("Watching Vic's session with Rita")
        expect(watched.get_by_test_id("composer")).to_be_hidden()
        expect(watched.get_by_test_id("message-text").filter(has_text="Rita joined the conversation.")).to_have_count(1)
        # The visitor and the rep are told who watches the chat.
        expect(scene.box.get_by_test_id("chat-watchers")).to_have_text("Sue (supervisor) is watching this chat")
        expect(scene.chat.get_by_test_id("chat-watchers")).to_have_text("Sue (supervisor) is watching")

        # View screen: Sue's viewer draws frames and the agent names her.
        watched.get_by_test_id("view-screen").click()
        sue_screen = watched.get_by_test_id("screen")
        expect(sue_screen).to_have_attribute("data-frames", _some_frames(), timeout=30_000)
        poll_until(lambda: "Sue (supervisor) is watching your screen." in out.read_text(), timeout=30,
                   what="the agent naming Sue")

        # Whisper: in Rita's console, marked; never in the help box.
        watched.get_by_test_id("whisper-input").fill(WHISPER)
        watched.get_by_test_id("whisper-send").click()
        whisper = scene.chat.get_by_test_id("whisper")
        expect(whisper.get_by_test_id("whisper-text")).to_have_text(WHISPER)
        expect(whisper.get_by_test_id("whisper-from")).to_have_text("Whisper from Sue")
        expect(watched.get_by_test_id("whisper-text")).to_have_text(WHISPER)
        scene.chat.get_by_test_id("chat-input").fill("Could you read me the error code?")
        scene.chat.get_by_test_id("send").click()
        expect(scene.box.get_by_test_id("message-text").filter(has_text="Could you read me the error code?")).to_have_count(1)
        expect(scene.box.get_by_text(WHISPER)).to_have_count(0)
        expect(scene.box.get_by_test_id("whisper")).to_have_count(0)
        scene.rep.screenshot(path="/tmp/supervisor-rep-console.png")
        sue.screenshot(path="/tmp/supervisor-watching-console.png")
        scene.visitor_w.page.screenshot(path="/tmp/supervisor-help-box.png")

        # Join the chat: Vic reads Sue's line under her name.
        watched.get_by_test_id("join-chat").click()
        expect(scene.box.get_by_test_id("message-text").filter(has_text="Sue (supervisor) joined the chat.")).to_have_count(1)
        expect(watched.get_by_test_id("composer")).to_be_visible()
        watched.get_by_test_id("chat-input").fill("Hi Vic, Sue here from the support team.")
        watched.get_by_test_id("send").click()
        line = scene.box.get_by_test_id("message").filter(has_text="Sue here from the support team")
        expect(line.get_by_test_id("message-name")).to_have_text("Sue")

        # Take over: Sue holds it, Rita's console lets it go, Vic is told.
        watched.get_by_test_id("take-over").click()
        expect(watched).not_to_have_attribute("data-watching", "true")
        expect(watched.get_by_test_id("watch-bar")).to_have_count(0)
        expect(watched.get_by_test_id("end")).to_be_visible()
        # Sue's viewer is now the primary one: frames, and the rep's tools.
        expect(sue_screen).to_have_attribute("data-frames", _some_frames(), timeout=30_000)
        expect(sue_screen.get_by_test_id("screen-control")).to_be_visible()
        expect(scene.chat).to_have_attribute("data-taken-over", "true")
        expect(scene.chat.get_by_test_id("chat-status")).to_contain_text("Sue took this session over")
        expect(scene.chat.get_by_test_id("chat-watchers")).to_be_hidden()
        expect(scene.box.get_by_test_id("header-rep")).to_have_text(re.compile(r"^Chatting with Sue\b"))
        expect(scene.box.get_by_test_id("header-rep")).to_have_attribute("data-taken-over", "true")
        expect(scene.box.locator("[data-testid=message][data-from=system]").filter(has_text="Sue took over")).to_have_count(1)
        expect(scene.box.get_by_test_id("chat-watchers")).to_be_hidden()
        scene.box.get_by_test_id("chat-input").fill("Thanks, the code is 0x80070005")
        scene.box.get_by_test_id("send").click()
        expect(watched.get_by_test_id("message-text").filter(has_text="0x80070005")).to_have_count(1)
        watched.get_by_test_id("chat-input").fill("That is a permissions error; let me fix it.")
        watched.get_by_test_id("send").click()
        expect(scene.box.get_by_test_id("message-text").filter(has_text="permissions error")).to_have_count(1)
        sue.screenshot(path="/tmp/supervisor-took-over.png")
        scene.rep.screenshot(path="/tmp/supervisor-rep-after.png")
        scene.visitor_w.page.screenshot(path="/tmp/supervisor-help-box-after.png")
        assert agent.poll() is None  # sharing goes on through the take-over
        # The agent names the rep who holds the session now.
        poll_until(lambda: "Sharing your screen with Sue." in out.read_text(), timeout=30, what="the agent naming Sue as the rep")
        assert sue_w.errors == []
    finally:
        if agent is not None and agent.poll() is None:
            agent.terminate()
            agent.wait(timeout=15)
        if agent is not None and agent.stdin is not None:
            agent.stdin.close()
        sue_w.close()
        scene.close()

    texts = [i["text"] for i in admin.http.get(f"/api/sessions/{sid}/timeline").json()["items"]]
    for said in ("Sue (supervisor) started watching the chat", "Sue (supervisor) started watching the screen",
                 f"Sue (supervisor) whispered to the rep: {WHISPER}", "Sue (supervisor) joined the chat",
                 "Sue (supervisor) took the session over from Rita"):
        assert said in texts, texts
    assert WHISPER not in admin.http.get(f"/api/sessions/{sid}/transcript").text


def _some_frames() -> Any:
    import re

    return re.compile(r"^[1-9]")
