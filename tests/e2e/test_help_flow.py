"""The whole help flow in a real browser: the help box embedded cross-origin
on a provider page, two rep consoles, accept race, chat with typing, a
visitor reload mid-chat (with a message lost in transit), transcripts, end.
Plus: hostile input renders as text everywhere, and a hostile host page's
CSS does not reach the help box.

The page map these tests drive is src/desklink/web/README.md.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from desklink.testing import AdminAPI, ServerProcess

HostSite = Any  # tests/e2e/conftest.py:HostSite (the provider's site fixture)

pytestmark = pytest.mark.browser

expect.set_options(timeout=10_000)

VISITOR_WS = re.compile(r".*/ws/visitor.*")


# --------------------------------------------------------------------------- helpers


class Watched:
    """A page plus everything it said that a test must check: script errors,
    CSP violations, dialogs (an injected alert() would open one)."""

    def __init__(self, browser: Browser, **context_args: Any) -> None:
        self.context = browser.new_context(viewport={"width": 1280, "height": 820}, accept_downloads=True, **context_args)
        self.page: Page = self.context.new_page()
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        self.page.on("console", self._console)
        self.page.on("dialog", self._dialog)

    def _console(self, msg: Any) -> None:
        if "Content Security Policy" in msg.text or "Refused to" in msg.text:
            self.errors.append(f"csp: {msg.text}")

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def assert_clean(self) -> None:
        assert self.errors == []
        assert self.dialogs == []

    def close(self) -> None:
        self.context.close()


def make_queue(admin: AdminAPI, site: HostSite, slug: str, reps: list[tuple[str, str]]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """A queue that the host site may embed, with reps (username suffix, display name)."""
    queue = admin.queue(slug, origins=[site.origin])
    creds, ids = [], []
    for suffix, display in reps:
        username, password = f"{slug}{suffix}", "pw-" + secrets.token_hex(8)
        ids.append(admin.user(username, password, display_name=display)["id"])
        creds.append((username, password))
    admin.members(queue["id"], ids)
    return queue, creds


def console_login(w: Watched, server: ServerProcess, username: str, password: str, *, online: bool = True) -> Page:
    page = w.page
    page.goto(server.url + "/console")
    page.get_by_test_id("username").fill(username)
    page.get_by_test_id("password").fill(password)
    page.get_by_test_id("login").click()
    expect(page.get_by_test_id("connection")).to_have_attribute("data-state", "open")
    if online:
        page.get_by_test_id("presence-toggle").click()
        expect(page.get_by_test_id("presence-status")).to_have_attribute("data-status", "online")
        expect(page.get_by_test_id("presence-status")).to_have_text("Online")
    return page


def open_widget(page: Page, url: str) -> Any:
    page.goto(url)
    box = page.locator("desklink-help")
    box.get_by_test_id("launcher").click()
    expect(box.get_by_test_id("form")).to_be_visible()
    return box


def ask(box: Any, name: str, question: str, email: str = "") -> None:
    box.get_by_test_id("name").fill(name)
    if email:
        box.get_by_test_id("email").fill(email)
    box.get_by_test_id("question").fill(question)
    box.get_by_test_id("submit").click()
    expect(box.get_by_test_id("status")).to_have_attribute("data-state", "waiting")


def stored(scope: Any) -> list[tuple[str, str]]:
    """(from, text) of every stored message shown, in order."""
    rows = scope.locator("[data-testid=message][data-seq]").evaluate_all(
        "els => els.map(e => [e.dataset.from, e.querySelector('[data-testid=message-text]').textContent, Number(e.dataset.seq)])"
    )
    seqs = [r[2] for r in rows]
    assert seqs == sorted(set(seqs)), f"seqs out of order or duplicated: {seqs}"
    return [(r[0], r[1]) for r in rows]


def accept_first(page: Page) -> tuple[str, Any]:
    page.get_by_test_id("alert-accept").click()
    tab = page.get_by_test_id("session-tab")
    expect(tab).to_have_count(1)
    sid = tab.get_attribute("data-session-id")
    assert sid
    chat = page.locator(f'[data-testid=chat][data-session-id="{sid}"]')
    expect(chat).to_be_visible()
    return sid, chat


# --------------------------------------------------------------------------- the flow


def test_help_flow_two_reps_reload_transcript_end(
    browser: Browser, server: ServerProcess, admin: AdminAPI, host_site: HostSite, unique: str
) -> None:
    queue, ((alex_user, alex_pw), (blair_user, blair_pw)) = make_queue(
        admin, host_site, unique, [("alex", "Alex"), ("blair", "Blair")]
    )
    url = host_site.page(unique)
    ra, rb, vw = Watched(browser), Watched(browser), Watched(browser)
    try:
        alex = console_login(ra, server, alex_user, alex_pw)
        blair = console_login(rb, server, blair_user, blair_pw)

        # The visitor's socket goes through a switch that can drop chat.send
        # frames, to leave a message unacknowledged across a reload.
        drop = {"chat": False}

        def route(ws: Any) -> None:
            upstream = ws.connect_to_server()

            def from_page(message: Any) -> None:
                if drop["chat"] and isinstance(message, str) and '"chat.send"' in message:
                    return
                upstream.send(message)

            ws.on_message(from_page)

        vw.context.route_web_socket(VISITOR_WS, route)
        visitor = vw.page
        box = open_widget(visitor, url)
        expect(box.get_by_test_id("availability")).to_have_attribute("data-online", "yes")
        expect(box.get_by_test_id("name-count")).to_have_text("0 / 80")
        ask(box, "Ann", "My widget will not turn on.", "ann@example.com")
        expect(box.get_by_test_id("position")).to_have_text("You are number 1 in line")
        expect(box.get_by_test_id("wait")).to_contain_text("Expected wait")
        expect(box.get_by_test_id("asked-text")).to_have_text("My widget will not turn on.")

        # Both consoles are alerted.
        for rep in (alex, blair):
            card = rep.get_by_test_id("alert")
            expect(card).to_have_count(1)
            expect(card.get_by_test_id("alert-name")).to_have_text("Ann")
            expect(card.get_by_test_id("alert-question")).to_have_text("My widget will not turn on.")
            expect(card.get_by_test_id("alert-queue")).to_have_text(queue["name"])
            expect(card.get_by_test_id("alert-wait")).to_have_text(re.compile(r"^waiting \d+:\d\d$"))
            expect(rep.get_by_test_id("alert-count")).to_have_text("1")
        request_id = alex.get_by_test_id("alert").get_attribute("data-request-id")
        assert request_id and blair.get_by_test_id("alert").get_attribute("data-request-id") == request_id

        # Alex accepts; Blair's alert vanishes and says who took it.
        sid, chat = accept_first(alex)
        expect(blair.get_by_test_id("alert")).to_have_count(0)
        expect(blair.get_by_test_id("alert-taken-by")).to_have_text("Taken by Alex · Ann")
        expect(alex.get_by_test_id("alert")).to_have_count(0)
        expect(chat.get_by_test_id("chat-visitor")).to_have_text("Ann")
        expect(chat.get_by_test_id("chat-email")).to_have_text("ann@example.com")
        expect(chat.get_by_test_id("chat-question")).to_have_text("My widget will not turn on.")
        expect(box.get_by_test_id("header-rep")).to_have_text(f"Chatting with Alex from {queue['name']}")
        expect(box.locator("[data-testid=message][data-from=system]").filter(has_text="Alex joined")).to_have_count(1)
        expect(box.get_by_test_id("status")).to_have_attribute("data-state", "chatting")

        # Typing, visitor -> rep.
        vin = box.get_by_test_id("chat-input")
        vin.press_sequentially("Hello, my wid")
        expect(chat.get_by_test_id("typing")).to_be_visible()
        expect(chat.get_by_test_id("typing")).to_have_text("Ann is typing…")
        vin.press_sequentially("get is dead")
        vin.press("Enter")
        expect(chat.locator("[data-testid=message][data-from=visitor]")).to_have_count(1)
        expect(chat.get_by_test_id("typing")).to_be_hidden()

        # Typing, rep -> visitor; sending with the Send button.
        rin = chat.get_by_test_id("chat-input")
        rin.press_sequentially("Let's have")
        expect(box.get_by_test_id("typing")).to_be_visible()
        expect(box.get_by_test_id("typing")).to_have_text("Alex is typing…")
        rin.press_sequentially(" a look")
        chat.get_by_test_id("send").click()
        expect(box.locator("[data-testid=message][data-from=rep]")).to_have_count(1)
        expect(box.get_by_test_id("typing")).to_be_hidden()

        # A visitor message is lost in transit, the rep writes meanwhile...
        drop["chat"] = True
        vin.fill("It was fine yesterday")
        vin.press("Enter")
        expect(box.locator("[data-testid=message][data-pending=true]")).to_have_count(1)
        rin.fill("Is it plugged in?")
        rin.press("Enter")
        expect(box.locator("[data-testid=message][data-from=rep]")).to_have_count(2)
        visitor.wait_for_timeout(300)
        expect(chat.locator("[data-testid=message][data-from=visitor]")).to_have_count(1)

        # ...and the visitor reloads: history comes back, the lost message is
        # sent again with the same cid and lands exactly once.
        drop["chat"] = False
        visitor.reload()
        box = visitor.locator("desklink-help")
        expect(box.get_by_test_id("panel")).to_be_visible()
        expect(box.get_by_test_id("status")).to_have_attribute("data-state", "chatting")
        expect(chat.locator("[data-testid=message][data-from=visitor]")).to_have_count(2)
        vin = box.get_by_test_id("chat-input")
        vin.fill("Yes, it is plugged in")
        vin.press("Enter")
        expect(chat.locator("[data-testid=message][data-from=visitor]")).to_have_count(3)

        expected = [
            ("visitor", "Hello, my widget is dead"),
            ("rep", "Let's have a look"),
            ("rep", "Is it plugged in?"),
            ("visitor", "It was fine yesterday"),
            ("visitor", "Yes, it is plugged in"),
        ]
        expect(box.locator("[data-testid=message][data-seq]")).to_have_count(len(expected) + 1)
        expect(chat.locator("[data-testid=message][data-seq]")).to_have_count(len(expected) + 1)
        on_visitor, on_rep = stored(box), stored(chat)
        assert on_visitor == on_rep
        assert [m for m in on_visitor if m[0] != "system"] == expected
        assert [m[0] for m in on_visitor].count("system") == 1
        expect(box.locator("[data-testid=message][data-pending]")).to_have_count(0)
        expect(chat.locator("[data-testid=message][data-pending]")).to_have_count(0)

        # A second reload replays the same list, no duplicates.
        visitor.reload()
        box = visitor.locator("desklink-help")
        expect(box.locator("[data-testid=message][data-seq]")).to_have_count(len(expected) + 1)
        visitor.wait_for_timeout(300)
        assert stored(box) == on_visitor

        # Transcripts, as text and as HTML.
        with visitor.expect_download() as info:
            box.get_by_test_id("save-text").click()
        download = info.value
        assert download.suggested_filename.endswith(".txt")
        text = Path(download.path()).read_text(encoding="utf-8")
        assert "Question: My widget will not turn on." in text
        for _, line in expected:
            assert line in text
        with visitor.expect_download() as info:
            box.get_by_test_id("save-html").click()
        download = info.value
        assert download.suggested_filename.endswith(".html")
        page_html = Path(download.path()).read_text(encoding="utf-8")
        assert page_html.lstrip().lower().startswith("<!doctype html>")
        assert "Let&#x27;s have a look" in page_html or "Let's have a look" in page_html

        # Alex ends with a disposition and a note; the visitor sees the end.
        chat.get_by_test_id("end").click()
        chat.get_by_test_id("end-disposition").select_option("resolved")
        chat.get_by_test_id("end-note").fill("Power cable was loose")
        chat.get_by_test_id("end-confirm").click()
        expect(alex.get_by_test_id("chat")).to_have_count(0)
        expect(alex.get_by_test_id("session-tab")).to_have_count(0)
        expect(alex.get_by_test_id("toast").last).to_contain_text("ended (resolved)")
        expect(box.get_by_test_id("end-banner")).to_be_visible()
        expect(box.get_by_test_id("status")).to_have_text("Conversation ended")
        expect(box.get_by_test_id("end-detail")).to_contain_text("Alex ended the conversation.")
        expect(box.get_by_test_id("composer")).to_be_hidden()
        detail = admin.http.get(f"/api/sessions/{sid}").json()
        assert (detail["disposition"], detail["note"], detail["ended_by"]) == ("resolved", "Power cable was loose", "rep")

        # The transcript can still be saved; a reload no longer resumes.
        with visitor.expect_download() as info:
            box.get_by_test_id("save-text").click()
        assert "Yes, it is plugged in" in Path(info.value.path()).read_text(encoding="utf-8")
        box.get_by_test_id("new-conversation").click()
        expect(box.get_by_test_id("form")).to_be_visible()
        expect(box.get_by_test_id("name")).to_have_value("Ann")
        visitor.reload()
        box = visitor.locator("desklink-help")
        expect(box.get_by_test_id("launcher")).to_be_visible()
        expect(box.get_by_test_id("panel")).to_be_hidden()

        for w in (ra, rb, vw):
            w.assert_clean()
    finally:
        for w in (ra, rb, vw):
            w.close()


def test_cancel_while_waiting(browser: Browser, server: ServerProcess, admin: AdminAPI, host_site: HostSite, unique: str) -> None:
    _, ((user, pw),) = make_queue(admin, host_site, unique, [("cara", "Cara")])
    rw, vw = Watched(browser), Watched(browser)
    try:
        rep = console_login(rw, server, user, pw)
        box = open_widget(vw.page, host_site.page(unique))
        # Over the name limit: the counter warns and the server's 413 is shown.
        box.get_by_test_id("name").fill("B" * 81)
        expect(box.get_by_test_id("name-count")).to_have_attribute("data-over", "true")
        box.get_by_test_id("question").fill("Where is my order?")
        box.get_by_test_id("submit").click()
        expect(box.get_by_test_id("form-error")).to_contain_text("too long")
        expect(rep.get_by_test_id("alert")).to_have_count(0)
        ask(box, "Bob", "Where is my order?")
        expect(rep.get_by_test_id("alert")).to_have_count(1)
        box.get_by_test_id("cancel").click()
        expect(box.get_by_test_id("status")).to_have_attribute("data-state", "cancelled")
        expect(box.get_by_test_id("end-title")).to_have_text("Request cancelled")
        expect(rep.get_by_test_id("alert")).to_have_count(0)
        expect(rep.get_by_test_id("alert-taken-by")).to_have_count(0)
        box.get_by_test_id("new-conversation").click()
        expect(box.get_by_test_id("form")).to_be_visible()
        expect(box.get_by_test_id("question")).to_have_value("")
        for w in (rw, vw):
            w.assert_clean()
    finally:
        rw.close()
        vw.close()


class Switch:
    """Routes a context's DeskLink sockets through Playwright so a test can
    drop client frames or cut the connection, as a flaky network would."""

    def __init__(self, context: Any, pattern: re.Pattern[str]) -> None:
        self.drop = False
        self.routes: list[tuple[Any, Any]] = []
        context.route_web_socket(pattern, self._route)

    def _route(self, ws: Any) -> None:
        upstream = ws.connect_to_server()

        def from_page(message: Any) -> None:
            if not (self.drop and isinstance(message, str) and '"t":"ping"' not in message):
                upstream.send(message)

        ws.on_message(from_page)
        self.routes.append((ws, upstream))

    def cut(self) -> None:
        ws, upstream = self.routes[-1]
        upstream.close()
        ws.close(code=1001, reason="network went away")


def test_both_sides_reconnect_and_resume(
    browser: Browser, server: ServerProcess, admin: AdminAPI, host_site: HostSite, unique: str
) -> None:
    _, ((user, pw),) = make_queue(admin, host_site, unique, [("fay", "Fay")])
    rw, vw = Watched(browser), Watched(browser)
    try:
        rep_net = Switch(rw.context, re.compile(r".*/ws/rep$"))
        visitor_net = Switch(vw.context, VISITOR_WS)
        rep = console_login(rw, server, user, pw)
        box = open_widget(vw.page, host_site.page(unique))
        ask(box, "Gus", "Printer offline")
        sid, chat = accept_first(rep)
        box.get_by_test_id("chat-input").fill("one")
        box.get_by_test_id("chat-input").press("Enter")
        expect(chat.locator("[data-testid=message][data-from=visitor]")).to_have_count(1)

        # The visitor's connection drops; the rep writes meanwhile; the help
        # box reconnects by itself and gets what it missed.
        visitor_net.cut()
        chat.get_by_test_id("chat-input").fill("two, while you were away")
        chat.get_by_test_id("chat-input").press("Enter")
        expect(box.locator("[data-testid=message][data-from=rep]")).to_have_count(1)
        assert len(visitor_net.routes) == 2

        # The rep's connection loses a message and then drops; the console
        # reconnects, resumes the chat and sends the lost line again.
        rep_net.drop = True
        chat.get_by_test_id("chat-input").fill("three, sent into the void")
        chat.get_by_test_id("chat-input").press("Enter")
        expect(chat.locator("[data-testid=message][data-pending=true]")).to_have_count(1)
        box.get_by_test_id("chat-input").fill("four")
        box.get_by_test_id("chat-input").press("Enter")
        expect(chat.locator("[data-testid=message][data-from=visitor]")).to_have_count(2)
        rep_net.drop = False
        rep_net.cut()
        expect(box.locator("[data-testid=message][data-from=rep]")).to_have_count(2)
        expect(rep.get_by_test_id("presence-status")).to_have_attribute("data-status", "online")
        expect(rep.get_by_test_id("connection")).to_have_attribute("data-state", "open")
        assert len(rep_net.routes) == 2

        expected = [("visitor", "one"), ("rep", "two, while you were away"), ("visitor", "four"), ("rep", "three, sent into the void")]
        expect(chat.locator("[data-testid=message][data-seq]")).to_have_count(len(expected) + 1)
        expect(box.locator("[data-testid=message][data-seq]")).to_have_count(len(expected) + 1)
        on_rep, on_visitor = stored(chat), stored(box)
        assert on_rep == on_visitor
        assert [m for m in on_rep if m[0] != "system"] == expected
        expect(chat.locator("[data-testid=message][data-pending]")).to_have_count(0)

        # The rep reloads the console: still logged in, back online, the
        # chat reopens with its whole history.
        rep.reload()
        expect(rep.get_by_test_id("presence-status")).to_have_attribute("data-status", "online")
        chat = rep.locator(f'[data-testid=chat][data-session-id="{sid}"]')
        expect(chat).to_be_visible()
        expect(chat.locator("[data-testid=message][data-seq]")).to_have_count(len(expected) + 1)
        assert stored(chat) == on_rep

        # The visitor leaves; the console says so and keeps the chat readable.
        box.get_by_test_id("leave").click()
        box.get_by_test_id("leave-end").click()
        expect(box.get_by_test_id("status")).to_have_text("Conversation ended")
        expect(box.get_by_test_id("end-detail")).to_contain_text("You ended the conversation.")
        expect(chat.get_by_test_id("chat-status")).to_contain_text("Visitor left")
        expect(chat.get_by_test_id("composer")).to_be_hidden()
        # The rep still records how it went.
        chat.get_by_test_id("end").click()
        chat.get_by_test_id("end-disposition").select_option("not_resolved")
        chat.get_by_test_id("end-note").fill("left before the reboot")
        chat.get_by_test_id("end-confirm").click()
        expect(rep.get_by_test_id("session-tab")).to_have_count(0)
        detail = admin.http.get(f"/api/sessions/{sid}").json()
        assert (detail["ended_by"], detail["disposition"], detail["note"]) == ("visitor", "not_resolved", "left before the reboot")
        for w in (rw, vw):
            w.assert_clean()
    finally:
        rw.close()
        vw.close()


# --------------------------------------------------------------------------- injection

EVIL_NAME = '<script>window.__pwned=1</script>"><img src=x onerror="window.__pwned=2">'
EVIL_EMAIL = '"><img/src=x/onerror=alert(4)>@x.y'
EVIL_QUESTION = "<img src=x onerror=alert(1)><script>alert(2)</script> & more"
EVIL_VISITOR_LINE = '"><svg onload=alert(3)><b>bold</b></svg>'
EVIL_REP_LINE = "<iframe src=javascript:alert(5)></iframe><a href=javascript:alert(6)>x</a>"
EVIL_REP_NAME = '<img src=x onerror="alert(7)">'
INJECTED = "img, script:not([src]), svg, iframe, a[href^=javascript], b"


def assert_inert(page: Page, scope: Any) -> None:
    assert scope.locator(INJECTED).count() == 0
    assert page.evaluate("window.__pwned") is None


def test_injection_renders_as_text(browser: Browser, server: ServerProcess, admin: AdminAPI, host_site: HostSite, unique: str) -> None:
    _, ((user, pw),) = make_queue(admin, host_site, unique, [("eve", EVIL_REP_NAME)])
    rw, vw, aw = Watched(browser), Watched(browser), Watched(browser)
    try:
        rep = console_login(rw, server, user, pw)
        visitor = vw.page
        box = open_widget(visitor, host_site.page(unique))
        ask(box, EVIL_NAME, EVIL_QUESTION, EVIL_EMAIL)
        expect(box.get_by_test_id("asked-text")).to_have_text(EVIL_QUESTION)

        card = rep.get_by_test_id("alert")
        expect(card.get_by_test_id("alert-name")).to_have_text(EVIL_NAME)
        expect(card.get_by_test_id("alert-email")).to_have_text(EVIL_EMAIL)
        expect(card.get_by_test_id("alert-question")).to_have_text(EVIL_QUESTION)
        assert_inert(rep, rep.locator("#app"))

        sid, chat = accept_first(rep)
        expect(chat.get_by_test_id("chat-visitor")).to_have_text(EVIL_NAME)
        expect(chat.get_by_test_id("chat-question")).to_have_text(EVIL_QUESTION)
        expect(box.get_by_test_id("header-rep")).to_contain_text(EVIL_REP_NAME)

        box.get_by_test_id("chat-input").fill(EVIL_VISITOR_LINE)
        box.get_by_test_id("send").click()
        chat.get_by_test_id("chat-input").fill(EVIL_REP_LINE)
        chat.get_by_test_id("send").click()
        expect(box.locator("[data-testid=message][data-from=rep] [data-testid=message-text]")).to_have_text(EVIL_REP_LINE)
        expect(box.locator("[data-testid=message][data-from=rep] [data-testid=message-name]")).to_have_text(EVIL_REP_NAME)
        expect(chat.locator("[data-testid=message][data-from=visitor] [data-testid=message-text]")).to_have_text(EVIL_VISITOR_LINE)
        expect(chat.locator("[data-testid=message][data-from=visitor] [data-testid=message-name]")).to_have_text(EVIL_NAME)
        expect(rep.get_by_test_id("session-tab")).to_contain_text(EVIL_NAME)
        assert_inert(rep, rep.locator("#app"))
        assert_inert(visitor, box)

        # The HTML transcript escapes everything.
        with visitor.expect_download() as info:
            box.get_by_test_id("save-html").click()
        page_html = Path(info.value.path()).read_text(encoding="utf-8")
        for raw in ("<script>alert(2)", "<svg onload", "<iframe", "<img src=x"):
            assert raw not in page_html

        # The admin center shows the session as text too.
        admin_page = aw.page
        admin_page.goto(server.url + "/admin#sessions")
        admin_page.get_by_test_id("username").fill("admin")
        admin_page.get_by_test_id("password").fill(server.admin_password)
        admin_page.get_by_test_id("login").click()
        row = admin_page.locator(f'[data-testid=session-row][data-session-id="{sid}"]')
        expect(row.get_by_test_id("session-visitor")).to_have_text(EVIL_NAME)
        row.click()
        detail = admin_page.get_by_test_id("session-detail")
        expect(detail.get_by_test_id("detail-question")).to_have_text(EVIL_QUESTION)
        expect(detail.get_by_test_id("transcript").locator("[data-from=visitor] [data-testid=message-text]")).to_have_text(EVIL_VISITOR_LINE)
        expect(detail.get_by_test_id("transcript").locator("[data-from=rep] [data-testid=message-text]")).to_have_text(EVIL_REP_LINE)
        # ...and its timeline, chat and events interleaved, in words, as text.
        timeline = detail.get_by_test_id("timeline")
        expect(timeline.locator("[data-testid=timeline-item][data-kind=accepted] .timeline-text")).to_have_text(
            f"{EVIL_REP_NAME} (rep) accepted the request"
        )
        chat_lines = timeline.locator("[data-testid=timeline-item][data-marker=chat] .timeline-text")
        expect(chat_lines).to_have_text([
            f"{EVIL_REP_NAME} joined the conversation.", f"{EVIL_NAME} (visitor) wrote: {EVIL_VISITOR_LINE}", f"{EVIL_REP_NAME} (rep) wrote: {EVIL_REP_LINE}"
        ])
        expect(timeline.locator("[data-testid=timeline-item]").first).to_have_attribute("data-kind", "submitted")
        assert_inert(admin_page, admin_page.locator("#app"))
        # The admin saves the same transcript document the visitor can.
        with admin_page.expect_download() as download:
            detail.get_by_test_id("transcript-text").click()
        saved = Path(download.value.path()).read_text(encoding="utf-8")
        assert download.value.suggested_filename.startswith("desklink-chat-") and download.value.suggested_filename.endswith(".txt")
        assert EVIL_VISITOR_LINE in saved and EVIL_QUESTION in saved

        for w in (rw, vw, aw):
            w.assert_clean()
    finally:
        for w in (rw, vw, aw):
            w.close()


# --------------------------------------------------------------------------- hostile CSS

STYLE_PROBE = """() => {
  const host = document.querySelector('desklink-help');
  const root = host.shadowRoot;
  const props = ['font-family', 'font-size', 'color', 'display', 'visibility', 'letter-spacing', 'line-height',
    'box-sizing', 'padding-top', 'margin-top', 'border-top-width', 'border-top-style', 'background-color',
    'transform', 'opacity', 'width', 'height', 'text-transform'];
  const pick = (el) => { const cs = getComputedStyle(el); return Object.fromEntries(props.map(p => [p, cs.getPropertyValue(p)])); };
  const out = { host: pick(host) };
  for (const id of ['launcher', 'panel', 'provider', 'name', 'question', 'submit', 'form']) {
    const el = root.querySelector(`[data-testid=${id}]`);
    if (el && el.getClientRects().length) out[id] = pick(el);
  }
  return out;
}"""


def _styles(page: Page, url: str) -> tuple[dict[str, Any], dict[str, Any]]:
    page.goto(url)
    box = page.locator("desklink-help")
    expect(box.get_by_test_id("launcher")).to_be_visible()
    closed = page.evaluate(STYLE_PROBE)
    box.get_by_test_id("launcher").click()
    expect(box.get_by_test_id("submit")).to_be_visible()
    opened = page.evaluate(STYLE_PROBE)
    return closed, opened


def test_hostile_host_css_does_not_reach_the_help_box(
    browser: Browser, server: ServerProcess, admin: AdminAPI, host_site: HostSite, unique: str
) -> None:
    make_queue(admin, host_site, unique, [("dan", "Dan")])
    plain, hostile, sample = Watched(browser), Watched(browser), Watched(browser)
    try:
        want = _styles(plain.page, host_site.page(unique))
        got = _styles(hostile.page, host_site.page(unique, hostile=True))
        assert got == want
        launcher = got[0]["launcher"]
        assert "Comic" not in launcher["font-family"]
        assert launcher["display"] != "none" and launcher["color"] == "rgb(255, 255, 255)"
        assert got[0]["host"]["transform"] == "none"
        # The hostile CSS is live on the page itself.
        page = hostile.page
        assert "Comic" in page.evaluate("getComputedStyle(document.querySelector('h1')).fontFamily")
        assert page.evaluate("getComputedStyle(document.getElementById('own')).display") == "none"
        box = page.locator("desklink-help").get_by_test_id("launcher")
        # (the launcher is hidden while the panel is open; reopen the page to measure it)
        page.reload()
        rect = box.bounding_box()
        assert rect is not None and rect["width"] > 80
        assert abs(page.viewport_size["width"] - (rect["x"] + rect["width"]) - 20) <= 1  # type: ignore[index]

        # The bundled sample page (served by DeskLink with its strict CSP).
        sp = sample.page
        sp.goto(server.url + "/")
        expect(sp.locator("desklink-help").get_by_test_id("launcher")).to_be_visible()
        assert "Comic" in sp.evaluate("getComputedStyle(document.querySelector('h1')).fontFamily")
        assert "Comic" not in sp.evaluate(
            "getComputedStyle(document.querySelector('desklink-help').shadowRoot.querySelector('[data-testid=launcher]')).fontFamily"
        )
        sp.locator("desklink-help").get_by_test_id("launcher").click()
        expect(sp.locator("desklink-help").get_by_test_id("provider")).not_to_have_text("Help")
        sp.screenshot(path="/tmp/desklink-e2e-sample.png")
        for w in (plain, hostile, sample):
            w.assert_clean()
    finally:
        for w in (plain, hostile, sample):
            w.close()


def _agent_join(server: ServerProcess, code: str) -> tuple[int, str] | str:
    """An agent's hello on its own loop (off the sync Playwright thread):
    the close code and reason, or the session id of the welcome."""
    import asyncio
    import json
    from concurrent.futures import ThreadPoolExecutor

    import websockets

    async def run() -> tuple[int, str] | str:
        async with websockets.connect(server.ws_url + "/ws/agent") as ws:
            await ws.send(json.dumps({"t": "hello", "code": code}))
            try:
                return str(json.loads(await asyncio.wait_for(ws.recv(), 10))["session_id"])
            except websockets.ConnectionClosed as closed:
                assert closed.rcvd is not None
                return closed.rcvd.code, closed.rcvd.reason

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run()).result()


def test_the_help_box_gets_a_fresh_screen_code_itself(
    browser: Browser, server: ServerProcess, admin: AdminAPI, host_site: HostSite, unique: str
) -> None:
    """A code that does not work (burned by guessers, mistyped, expired) is
    replaced from the help box, without the rep, while the rep's screen
    request is outstanding; the rep's console shows the new code too."""
    from desklink.protocol import joincode

    _, [(user, pw)] = make_queue(admin, host_site, unique, [("r", "Rita")])
    visitor, rep = Watched(browser), Watched(browser)
    try:
        box = open_widget(visitor.page, host_site.page(unique))
        ask(box, "Vera", "My screen looks wrong")
        console = console_login(rep, server, user, pw)
        sid, _chat = accept_first(console)
        expect(box.get_by_test_id("status")).to_have_attribute("data-state", "chatting")
        console.get_by_test_id("screen-request").click()

        card = box.get_by_test_id("screen-offer")
        expect(card.get_by_test_id("screen-offer-code")).to_have_text(re.compile(r"^\d{3} \d{3} \d{3}$"))
        old = card.get_by_test_id("screen-offer-code").inner_text()
        expect(card.get_by_test_id("screen-offer-renew")).to_have_text("New code")
        card.get_by_test_id("screen-offer-renew").click()

        expect(card.get_by_test_id("screen-offer-code")).not_to_have_text(old)
        new = box.get_by_test_id("screen-offer-code").inner_text()
        assert re.fullmatch(r"\d{3} \d{3} \d{3}", new)
        expect(box.get_by_test_id("screen-offer-command")).to_have_text(
            f"desklink agent --server {server.url} --code {new.replace(' ', '')}")
        # The agent's download page, with the new code.
        expect(box.get_by_test_id("screen-offer-download")).to_have_attribute(
            "href", f"{server.url}/download?code={new.replace(' ', '')}")
        expect(console.get_by_test_id("screen-code")).to_have_text(new)
        expect(box.locator("[data-testid=message][data-from=system]").last).to_contain_text(
            f"You asked for a new screen-sharing code: {new}.")

        assert _agent_join(server, old) == (4001, joincode.WRONG_CODE)
        assert _agent_join(server, new) == sid

        # The agent joined: the request is fulfilled; another click says what to do.
        box.get_by_test_id("screen-offer-renew").click()
        expect(box.get_by_test_id("screen-offer-renew-status")).to_have_text(
            "This screen request is over. Please ask the rep to request your screen again.")
        expect(box.get_by_test_id("screen-offer-code")).to_have_text(new)
        visitor.assert_clean()
        rep.assert_clean()
    finally:
        visitor.close()
        rep.close()


def test_the_rep_sees_the_visitors_system_and_browser(
    browser: Browser, server: ServerProcess, admin: AdminAPI, host_site: HostSite, unique: str
) -> None:
    """The help box sends a short summary ("Linux · Chromium 131"), never the
    whole User-Agent; the console shows it in the alert and the chat header."""
    _, [(user, pw)] = make_queue(admin, host_site, unique, [("r", "Rita")])
    visitor, rep = Watched(browser), Watched(browser)
    try:
        console = console_login(rep, server, user, pw)
        box = open_widget(visitor.page, host_site.page(unique))
        brand = visitor.page.evaluate(
            "navigator.userAgentData.brands.map(b => b.brand).includes('Google Chrome') ? 'Chrome' : 'Chromium'")
        major = visitor.page.evaluate("navigator.userAgent.match(/Chrome\\/(\\d+)/)[1]")
        ask(box, "Vera", "Which system am I on?")
        expect(console.get_by_test_id("alert-client")).to_have_text(f"Linux · {brand} {major}")
        accept_first(console)
        expect(console.get_by_test_id("chat-client")).to_have_text(f"Linux · {brand} {major}")
        visitor.assert_clean()
        rep.assert_clean()
    finally:
        visitor.close()
        rep.close()
