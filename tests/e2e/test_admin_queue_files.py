"""The admin center's queue file policy in a real browser: set it in the
queue editor, read it back from the API and on the page, and see a bad value
refused with the server's words."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from desklink.testing import ONE_ADDRESS_ENV, AdminAPI, ServerProcess

pytestmark = pytest.mark.browser

expect.set_options(timeout=10_000)

SERVER_MAX_BYTES = 100 * 1024 * 1024  # 100 MB: the ceiling the page shows and the server enforces
SERVER_MAX_FILES = 40


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    env = {
        **ONE_ADDRESS_ENV,
        "DESKLINK_MAX_FILE_BYTES": str(SERVER_MAX_BYTES),
        "DESKLINK_MAX_FILES_PER_SESSION": str(SERVER_MAX_FILES),
    }
    with ServerProcess(env=env) as srv:
        yield srv


def _policy(admin: AdminAPI, slug: str) -> dict[str, Any]:
    queue = next(q for q in admin.http.get("/api/admin/queues").json()["queues"] if q["slug"] == slug)
    return dict(queue["files"])


def test_admin_sets_a_queue_file_policy(browser: Browser, server: ServerProcess, admin: AdminAPI, unique: str) -> None:
    slug = f"files-{unique}"
    admin.queue(slug)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page: Page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
    try:
        page.goto(server.url + "/admin")
        page.get_by_test_id("username").fill("admin")
        page.get_by_test_id("password").fill(server.admin_password)
        page.get_by_test_id("login").click()
        page.get_by_test_id("nav-queues").click()
        card = page.locator(f'[data-testid=queue-row][data-slug="{slug}"]')
        expect(card.get_by_test_id("queue-files-summary")).to_contain_text("Largest file: server limit (100 MB)")

        card.get_by_test_id("queue-edit").click()
        files = card.get_by_test_id("queue-files")
        expect(files.get_by_test_id("queue-files-to-visitor")).to_be_checked()
        expect(files).to_contain_text("100 MB, 40 files")
        files.get_by_test_id("queue-files-from-visitor").uncheck()
        files.get_by_test_id("queue-files-max-size").fill("25")
        files.get_by_test_id("queue-files-max-size-unit").select_option("MB")
        files.get_by_test_id("queue-files-max-count").fill("12")
        files.get_by_test_id("queue-files-blocked").fill("EXE, .bat msi")
        card.get_by_test_id("queue-save").click()
        expect(card.get_by_test_id("queue-files-summary")).to_contain_text("From the visitor: not allowed")
        expect(card.get_by_test_id("queue-files-summary")).to_contain_text("Largest file: 25 MB")
        expect(card.get_by_test_id("queue-files-summary")).to_contain_text("Blocked: .bat .exe .msi")
        assert _policy(admin, slug) == {
            "to_visitor": True,
            "from_visitor": False,
            "max_file_bytes": 25 * 1024 * 1024,
            "max_files_per_session": 12,
            "blocked_extensions": ["bat", "exe", "msi"],
        }

        # Reopened, the editor shows what was saved.
        card.get_by_test_id("queue-edit").click()
        expect(files.get_by_test_id("queue-files-max-size")).to_have_value("25")
        expect(files.get_by_test_id("queue-files-max-size-unit")).to_have_value("MB")
        expect(files.get_by_test_id("queue-files-max-count")).to_have_value("12")
        expect(files.get_by_test_id("queue-files-blocked")).to_have_value("bat, exe, msi")
        expect(files.get_by_test_id("queue-files-from-visitor")).not_to_be_checked()

        # Past the server's limit: refused with the server's words, nothing changes.
        files.get_by_test_id("queue-files-max-size").fill("101")
        card.get_by_test_id("queue-save").click()
        expect(card.get_by_test_id("queue-edit-form").locator(".form-error")).to_contain_text("max_file_bytes must be from 0")
        # Not a number: refused by the page before asking.
        files.get_by_test_id("queue-files-max-count").fill("-3")
        files.get_by_test_id("queue-files-max-size").fill("1")
        card.get_by_test_id("queue-save").click()
        expect(card.get_by_test_id("queue-edit-form").locator(".form-error")).to_contain_text("Files per session must be a whole number")
        assert _policy(admin, slug)["max_file_bytes"] == 25 * 1024 * 1024

        # The change is in the audit log, in words.
        page.get_by_test_id("nav-audit").click()
        expect(page.get_by_text(f"changed the file policy of the queue {slug}").first).to_be_visible()
        assert problems == []
    finally:
        context.close()
