"""No silent watching, in real browsers: while the visitor shares from the
help box, a supervisor who watches (a real viewer socket) is named with
their role on the help box's sharing bar, and the name goes when they stop.
The scene (Xvfb, the visitor's Chromium on it, the rep's console) is
test_browser_share.py's; the supervisor is a ViewerClient on its own event
loop, since Playwright's sync API owns this thread."""

from __future__ import annotations

import asyncio
import re
import secrets
import threading
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import pytest
from playwright.sync_api import Browser, expect

from desklink.testing import AdminAPI, ServerProcess, ViewerClient
from desklink.testing_x import XDisplay

from test_browser_share import HostSite, ShareScene, display, shot, visitor_browser  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser

expect.set_options(timeout=20_000)

T = TypeVar("T")


class Loop:
    """An asyncio loop on its own thread, for the async test clients."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="watcher-loop", daemon=True)
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


@pytest.fixture
def scene(browser: Browser, visitor_browser: Browser, server: ServerProcess, admin: AdminAPI, host_site: HostSite,  # noqa: F811
          unique: str) -> Iterator[ShareScene]:
    s = ShareScene(browser, visitor_browser, server, admin, host_site, unique)
    yield s
    s.close()


def test_the_help_box_names_who_watches_and_drops_the_name_when_they_leave(
    scene: ShareScene, server: ServerProcess, admin: AdminAPI, unique: str, loop: Loop, display: XDisplay  # noqa: F811
) -> None:
    password = "pw-" + secrets.token_hex(8)
    sue = admin.user(f"{unique}sue", password, role="supervisor", display_name="Sue")
    scene.request_and_share()
    admin.join_session_queue(str(scene.session_id), sue["id"])
    expect(scene.screen).to_have_attribute("data-frames", re.compile(r"^[1-9]"))
    watching = scene.box.get_by_test_id("share-watchers")
    expect(watching).to_be_hidden()

    watcher: ViewerClient | None = loop.run(ViewerClient.connect(server, sue["username"], password, str(scene.session_id)))
    try:
        expect(watching).to_be_visible()
        expect(watching).to_have_text("Sue (supervisor) is watching")
        expect(scene.box.get_by_test_id("share-indicator-text")).to_have_text("Sharing your screen with Rita")
        shot(scene.visitor, "share-watched")
        assert watcher is not None
        loop.run(watcher.close())
        watcher = None
        expect(watching).to_be_hidden()
        expect(watching).to_have_text("")
    finally:
        if watcher is not None:
            loop.run(watcher.close())
