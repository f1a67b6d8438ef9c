"""Searching sessions in the admin center in a real browser: words said in
the chat find the session and show the message that holds them; the queue,
outcome and "had screen" narrow; a search with no hit says so; Clear lists
everything again."""

from __future__ import annotations

import asyncio
import secrets
from concurrent.futures import ThreadPoolExecutor

import pytest
from playwright.sync_api import Browser, expect

from desklink.testing import AdminAPI, RepClient, ServerProcess, ended_session, admin_center

pytestmark = pytest.mark.browser

expect.set_options(timeout=10_000)


def _seed(server: ServerProcess, admin: AdminAPI, u: str) -> tuple[str, str]:
    queue = admin.queue(u)
    (user, pw), = admin.reps(1, queue_slug=u, prefix=u + "rep")
    assert queue["slug"] == u

    async def run() -> tuple[str, str]:
        rep = await RepClient.connect(server, user, pw)
        try:
            a = await ended_session(server, rep, u, "Carla Jones", "carla@example.com", f"my printer {u} jams", "resolved")
            b = await ended_session(server, rep, u, "Dan", "dan@example.com", f"the mouse {u} is slow", "escalated")
            return a, b
        finally:
            await rep.close()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run()).result()


def test_admin_finds_a_session_by_what_was_said(browser: Browser, server: ServerProcess, admin: AdminAPI) -> None:
    u = "find" + secrets.token_hex(3)
    printer, mouse = _seed(server, admin, u)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    try:
        admin_center(page, server, "sessions")
        rows = page.get_by_test_id("session-row")
        expect(rows.first).to_be_visible()

        form = page.get_by_test_id("sessions-search")
        form.get_by_test_id("search-words").fill(f"PRINTER {u}")
        form.get_by_test_id("search-go").click()
        expect(rows).to_have_count(1)
        expect(rows.first).to_have_attribute("data-session-id", printer)
        expect(rows.first.get_by_test_id("session-match")).to_contain_text(f"my printer {u} jams")
        page.screenshot(path="/tmp/desklink-admin-search.png")

        form.get_by_test_id("search-words").fill("")
        form.get_by_test_id("search-queue").select_option(u)
        form.get_by_test_id("search-outcome").select_option("escalated")
        form.get_by_test_id("search-go").click()
        expect(rows).to_have_count(1)
        expect(rows.first).to_have_attribute("data-session-id", mouse)

        form.get_by_test_id("search-had-screen").check()  # chat only: nothing had a screen
        form.get_by_test_id("search-go").click()
        expect(page.get_by_text("No session matches this search.")).to_be_visible()

        form.get_by_test_id("search-clear").click()
        expect(page.locator(f'[data-testid=session-row][data-session-id="{printer}"]')).to_be_visible()
        expect(page.locator(f'[data-testid=session-row][data-session-id="{mouse}"]')).to_be_visible()
        assert not problems, problems
    finally:
        context.close()
