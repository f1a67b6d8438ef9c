"""Transfer and invite in Chromium (issue 14, "For reps").

Transfer: Rita's console holds Vic's chat and Vic shares the Xvfb screen with
the real agent (Tk consent window). Rita transfers the session to Bob with a
note; Bob's console shows it among the alerts with the chat so far, he
accepts, his viewer shows the picture and he may ask for control (Vic allows
it in the agent's window); Rita's console and viewer let go; Vic's help box
says Bob took over and its header names him; the agent stays connected.

Invite: Rita invites Bob into the chat; Bob's lines reach Vic, Rita keeps
the session; Bob leaves and Vic reads it.
"""

from __future__ import annotations

import re
import secrets
import subprocess
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from desklink.testing import AdminAPI, ServerProcess
from desklink.testing_x import XDisplay

from test_help_flow import Watched
from test_remote_control import ALLOW_BUTTON, CONSENT_TITLE, Sent, click_button, control, display, rig  # noqa: F401 (fixtures)
from test_screen_viewer import Scene, shot

HostSite = Any  # tests/e2e/conftest.py:HostSite

pytestmark = pytest.mark.browser

expect.set_options(timeout=20_000)

NOTE = "Vic needs the printer driver; you know that model"


def colleague(browser: Browser, server: ServerProcess, admin: AdminAPI, unique: str, name: str = "Bob") -> tuple[Watched, Page]:
    """A second rep of the scene's queue, logged in to the console and online."""
    password = "pw-" + secrets.token_hex(8)
    user = admin.user(f"{unique}{name.lower()}", password, display_name=name)
    queue = admin.queue(unique)
    admin.members(queue["id"], [*queue["members"], user["id"]])
    w = Watched(browser)
    page = w.page
    page.goto(server.url + "/console")
    page.get_by_test_id("username").fill(f"{unique}{name.lower()}")
    page.get_by_test_id("password").fill(password)
    page.get_by_test_id("login").click()
    expect(page.get_by_test_id("connection")).to_have_attribute("data-state", "open")
    page.get_by_test_id("presence-toggle").click()
    expect(page.get_by_test_id("presence-status")).to_have_attribute("data-status", "online")
    return w, page


