"""Canned replies and internal notes in a real browser (issue 14): an admin
adds a queue reply with ``{visitor_name}`` in the admin center; a rep in a
live chat types ``/`` and part of its name, picks it and sends; the help box
shows the text with the visitor's name filled in, a script-like body as
text. The rep's own replies come from the console's Replies dialog. A note
added in the console shows in the admin's session detail and never in the
help box."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from desklink.testing import AdminAPI, ServerProcess, admin_center
from test_help_flow import Watched, accept_first, ask, console_login, make_queue, open_widget

pytestmark = pytest.mark.browser

expect.set_options(timeout=15_000)

BODY = 'Hello {visitor_name}, <img src=x onerror="window.__pwned=1"> your refund is on its way. – {rep_name}'
NOTE = 'Asked twice; <script>window.__pwned=2</script> refund ref R-77'


def test_canned_reply_and_note(
    browser: Browser, server: ServerProcess, admin: AdminAPI, host_site: Any, unique: str
) -> None:
    queue, ((user, pw),) = make_queue(admin, host_site, unique, [("robin", "Robin")])
    aw, rw, vw = Watched(browser), Watched(browser), Watched(browser)
    try:
        # The admin adds the queue's reply in the admin center.
        ap = aw.page
        admin_center(ap, server, "canned")
        view = ap.get_by_test_id("view-canned")
        view.get_by_test_id("canned-queue").select_option(str(queue["id"]))
        expect(view.get_by_test_id("canned-table")).to_contain_text("No canned replies in this queue yet.")
        view.get_by_test_id("canned-name").fill("refund")
        view.get_by_test_id("canned-title").fill("Refund on its way")
        view.get_by_test_id("canned-body").fill(BODY)
        view.get_by_test_id("canned-save").click()
        row = view.locator("[data-testid=canned-row][data-name=refund]")
        expect(row).to_contain_text("Refund on its way")
        expect(row.locator(".canned-text")).to_have_text(BODY)
        ap.screenshot(path="/tmp/canned-admin.png")

        # A rep with a chat; their own reply from the Replies dialog.
        rep = console_login(rw, server, user, pw)
        rep.get_by_test_id("my-replies-open").click()
        dialog = rep.get_by_test_id("replies-dialog")
        dialog.get_by_test_id("reply-name").fill("thanks")
        dialog.get_by_test_id("reply-title").fill("Thanks")
        dialog.get_by_test_id("reply-body").fill("Thanks for waiting, {visitor_name}!")
        dialog.get_by_test_id("reply-save").click()
        expect(dialog.locator("[data-testid=my-reply][data-name=thanks]")).to_be_visible()
        rep.screenshot(path="/tmp/canned-replies-dialog.png")
        dialog.get_by_test_id("replies-close").click()
        expect(dialog).to_have_count(0)

        box = open_widget(vw.page, host_site.page(unique))
        ask(box, "Ann", "Where is my refund?")
        sid, chat = accept_first(rep)
        rin = chat.get_by_test_id("chat-input")
        picker = chat.get_by_test_id("canned-picker")

        # "/" lists both; Esc closes; "/ref" narrows to the queue's reply.
        rin.press_sequentially("/")
        expect(picker.get_by_test_id("canned-option")).to_have_count(2)
        rin.press("Escape")
        expect(picker).to_be_hidden()
        rin.fill("")
        rin.press_sequentially("/ref")
        options = picker.get_by_test_id("canned-option")
        expect(options).to_have_count(1)
        expect(options.first).to_have_attribute("data-name", "refund")
        rep.screenshot(path="/tmp/canned-picker.png")
        rin.press("Enter")  # picks; does not send
        filled = BODY.replace("{visitor_name}", "Ann").replace("{rep_name}", "Robin")
        expect(rin).to_have_value(filled)
        expect(picker).to_be_hidden()
        expect(box.locator("[data-testid=message][data-from=rep]")).to_have_count(0)
        rin.press("Enter")  # sends
        shown = box.locator("[data-testid=message][data-from=rep] [data-testid=message-text]")
        expect(shown).to_have_text(filled)
        assert box.locator("img").count() == 0
        assert vw.page.evaluate("window.__pwned") is None
        assert rep.evaluate("window.__pwned") is None

        # Arrow keys and Tab: "/" then down to the rep's own reply, edited before sending.
        rin.press_sequentially("/")
        expect(picker.get_by_test_id("canned-option")).to_have_count(2)
        rin.press("ArrowDown")
        expect(picker.locator("[data-testid=canned-option].active")).to_have_attribute("data-name", "thanks")
        rin.press("Tab")
        expect(rin).to_have_value("Thanks for waiting, Ann!")
        rin.press_sequentially(" :)")
        rin.press("Enter")
        expect(shown).to_have_text([filled, "Thanks for waiting, Ann! :)"])

        # An internal note beside the chat.
        notes = chat.get_by_test_id("notes")
        notes.get_by_test_id("note-input").fill(NOTE)
        notes.get_by_test_id("note-add").click()
        expect(notes.get_by_test_id("note-body")).to_have_text([NOTE])
        rep.screenshot(path="/tmp/canned-console.png")

        # The admin reads it in the session detail; the help box never shows it.
        ap.get_by_test_id("nav-sessions").click()
        ap.locator(f'[data-testid=session-row][data-session-id="{sid}"]').click()
        detail = ap.get_by_test_id("session-detail")
        expect(detail.get_by_test_id("detail-notes").get_by_test_id("detail-note-item")).to_have_count(1)
        expect(detail.get_by_test_id("detail-notes")).to_contain_text(NOTE)
        expect(detail.get_by_test_id("detail-notes")).to_contain_text("Robin")
        ap.screenshot(path="/tmp/canned-admin-detail.png", full_page=True)
        # a last line, so the visitor has caught up past the note
        rin.fill("anything else?")
        rin.press("Enter")
        expect(shown).to_have_count(3)
        assert "refund ref R-77" not in box.inner_text()
        assert "refund ref R-77" not in vw.page.content()
        for page in (ap, rep, vw.page):
            assert page.evaluate("window.__pwned") is None
        for w in (aw, rw, vw):
            assert w.errors == []
    finally:
        for w in (aw, rw, vw):
            w.close()
