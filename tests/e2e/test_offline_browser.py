"""Offline messages and business hours in a real browser, with a real SMTP
server (aiosmtpd on loopback, started here):

* the admin sets a queue's business hours in the admin center so that it is
  closed now; the help box on the provider's page then shows the offline
  form (not the chat form, although a rep is online) and says when the desk
  opens; the visitor leaves a message, the copy reaches the SMTP server; the
  rep's open console shows the message at once (as text) with a count
  badge; the rep answers it and the answer reaches the SMTP server;
* open, but nobody online: the help box offers the message form and, on
  request, the chat form instead.
"""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from desklink.testing import ONE_ADDRESS_ENV, AdminAPI, ServerProcess, admin_center
from desklink.testing_mail import MailServer

from _pages import Watched

HostSite = Any  # tests/e2e/conftest.py:HostSite

pytestmark = pytest.mark.browser

expect.set_options(timeout=15_000)

#: Screenshots of each step, to look at (not compared).
SHOTS = Path(tempfile.gettempdir()) / "desklink-offline-shots"


@pytest.fixture(scope="module")
def mailbox() -> Iterator[MailServer]:
    with MailServer() as m:
        yield m


@pytest.fixture(scope="module")
def server(mailbox: MailServer) -> Iterator[ServerProcess]:
    env = {**ONE_ADDRESS_ENV, **mailbox.env, "DESKLINK_SMTP_FROM": "help@acme.example", "DESKLINK_PROVIDER_NAME": "Acme"}
    with ServerProcess(env=env) as srv:
        yield srv


def _shot(page: Page, name: str, **kwargs: Any) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"offline-{name}.png"), **kwargs)


def _console(page: Page, server: ServerProcess, username: str, password: str) -> None:
    page.goto(server.url + "/console")
    page.get_by_test_id("username").fill(username)
    page.get_by_test_id("password").fill(password)
    page.get_by_test_id("login").click()
    expect(page.get_by_test_id("connection")).to_have_attribute("data-state", "open")


def _text(m: Any) -> str:
    return str(m.get_content()).replace("\r\n", "\n")


