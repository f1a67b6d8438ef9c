"""The visitor's rating in a real browser: once the rep ends the chat, the
help box (embedded cross-origin on the provider's page) asks "How did we
do?"; the visitor picks 4 with the keyboard, writes a comment and sends it;
the rating is in the session's timeline (API) and in the admin center's
session list and detail. And Skip: the form goes, nothing is stored."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from desklink.testing import AdminAPI, ServerProcess, admin_center

from _pages import Watched

HostSite = Any  # tests/e2e/conftest.py:HostSite

pytestmark = pytest.mark.browser

expect.set_options(timeout=15_000)


def _rep(admin: AdminAPI, site: HostSite, slug: str) -> tuple[str, str]:
    """A queue the host site may embed, with one rep, Rita."""
    queue = admin.queue(slug, origins=[site.origin])
    username, password = f"{slug}rita", "pw-" + secrets.token_hex(8)
    admin.members(queue["id"], [admin.user(username, password, display_name="Rita")["id"]])
    return username, password


def _console(page: Page, server: ServerProcess, username: str, password: str) -> None:
    page.goto(server.url + "/console")
    page.get_by_test_id("username").fill(username)
    page.get_by_test_id("password").fill(password)
    page.get_by_test_id("login").click()
    expect(page.get_by_test_id("connection")).to_have_attribute("data-state", "open")
    page.get_by_test_id("presence-toggle").click()
    expect(page.get_by_test_id("presence-status")).to_have_attribute("data-status", "online")


def _chat(visitor: Page, rep: Page, url: str, name: str) -> tuple[Any, str, Any]:
    """The visitor asks in the help box and the rep accepts: the box, the session id, the rep's chat."""
    visitor.goto(url)
    box = visitor.locator("desklink-help")
    box.get_by_test_id("launcher").click()
    box.get_by_test_id("name").fill(name)
    box.get_by_test_id("question").fill("My printer prints blank pages")
    box.get_by_test_id("submit").click()
    expect(box.get_by_test_id("status")).to_have_attribute("data-state", "waiting")
    rep.get_by_test_id("alert-accept").click()
    tab = rep.get_by_test_id("session-tab")
    expect(tab).to_have_count(1)
    sid = tab.get_attribute("data-session-id")
    assert sid
    chat = rep.locator(f'[data-testid=chat][data-session-id="{sid}"]')
    expect(box.get_by_test_id("status")).to_have_attribute("data-state", "chatting")
    return box, sid, chat


def _end_as_rep(chat: Any) -> None:
    chat.get_by_test_id("end").click()
    chat.get_by_test_id("end-disposition").select_option("resolved")
    chat.get_by_test_id("end-confirm").click()


def test_rate_four_with_a_comment_after_the_rep_ends(
    browser: Browser, server: ServerProcess, admin: AdminAPI, host_site: HostSite, unique: str
) -> None:
    username, password = _rep(admin, host_site, unique)
    rw, vw, aw = Watched(browser), Watched(browser, viewport={"width": 900, "height": 900}), Watched(browser)
    try:
        _console(rw.page, server, username, password)
        box, sid, chat = _chat(vw.page, rw.page, host_site.page(unique), "Vera")
        form = box.get_by_test_id("rating-form")
        expect(form).to_have_count(0)  # not while the chat is on
        _end_as_rep(chat)

        expect(box.get_by_test_id("end-banner")).to_be_visible()
        expect(form).to_be_visible()
        expect(form.get_by_role("group", name="How did we do?")).to_be_visible()
        send = box.get_by_test_id("rating-send")
        expect(send).to_be_disabled()
        # Real radio buttons: the keyboard chooses (focus the first, arrow right three times).
        box.get_by_test_id("rating-1").focus()
        vw.page.keyboard.press("Space")
        expect(box.get_by_test_id("rating-1")).to_be_checked()
        for _ in range(3):
            vw.page.keyboard.press("ArrowRight")
        expect(box.get_by_test_id("rating-4")).to_be_checked()
        expect(box.get_by_test_id("rating-chosen")).to_have_text("4 out of 5: Good")
        expect(form.get_by_role("radio", name="4 Good")).to_be_checked()
        box.get_by_test_id("rating-comment").fill("Rita fixed it <b>fast</b>")
        expect(box.get_by_test_id("rating-comment-count")).to_have_text("25 / 1000")
        expect(send).to_be_enabled()
        vw.page.screenshot(path="/tmp/rating-form.png")
        send.click()

        expect(box.get_by_test_id("rating-thanks")).to_have_text("Thank you for your feedback!")
        expect(form).to_have_count(0)
        expect(box.get_by_test_id("new-conversation")).to_be_visible()
        vw.page.screenshot(path="/tmp/rating-thanks.png")

        # Stored, and in the session's timeline in words.
        detail = admin.http.get(f"/api/sessions/{sid}").json()
        assert (detail["rating"]["value"], detail["rating"]["comment"]) == (4, "Rita fixed it <b>fast</b>")
        items = admin.http.get(f"/api/sessions/{sid}/timeline").json()["items"]
        assert [i["text"] for i in items if i["kind"] == "rated"] == [
            "The visitor rated the session 4 out of 5: Rita fixed it <b>fast</b>"
        ]

        # The admin center: the list's Rating column, the detail and its timeline.
        admin_center(aw.page, server, "sessions")
        row = aw.page.locator(f'[data-testid=session-row][data-session-id="{sid}"]')
        expect(row.get_by_test_id("session-rating")).to_have_attribute("data-rating", "4")
        expect(row.get_by_test_id("session-rating")).to_contain_text("★★★★☆ 4/5")
        row.click()
        expect(aw.page.get_by_test_id("detail-rating")).to_have_text("4 out of 5: “Rita fixed it <b>fast</b>”")
        rated = aw.page.locator("[data-testid=timeline-item][data-kind=rated]")
        expect(rated).to_have_attribute("data-marker", "rating")
        expect(rated).to_contain_text("rated the session 4 out of 5")
        aw.page.screenshot(path="/tmp/rating-admin.png", full_page=True)
        assert vw.errors == [] and rw.errors == [] and aw.errors == []
    finally:
        for w in (rw, vw, aw):
            w.close()


def test_skip_stores_nothing(
    browser: Browser, server: ServerProcess, admin: AdminAPI, host_site: HostSite, unique: str
) -> None:
    username, password = _rep(admin, host_site, unique)
    rw, vw = Watched(browser), Watched(browser)
    try:
        _console(rw.page, server, username, password)
        box, sid, _ = _chat(vw.page, rw.page, host_site.page(unique), "Sam")
        # The visitor ends it this time.
        box.get_by_test_id("leave").click()
        box.get_by_test_id("leave-end").click()
        expect(box.get_by_test_id("end-detail")).to_contain_text("You ended the conversation.")
        expect(box.get_by_test_id("rating-form")).to_be_visible()
        box.get_by_test_id("rating-skip").click()
        expect(box.get_by_test_id("rating-form")).to_have_count(0)
        expect(box.get_by_test_id("new-conversation")).to_be_visible()
        # A new conversation starts without the old form.
        box.get_by_test_id("new-conversation").click()
        expect(box.get_by_test_id("form")).to_be_visible()
        detail = admin.http.get(f"/api/sessions/{sid}").json()
        assert detail["ended_by"] == "visitor" and detail["rating"] is None
        assert not [e for e in detail["events"] if e["kind"] == "rated"]
        assert vw.errors == [] and rw.errors == []
    finally:
        rw.close()
        vw.close()
