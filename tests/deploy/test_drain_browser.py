"""The help box and the console in a real Chromium, through nginx in front of
three nodes: the node holding the help box's socket drains mid-chat (SIGTERM);
the help box and, if it was there too, the console get 4503, reconnect
through nginx to another node at once, and the chat goes on with every line
shown once, in seq order."""

from __future__ import annotations

import asyncio
import concurrent.futures
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _cluster import sockets_on, wait_node_gone
from playwright.sync_api import Page, expect, sync_playwright

from desklink.testing import AdminAPI, ServerProcess
from desklink.testing_balancers import NginxProcess

pytestmark = [pytest.mark.pg, pytest.mark.redis, pytest.mark.browser]

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


@pytest.fixture
def nginx(cluster: list[ServerProcess], tmp_path: Path) -> Iterator[NginxProcess]:
    ports = [n.port for n in cluster]
    proc = NginxProcess(tmp_path / "nginx", web=ports, screen=ports[:1], relays={"r1": ports[1], "r2": ports[2]})
    proc.start()
    yield proc
    proc.stop()


def _blocking(coro: Any) -> Any:
    """Run a coroutine to its end from this synchronous test (whose thread
    Playwright's own loop occupies), on a thread of its own."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _shown(scope: Any) -> list[tuple[str, str]]:
    rows = scope.locator("[data-testid=message][data-seq]").evaluate_all(
        "els => els.map(e => [e.dataset.from, e.querySelector('[data-testid=message-text]').textContent, Number(e.dataset.seq)])"
    )
    seqs = [r[2] for r in rows]
    assert seqs == sorted(set(seqs)), f"seqs out of order or shown twice: {seqs}"
    return [(r[0], r[1]) for r in rows if r[0] != "system"]


def test_the_help_box_and_console_move_when_their_node_drains(
    cluster: list[ServerProcess], nginx: NginxProcess, tmp_path: Path
) -> None:
    admin = AdminAPI(cluster[0])
    ((user, password),) = admin.reps(1, prefix="drainui")
    admin.close()
    url = nginx.via.url
    expect.set_options(timeout=20_000)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            rep_page: Page = browser.new_context(viewport={"width": 1280, "height": 820}).new_page()
            rep_page.goto(url + "/console")
            rep_page.get_by_test_id("username").fill(user)
            rep_page.get_by_test_id("password").fill(password)
            rep_page.get_by_test_id("login").click()
            expect(rep_page.get_by_test_id("connection")).to_have_attribute("data-state", "open")
            rep_page.get_by_test_id("presence-toggle").click()
            expect(rep_page.get_by_test_id("presence-status")).to_have_attribute("data-status", "online")

            visitor: Page = browser.new_context(viewport={"width": 1000, "height": 820}).new_page()
            errors: list[str] = []
            visitor.on("pageerror", lambda e: errors.append(str(e)))
            visitor.goto(url + "/")
            box = visitor.locator("desklink-help")
            box.get_by_test_id("launcher").click()
            box.get_by_test_id("name").fill("Ann")
            box.get_by_test_id("question").fill("Will you still hear me after a deploy?")
            box.get_by_test_id("submit").click()
            expect(box.get_by_test_id("status")).to_have_attribute("data-state", "waiting")

            rep_page.get_by_test_id("alert-accept").click()
            chat = rep_page.get_by_test_id("chat")
            expect(chat).to_be_visible()
            expect(box.get_by_test_id("status")).to_have_attribute("data-state", "chatting")
            chat.get_by_test_id("chat-input").fill("Hello Ann")
            chat.get_by_test_id("send").click()
            expect(box.locator("[data-testid=message][data-from=rep]")).to_have_count(1)

            victim = next(n for n in cluster if _blocking(sockets_on(n, "visitor")))
            assert victim.proc is not None
            victim.proc.send_signal(signal.SIGTERM)
            assert _blocking(wait_node_gone(victim)) == 0

            chat.get_by_test_id("chat-input").fill("Sent while your node drained")
            chat.get_by_test_id("send").click()
            expect(box.locator("[data-testid=message][data-from=rep]")).to_have_count(2)
            vin = box.get_by_test_id("chat-input")
            vin.fill("Still here")
            vin.press("Enter")
            expect(chat.locator("[data-testid=message][data-from=visitor]")).to_have_count(1)
            expect(box.locator("[data-testid=message][data-pending=true]")).to_have_count(0)

            expected = [("rep", "Hello Ann"), ("rep", "Sent while your node drained"), ("visitor", "Still here")]
            assert _shown(box) == expected
            assert _shown(chat) == expected
            assert errors == []
            visitor.screenshot(path=str(tmp_path / "drain-help-box.png"))
            rep_page.screenshot(path=str(tmp_path / "drain-console.png"))
        finally:
            browser.close()