def test_closed_hours_show_the_offline_form_and_the_message_is_answered_from_the_console(
    browser: Browser, server: ServerProcess, admin: AdminAPI, host_site: HostSite, mailbox: MailServer, unique: str
) -> None:
    queue = admin.queue(unique, origins=[host_site.origin])
    username, password = f"{unique}rita", "pw-" + secrets.token_hex(8)
    admin.members(queue["id"], [admin.user(username, password, display_name="Rita")["id"]])
    aw, vw, rw = Watched(browser), Watched(browser, viewport={"width": 900, "height": 900}), Watched(browser)
    try:
        # The admin closes the desk for yesterday, today and tomorrow (holidays).
        page = aw.page
        admin_center(page, server, "queues")
        card = page.locator(f'[data-testid=queue-row][data-slug="{unique}"]')
        expect(card.get_by_test_id("queue-hours-summary")).to_have_text("Always open")
        card.get_by_test_id("queue-edit").click()
        card.get_by_test_id("queue-hours-tz").fill("UTC")
        card.get_by_test_id("queue-hours-mon").fill("09:00-12:00, 13:00-17:00")
        card.get_by_test_id("queue-hours-mon").fill("99:00-12:00")
        card.get_by_test_id("queue-save").click()
        expect(card.locator(".form-error")).to_contain_text("not a time like")  # the server's words
        card.get_by_test_id("queue-hours-mon").fill("")
        today = datetime.now(UTC).date()
        days = [(today + timedelta(days=n)).isoformat() for n in (-1, 0, 1)]
        card.get_by_test_id("queue-hours-holidays").fill(", ".join(days))
        _shot(page, "admin-hours", full_page=True)
        card.get_by_test_id("queue-save").click()
        expect(card.get_by_test_id("queue-hours-summary")).to_contain_text("3 holidays")
        saved = next(q for q in admin.http.get("/api/admin/queues").json()["queues"] if q["slug"] == unique)
        assert saved["hours"] == {"tz": "UTC", "weekly": {}, "holidays": days}
        assert aw.errors == []

        # Rita is online (a closed desk takes no chats even so); her console has no messages yet.
        rep = rw.page
        _console(rep, server, username, password)
        rep.get_by_test_id("presence-toggle").click()
        expect(rep.get_by_test_id("presence-status")).to_have_attribute("data-status", "online")
        expect(rep.get_by_test_id("offline-count")).to_have_text("0")

        # The help box shows the offline form, says it is closed and when it opens.
        visitor = vw.page
        visitor.goto(host_site.page(unique))
        box = visitor.locator("desklink-help")
        box.get_by_test_id("launcher").click()
        offline = box.get_by_test_id("offline")
        expect(offline).to_be_visible()
        expect(offline).to_have_attribute("data-mode", "message")
        expect(box.get_by_test_id("form")).to_be_hidden()
        expect(box.get_by_test_id("availability")).to_have_attribute("data-online", "closed")
        expect(box.get_by_test_id("offline-intro")).to_contain_text("We are closed right now and open again")
        expect(box.get_by_test_id("offline-intro")).to_contain_text("answer you by e-mail")
        expect(box.get_by_test_id("offline-chat-anyway")).to_be_hidden()
        # The form checks before sending: the e-mail is required.
        box.get_by_test_id("offline-name").fill("Vera")
        box.get_by_test_id("offline-message").fill("<b>bold</b> My invoice is wrong.")
        box.get_by_test_id("offline-submit").click()
        expect(box.get_by_test_id("offline-error")).to_have_text("Please give your e-mail address, so that we can answer you.")
        box.get_by_test_id("offline-email").fill("vera@example.org")
        _shot(visitor, "help-box-closed")
        box.get_by_test_id("offline-submit").click()
        expect(box.get_by_test_id("offline-sent")).to_be_visible()
        expect(box.get_by_test_id("offline-sent")).to_contain_text("vera@example.org")
        expect(box.get_by_test_id("offline-copy")).to_have_attribute("data-sent", "true")
        _shot(visitor, "help-box-sent")
        copy = mailbox.wait_for(lambda m: m["To"] == "vera@example.org" and not str(m["Subject"]).startswith("Re:"))
        assert "<b>bold</b> My invoice is wrong." in _text(copy)
        assert "closed right now" in _text(copy)
        assert vw.errors == []

        # The rep's console is told at once (no reload, before its next poll), shows it as text, and she answers it.
        expect(rep.get_by_test_id("offline-count")).to_have_text("1")
        item = rep.get_by_test_id("offline-item")
        expect(item).to_have_count(1)
        expect(item).to_contain_text("Vera")
        item.click()
        dialog = rep.get_by_test_id("offline-dialog")
        expect(dialog.get_by_test_id("offline-body")).to_have_text("<b>bold</b> My invoice is wrong.")
        assert dialog.locator("b").count() == 0
        dialog.get_by_test_id("offline-answer").fill("We corrected your invoice, Vera.")
        _shot(rep, "console-dialog")
        dialog.get_by_test_id("offline-send").click()
        expect(dialog).to_have_count(0)
        answer = mailbox.wait_for(lambda m: m["To"] == "vera@example.org" and str(m["Subject"]).startswith("Re:"))
        assert _text(answer).startswith("We corrected your invoice, Vera.")
        assert answer["Subject"] == f"Re: Your message to Acme ({queue['name']})"
        expect(rep.get_by_test_id("offline-count")).to_have_text("0")
        expect(rep.get_by_test_id("offline-empty")).to_be_visible()
        assert rw.errors == []
    finally:
        aw.close()
        vw.close()
        rw.close()


def test_nobody_online_offers_a_message_or_the_chat(
    browser: Browser, server: ServerProcess, admin: AdminAPI, host_site: HostSite, unique: str
) -> None:
    admin.queue(unique, origins=[host_site.origin])
    vw = Watched(browser, viewport={"width": 900, "height": 900})
    try:
        visitor = vw.page
        visitor.goto(host_site.page(unique))
        box = visitor.locator("desklink-help")
        box.get_by_test_id("launcher").click()
        offline = box.get_by_test_id("offline")
        expect(offline).to_be_visible()
        expect(box.get_by_test_id("offline-intro")).to_have_text(
            "No one is online right now. Leave a message with your e-mail address and a person will answer you by e-mail."
        )
        expect(box.get_by_test_id("availability")).to_have_attribute("data-online", "no")
        _shot(visitor, "help-box-nobody")
        box.get_by_test_id("offline-chat-anyway").click()
        expect(offline).to_be_hidden()
        expect(box.get_by_test_id("form")).to_be_visible()
        expect(box.get_by_test_id("submit")).to_be_enabled()
        assert vw.errors == []
    finally:
        vw.close()


