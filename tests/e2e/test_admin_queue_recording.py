"""The admin center's queue recording policy in a real browser: set it in
the queue editor, see it on the card and read it back from the API."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from desklink.testing import AdminAPI, ServerProcess, admin_center

pytestmark = pytest.mark.browser

expect.set_options(timeout=10_000)


def _queue(admin: AdminAPI, slug: str) -> dict[str, Any]:
    return next(q for q in admin.http.get("/api/admin/queues").json()["queues"] if q["slug"] == slug)


def test_admin_sets_a_queue_recording_policy(browser: Browser, server: ServerProcess, admin: AdminAPI, unique: str) -> None:
    slug = f"rec-{unique}"
    admin.queue(slug)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page: Page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    try:
        admin_center(page, server, "queues")
        card = page.locator(f'[data-testid=queue-row][data-slug="{slug}"]')
        summary = card.get_by_test_id("queue-recording-summary")
        expect(summary).to_have_text("Never")

        card.get_by_test_id("queue-edit").click()
        select = card.get_by_test_id("queue-recording")
        expect(select).to_have_value("never")
        select.select_option("on_request")
        card.get_by_test_id("queue-save").click()
        expect(summary).to_have_text("When the rep presses Record")
        expect(summary).to_have_attribute("data-policy", "on_request")
        assert _queue(admin, slug)["recording"] == "on_request"
        entry = admin.http.get("/api/admin/audit").json()["entries"][0]
        assert (entry["action"], entry["data"]) == ("queue.recording", {"from": "never", "to": "on_request"})

        # Reopened, the editor shows what was saved; "always" goes through too.
        card.get_by_test_id("queue-edit").click()
        expect(select).to_have_value("on_request")
        select.select_option("always")
        card.get_by_test_id("queue-save").click()
        expect(summary).to_have_text("Always, from the moment sharing starts")
        assert _queue(admin, slug)["recording"] == "always"
        assert problems == []
    finally:
        context.close()
