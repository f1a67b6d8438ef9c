"""The help box tells the truth, in a real browser (the box embedded
cross-origin on the provider's page):

* the header's "No one is online right now" goes once a rep joins, and the
  header names the rep; the join is announced exactly once;
* "End chat" asks "End this chat?": Cancel changes nothing, End ends it;
* on a site the queue does not allow, the box says the help desk is not
  available here (not a connection problem) and tells the site owner why in
  the browser console.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from desklink.testing import AdminAPI, ServerProcess

from _pages import Watched

HostSite = Any  # tests/e2e/conftest.py:HostSite

pytestmark = pytest.mark.browser

expect.set_options(timeout=15_000)


def _console(page: Page, server: ServerProcess, username: str, password: str) -> None:
    """The rep signs in and stays offline for now."""
    page.goto(server.url + "/console")
    page.get_by_test_id("username").fill(username)
    page.get_by_test_id("password").fill(password)
    page.get_by_test_id("login").click()
    expect(page.get_by_test_id("connection")).to_have_attribute("data-state", "open")


def test_header_and_join_stay_true_and_end_chat_asks_first(
    browser: Browser, server: ServerProcess, admin: AdminAPI, host_site: HostSite, unique: str
) -> None:
    queue = admin.queue(unique, origins=[host_site.origin])
    username, password = f"{unique}rita", "pw-" + secrets.token_hex(8)
    admin.members(queue["id"], [admin.user(username, password, display_name="Rita")["id"]])
    rw, vw = Watched(browser), Watched(browser, viewport={"width": 900, "height": 900})
    try:
        rep = rw.page
        _console(rep, server, username, password)
        visitor = vw.page
        visitor.goto(host_site.page(unique))
        box = visitor.locator("desklink-help")
        box.get_by_test_id("launcher").click()
        availability = box.get_by_test_id("availability")
        expect(availability).to_have_attribute("data-online", "no")
        expect(availability).to_contain_text("No one is online right now")
        box.get_by_test_id("name").fill("Vic")
        box.get_by_test_id("question").fill("My printer prints blank pages")
        box.get_by_test_id("submit").click()
        expect(box.get_by_test_id("status")).to_have_attribute("data-state", "waiting")

        # Rita comes online and answers.
        rep.get_by_test_id("presence-toggle").click()
        expect(rep.get_by_test_id("presence-status")).to_have_attribute("data-status", "online")
        rep.get_by_test_id("alert-accept").click()
        tab = rep.get_by_test_id("session-tab")
        expect(tab).to_have_count(1)
        chat = rep.locator(f'[data-testid=chat][data-session-id="{tab.get_attribute("data-session-id")}"]')
        expect(box.get_by_test_id("status")).to_have_attribute("data-state", "chatting")

        # The header names the rep; "nobody online" is gone.
        expect(box.get_by_test_id("header-rep")).to_be_visible()
        expect(box.get_by_test_id("header-rep")).to_have_text(f"Chatting with Rita from {queue['name']}")
        expect(availability).to_be_hidden()
        assert not [t for t in box.get_by_text("online").all() if t.is_visible()]
        # The join is announced once: the system line in the chat, nothing else.
        expect(box.locator("[data-testid=message][data-from=system]").filter(has_text="Rita joined")).to_have_count(1)
        joined = [t for t in box.get_by_text(re.compile(r"\bjoined\b")).all() if t.is_visible()]
        assert len(joined) == 1, [t.text_content() for t in joined]
        visitor.screenshot(path="/tmp/helpbox-chatting.png")

        # End chat asks first; Cancel changes nothing.
        confirm = box.get_by_test_id("leave-confirm")
        expect(confirm).to_be_hidden()
        box.get_by_test_id("leave").click()
        expect(confirm).to_be_visible()
        expect(box.get_by_test_id("leave-confirm-text")).to_have_text("End this chat?")
        expect(box.get_by_test_id("leave")).to_be_hidden()
        visitor.screenshot(path="/tmp/helpbox-end-confirm.png")
        box.get_by_test_id("leave-cancel").click()
        expect(confirm).to_be_hidden()
        expect(box.get_by_test_id("leave")).to_be_visible()
        expect(box.get_by_test_id("status")).to_have_attribute("data-state", "chatting")
        # Still a live chat both ways.
        box.get_by_test_id("chat-input").fill("Still there?")
        box.get_by_test_id("chat-input").press("Enter")
        expect(chat.locator("[data-testid=message][data-from=visitor]").filter(has_text="Still there?")).to_have_count(1)
        expect(chat.get_by_test_id("chat-status")).not_to_contain_text("Visitor left")
        expect(chat.get_by_test_id("composer")).to_be_visible()

        # End: the chat ends on both sides.
        box.get_by_test_id("leave").click()
        box.get_by_test_id("leave-end").click()
        expect(box.get_by_test_id("status")).to_have_text("Conversation ended")
        expect(box.get_by_test_id("end-detail")).to_contain_text("You ended the conversation.")
        expect(confirm).to_be_hidden()
        expect(box.get_by_test_id("header-rep")).to_be_hidden()
        expect(chat.get_by_test_id("chat-status")).to_contain_text("Visitor left")
        assert rw.errors == [] and vw.errors == []
    finally:
        rw.close()
        vw.close()


def test_a_site_not_allowed_is_told_so_not_blamed_on_the_connection(
    browser: Browser, server: ServerProcess, admin: AdminAPI, host_site: HostSite, unique: str
) -> None:
    admin.queue(unique, origins=["http://shop.example:8000"])  # not the host site
    vw = Watched(browser, viewport={"width": 900, "height": 900})
    warnings: list[str] = []
    vw.page.on("console", lambda m: warnings.append(m.text) if m.type in ("warning", "error") else None)
    try:
        page = vw.page
        page.goto(host_site.page(unique))
        box = page.locator("desklink-help")
        box.get_by_test_id("launcher").click()
        unavailable = box.get_by_test_id("unavailable")
        expect(unavailable).to_be_visible()
        expect(unavailable).to_have_text("The help desk is not available on this site.")
        expect(box.get_by_test_id("availability")).to_have_attribute("data-online", "denied")
        expect(box.get_by_test_id("availability")).to_have_text("Unavailable")
        expect(box.get_by_test_id("form")).to_be_hidden()
        expect(box.get_by_test_id("submit")).to_be_hidden()
        shown = box.get_by_test_id("panel").inner_text().lower()  # rendered text only
        assert "not available on this site" in shown
        for wrong in ("connection", "not reachable", "cannot reach"):
            assert wrong not in shown, shown
        page.screenshot(path="/tmp/helpbox-denied.png")
        # The site owner finds the reason in the console: this page's origin, the queue, what to change.
        reasons = [w for w in warnings if w.startswith("DeskLink help box")]
        assert len(reasons) == 1, warnings
        assert host_site.origin in reasons[0] and f'"{unique}"' in reasons[0]
        assert "allowed origins" in reasons[0]
        # Closing and opening again asks the server again but says it once.
        box.get_by_test_id("minimize").click()
        with page.expect_response(lambda r: "/api/widget/config" in r.url) as again:
            box.get_by_test_id("launcher").click()
        assert again.value.status == 403
        expect(unavailable).to_be_visible()
        assert len([w for w in warnings if w.startswith("DeskLink help box")]) == 1
        assert vw.errors == []
    finally:
        vw.close()