def offer(scene: Scene, kind: str, to: str, note: str) -> None:
    """Rita opens the Transfer (or Invite) dialog, picks ``to`` and sends it."""
    scene.chat.get_by_test_id(kind).click()
    dialog = scene.rep.get_by_test_id("handoff-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_test_id("handoff-rep").filter(has_text=to).locator("input").check()
    dialog.get_by_test_id("handoff-note").fill(note)
    shot(scene.rep, f"handoff-{kind}-dialog")
    dialog.get_by_test_id("handoff-send").click()
    expect(dialog).to_have_count(0)


def test_transfer_moves_the_chat_and_the_live_screen(
    browser: Browser, server: ServerProcess, admin: AdminAPI, unique: str,
    rig: tuple[Scene, Sent, subprocess.Popen[str]], display: XDisplay,  # noqa: F811 (fixtures)
) -> None:
    scene, _sent, agent = rig
    bob_w, bob = colleague(browser, server, admin, unique)
    try:
        offer(scene, "transfer", "Bob", NOTE)
        expect(scene.chat.get_by_test_id("chat-status")).to_contain_text("Offered the session with Vic to Bob")

        # Bob's alert: who, the note, and the chat so far.
        card = bob.get_by_test_id("handoff-alert")
        expect(card).to_have_attribute("data-kind", "transfer")
        expect(card.get_by_test_id("handoff-headline")).to_have_text(f"Transfer from Rita: {NOTE}")
        expect(card.get_by_test_id("handoff-history")).to_contain_text("Rita joined the conversation.")
        shot(bob, "handoff-transfer-alert")
        card.get_by_test_id("handoff-accept").click()
        expect(card).to_have_count(0)

        # Bob holds it: the chat and the live picture, with the rep's tools.
        chat = bob.locator(f'[data-testid=chat][data-session-id="{scene.session_id}"]')
        expect(chat).to_be_visible()
        expect(chat.get_by_test_id("message-text").filter(has_text="Bob took over the conversation.")).to_have_count(1)
        screen = chat.get_by_test_id("screen")
        expect(screen).to_be_visible()
        expect(screen.get_by_test_id("screen-status")).to_have_text("Sharing")
        expect(screen).to_have_attribute("data-frames", re.compile(r"^[1-9]"), timeout=30_000)

        # Rita is detached: her panel says so and her viewer is gone.
        expect(scene.chat).to_have_attribute("data-taken-over", "true")
        expect(scene.chat.get_by_test_id("chat-status")).to_contain_text("You transferred this session to Bob")
        expect(scene.chat.get_by_test_id("screen")).to_have_count(0)
        expect(scene.chat.get_by_test_id("composer")).to_be_hidden()

        # Vic is told who took over; the note never reaches him.
        box = scene.box
        expect(box.locator("[data-testid=message][data-from=system]").filter(has_text="Bob took over the conversation.")).to_have_count(1)
        expect(box.get_by_test_id("header-rep")).to_have_text(re.compile(r"^Chatting with Bob\b"))
        expect(box.get_by_text(NOTE)).to_have_count(0)

        # Bob asks for control; Vic allows it in the agent's window.
        status = screen.get_by_test_id("control-status")
        screen.get_by_test_id("control-request").click()
        expect(status).to_have_attribute("data-control", "asking")
        click_button(display, CONSENT_TITLE, ALLOW_BUTTON)
        expect(status).to_have_attribute("data-control", "granted")
        shot(bob, "handoff-transfer-new-rep")
        shot(scene.rep, "handoff-transfer-old-rep")
        shot(scene.visitor_w.page, "handoff-transfer-help-box")

        # The conversation goes on between Vic and Bob.
        box.get_by_test_id("chat-input").fill("Thanks Bob")
        box.get_by_test_id("send").click()
        expect(chat.get_by_test_id("message-text").filter(has_text="Thanks Bob")).to_have_count(1)
        assert agent.poll() is None, "the agent stayed connected through the transfer"
        assert bob_w.errors == []
        _ = control  # the same control bar as the rig's (kept imported for its locator names)
    finally:
        bob_w.close()
    texts = [i["text"] for i in admin.http.get(f"/api/sessions/{scene.session_id}/timeline").json()["items"]]
    assert any(t.startswith("Rita (rep) offered the session to Bob") for t in texts), texts
    assert any(t.startswith("Bob (rep) accepted the transfer from Rita") for t in texts), texts


def test_invite_brings_a_second_rep_into_the_chat(
    browser: Browser, server: ServerProcess, admin: AdminAPI, host_site: HostSite, unique: str,
) -> None:
    scene = Scene(browser, server, admin, host_site, unique)
    bob_w, bob = colleague(browser, server, admin, unique)
    try:
        offer(scene, "invite", "Bob", "a second pair of eyes")
        card = bob.get_by_test_id("handoff-alert")
        expect(card).to_have_attribute("data-kind", "invite")
        expect(card.get_by_test_id("handoff-headline")).to_have_text("Rita invites you into a chat with Vic")
        card.get_by_test_id("handoff-accept").click()

        chat = bob.locator(f'[data-testid=chat][data-session-id="{scene.session_id}"]')
        expect(chat).to_have_attribute("data-invited", "true")
        expect(chat.get_by_test_id("composer")).to_be_visible()
        expect(chat.get_by_test_id("take-over")).to_be_hidden()
        box = scene.box
        expect(box.locator("[data-testid=message][data-from=system]").filter(has_text="Bob joined the chat.")).to_have_count(1)
        expect(scene.chat.get_by_test_id("chat-status")).to_contain_text("Bob joined the chat with Vic")
        expect(chat.get_by_test_id("message-text").filter(has_text="Bob joined the chat.")).to_have_count(1)

        # Both reps' lines reach Vic; Rita still holds the session.
        chat.get_by_test_id("chat-input").fill("Hi Vic, Bob here as well.")
        chat.get_by_test_id("send").click()
        line = box.get_by_test_id("message").filter(has_text="Bob here as well")
        expect(line.get_by_test_id("message-name")).to_have_text("Bob")
        scene.chat.get_by_test_id("chat-input").fill("Bob knows this printer well.")
        scene.chat.get_by_test_id("send").click()
        expect(box.get_by_test_id("message-text").filter(has_text="Bob knows this printer well.")).to_have_count(1)
        expect(chat.get_by_test_id("message-text").filter(has_text="Bob knows this printer well.")).to_have_count(1)
        expect(scene.chat.get_by_test_id("message-text").filter(has_text="Bob here as well")).to_have_count(1)
        expect(scene.chat.get_by_test_id("end")).to_be_visible()
        expect(box.get_by_text("a second pair of eyes")).to_have_count(0)
        shot(bob, "handoff-invite-guest")
        shot(scene.visitor_w.page, "handoff-invite-help-box")

        # The guest reads the session's internal notes like the rep (no refusal).
        expect(chat.get_by_test_id("notes-empty").or_(chat.get_by_text("No notes yet."))).to_be_visible()
        expect(bob.locator("[data-testid=toast][data-kind=error]")).to_have_count(0)
        chat.get_by_test_id("leave-chat").click()
        expect(chat).to_have_count(0)
        expect(box.locator("[data-testid=message][data-from=system]").filter(has_text="Bob left the chat.")).to_have_count(1)
        assert bob_w.errors == []
    finally:
        bob_w.close()
        scene.close()