def test_the_offline_form_in_german(browser: Browser, server: ServerProcess, admin: AdminAPI, host_site: HostSite, unique: str) -> None:
    admin.queue(unique, origins=[host_site.origin])
    vw = Watched(browser, viewport={"width": 900, "height": 900}, locale="de-DE")
    try:
        visitor = vw.page
        visitor.goto(host_site.page(unique))
        box = visitor.locator("desklink-help")
        box.get_by_test_id("launcher").click()
        expect(box.get_by_test_id("offline-intro")).to_have_text(
            "Gerade ist niemand erreichbar. Hinterlassen Sie eine Nachricht mit Ihrer E-Mail-Adresse, "
            "und ein Mensch antwortet Ihnen per E-Mail."
        )
        expect(box.get_by_test_id("offline-submit")).to_have_text("Nachricht senden")
        box.get_by_test_id("offline-submit").click()
        expect(box.get_by_test_id("offline-error")).to_have_text("Bitte nennen Sie uns Ihren Namen.")
        _shot(visitor, "help-box-german")
        assert vw.errors == []
    finally:
        vw.close()


def test_the_pure_helpers_in_the_browser(browser: Browser, server: ServerProcess) -> None:
    """widget/offline.js decides between chat and message form from the
    config alone; admin/queue-hours.js turns the editor's text into hours."""
    w = Watched(browser, timezone_id="Europe/Berlin", locale="en-US")
    try:
        w.page.goto(server.url + "/console")
        got = w.page.evaluate(
            """async () => {
              const o = await import('/static/widget/offline.js');
              const q = await import('/static/admin/queue-hours.js');
              const desk = (open, online, email, next = null) =>
                ({ desk: { open, online_reps: online, next_opening: next, offline: { email } } });
              return {
                none: o.deskMode(null).mode,
                online: o.deskMode(desk(true, 2, true)).mode,
                nobodyMail: o.deskMode(desk(true, 0, true)),
                nobodyNoMail: o.deskMode(desk(true, 0, false)).mode,
                closedMail: o.deskMode(desk(false, 3, true, '2026-12-07T08:00:00Z')),
                closedNoMail: o.deskMode(desk(false, 0, false)).mode,
                soon: o.openingText('2026-12-07T08:00:00Z', new Date('2026-12-05T08:00:00Z')),
                far: o.openingText('2026-12-27T08:00:00Z', new Date('2026-12-05T08:00:00Z')),
                bad: o.openingText('not a date'),
                parsed: q.parseIntervals('09:00-12:30, 13:30 – 17:00;22:00-06:00'),
                empty: q.parseIntervals('  '),
                always: q.hoursSummary({}),
                summary: q.hoursSummary({ tz: 'Europe/Berlin', weekly: { mon: [['09:00', '17:00']] }, holidays: ['2026-12-25'] }),
                holidaysOnly: q.hoursSummary({ tz: 'UTC', weekly: {}, holidays: ['2026-12-25', '2026-12-26'] }),
              };
            }"""
        )
    finally:
        w.close()
    assert got["none"] == "chat" and got["online"] == "chat" and got["nobodyNoMail"] == "nobody"
    assert got["nobodyMail"] == {"mode": "message", "closed": False}
    assert got["closedMail"] == {"mode": "message", "closed": True, "next": "2026-12-07T08:00:00Z"}
    assert got["closedNoMail"] == "closed"
    assert got["soon"].startswith("Monday") and "December" not in got["soon"]
    assert got["far"].startswith("Sunday") and "December" in got["far"]
    assert got["bad"] == ""
    assert got["parsed"] == [["09:00", "12:30"], ["13:30", "17:00"], ["22:00", "06:00"]]
    assert got["empty"] == []
    assert got["always"] == ["Always open"]
    assert got["summary"] == ["Mon 09:00-17:00", "1 holiday", "Europe/Berlin"]
    assert got["holidaysOnly"] == ["Every day, all day", "2 holidays", "UTC"]
