"""The live board in Chromium: a new request shows up (waited for, never
timed), leaves when a rep accepts it, and the session then shows with the
rep, its mode and a Watch link; a supervisor sees only their queue's board.
Names are hostile text and stay text."""

from __future__ import annotations

import asyncio
import secrets
import threading
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import pytest
from playwright.sync_api import Browser, Page, expect

from desklink.testing import AdminAPI, RepClient, ServerProcess, VisitorClient, admin_center

pytestmark = pytest.mark.browser

expect.set_options(timeout=10_000)
T = TypeVar("T")


class Loop:
    """An asyncio loop on its own thread, for the async test clients."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="board-loop", daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 20.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def loop() -> Iterator[Loop]:
    lp = Loop()
    yield lp
    lp.close()


def _page(browser: Browser) -> tuple[Any, Page, list[str]]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
    return context, page, problems


def test_the_live_board_shows_a_new_request_and_drops_it_when_accepted(
    browser: Browser, server: ServerProcess, admin: AdminAPI, loop: Loop
) -> None:
    slug = "board" + secrets.token_hex(3)
    admin.queue(slug)
    (user, pw), = admin.reps(1, queue_slug=slug, prefix=slug)
    rep = loop.run(RepClient.connect(server, user, pw))
    context, page, problems = _page(browser)
    try:
        admin_center(page, server, "board")
        expect(page.get_by_test_id("view-board")).to_be_visible()
        expect(page.get_by_test_id("board-status")).to_have_text("Live")
        rep_row = page.locator(f'[data-testid=board-rep][data-user-id="{rep.welcome["user"]["id"]}"]')
        expect(rep_row.get_by_test_id("board-rep-status")).to_have_text("online")
        expect(rep_row.get_by_test_id("board-rep-load")).to_have_text("0")

        hostile = '<img src=x onerror="window.pwned=1">Zoë'
        visitor = loop.run(VisitorClient.submit(server, queue=slug, name=hostile))
        row = page.locator(f'[data-testid=board-waiting-row][data-request-id="{visitor.request_id}"]')
        expect(row).to_be_visible()
        expect(row.get_by_test_id("board-waiting-name")).to_have_text(hostile)
        card = page.locator("[data-testid=board-queue]", has_text=slug.title())
        expect(card.get_by_test_id("board-queue-waiting")).to_have_text("1")
        page.screenshot(path="/tmp/board-waiting.png", full_page=True)

        async def accept() -> str:
            await rep.expect("alert")
            await rep.send({"t": "accept", "request_id": visitor.request_id})
            return str((await rep.expect("accepted"))["session"]["id"])

        sid = loop.run(accept())
        expect(row).to_have_count(0)
        expect(card.get_by_test_id("board-queue-waiting")).to_have_text("0")
        session = page.locator(f'[data-testid=board-session][data-session-id="{sid}"]')
        expect(session.get_by_test_id("board-session-visitor")).to_have_text(hostile)
        expect(session.get_by_test_id("board-session-rep")).to_have_text("Rep 0")
        expect(session.get_by_test_id("board-session-modes")).to_have_text("Chat")
        expect(session.get_by_test_id("board-watch")).to_have_attribute("href", f"/console/?watch={sid}")
        expect(rep_row.get_by_test_id("board-rep-load")).to_have_text("1")
        page.screenshot(path="/tmp/board-session.png", full_page=True)
        assert page.evaluate("window.pwned") is None
        assert problems == []

        async def end() -> None:
            await rep.send({"t": "end", "session_id": sid, "disposition": "resolved", "note": ""})
            await visitor.expect("ended")

        loop.run(end())
        expect(session).to_have_count(0)
        expect(rep_row.get_by_test_id("board-rep-load")).to_have_text("0")
    finally:
        context.close()
        loop.run(rep.close())


def test_a_supervisor_sees_only_the_board_of_their_queues(browser: Browser, server: ServerProcess, admin: AdminAPI) -> None:
    mine, other = "bm" + secrets.token_hex(3), "bo" + secrets.token_hex(3)
    q = admin.queue(mine)
    admin.queue(other)
    name = "sup" + secrets.token_hex(3)
    sup = admin.user(name, "supervisor-password-1", role="supervisor", display_name="Sue")
    admin.members(q["id"], [sup["id"]])
    context, page, problems = _page(browser)
    try:
        page.goto(server.url + "/admin")
        page.get_by_test_id("username").fill(name)
        page.get_by_test_id("password").fill("supervisor-password-1")
        page.get_by_test_id("login").click()
        expect(page.get_by_test_id("view-board")).to_be_visible()
        expect(page.get_by_test_id("nav-users")).to_be_hidden()
        expect(page.get_by_test_id("board-queue")).to_have_count(1)
        expect(page.get_by_test_id("board-queue")).to_contain_text(mine.title())
        assert problems == []
    finally:
        context.close()
