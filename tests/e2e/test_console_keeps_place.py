"""The console keeps its place across a reload, and the viewer bar keeps its layout.

A reload of the rep console (same tab, so the same sessionStorage) brings
the rep back online without a click and re-attaches the screen viewer of a
chat whose share is still live; a viewer whose share ended is not brought
back; a rep who was away stays away. The screen is shared from the help box
(the harness of test_browser_share.py: the visitor's Chromium on Xvfb).

The viewer's bar keeps its height, and the picture its place, while the
readout's numbers change (sampled in the page at each readout update).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from desklink.testing import AdminAPI, ServerProcess, poll_until
from desklink.testing_x import XDisplay

from test_browser_share import ShareScene, display, page_sleep, visitor_browser, wait_for_picture  # noqa: F401 (fixtures)

HostSite = Any  # tests/e2e/conftest.py:HostSite

pytestmark = pytest.mark.browser

expect.set_options(timeout=20_000)

SCREENS_KEY = "desklink.console.screens"
#: Readout updates sampled for the bar's layout (one every 500 ms in viewer.js).
SAMPLES = 8


def shot(page: Page, name: str) -> None:
    where = os.environ.get("DESKLINK_E2E_SHOTS", "")
    if where:
        os.makedirs(where, exist_ok=True)
        page.screenshot(path=os.path.join(where, f"{name}.png"))


@pytest.fixture
def scene(browser: Browser, visitor_browser: Browser, server: ServerProcess, admin: AdminAPI,  # noqa: F811 (fixture)
          host_site: HostSite, unique: str) -> Iterator[ShareScene]:
    s = ShareScene(browser, visitor_browser, server, admin, host_site, unique)
    yield s
    s.close()


def stored_screens(page: Page) -> list[str]:
    return list(page.evaluate("(key) => JSON.parse(sessionStorage.getItem(key) || '[]')", SCREENS_KEY))


def round_trip(scene: ShareScene, text: str) -> None:
    """A chat line from the rep, seen by the visitor: every message the console
    sent before it (a presence change among them) has been handled."""
    scene.chat.get_by_test_id("chat-input").fill(text)
    scene.chat.get_by_test_id("send").click()
    expect(scene.box.get_by_test_id("messages")).to_contain_text(text)


def test_reload_keeps_online_and_reattaches_a_live_share(scene: ShareScene, display: XDisplay) -> None:  # noqa: F811
    rep = scene.rep
    scene.request_and_share()
    expect(scene.screen).to_have_attribute("data-frames", re.compile(r"^[1-9]"))
    assert stored_screens(rep) == [scene.session_id]

    # Reload mid-share: online again without a click, the viewer back with the live picture.
    rep.reload()
    expect(rep.get_by_test_id("presence-status")).to_have_attribute("data-status", "online")
    expect(rep.get_by_test_id("presence-toggle")).to_have_text("Go away")
    expect(scene.chat).to_be_visible()
    expect(scene.screen).to_be_visible()
    expect(scene.status()).to_have_text("Sharing from the browser (view only)")
    expect(scene.screen).to_have_attribute("data-frames", re.compile(r"^[1-9]"))
    wait_for_picture(scene, display, rep, "after the reload")
    first = scene.frames()
    poll_until(lambda: scene.frames() > first, 20, "frames keep coming after the reload", interval=0.2, sleep=page_sleep(rep))
    assert stored_screens(rep) == [scene.session_id]
    # Nobody was asked again: the visitor's share went on untouched.
    expect(scene.box.get_by_test_id("share-indicator")).to_be_visible()
    expect(scene.box.get_by_test_id("screen-offer")).to_be_hidden()
    # While the visitor shares, asking again is not offered.
    expect(scene.chat.get_by_test_id("screen-request")).to_be_hidden()
    shot(rep, "keepplace-after-reload")

    # The visitor stops; after another reload the viewer of the ended share stays closed.
    scene.box.get_by_test_id("share-stop").click()
    expect(scene.status()).to_contain_text("Sharing stopped")
    rep.reload()
    expect(rep.get_by_test_id("presence-status")).to_have_attribute("data-status", "online")
    expect(scene.chat).to_be_visible()
    poll_until(lambda: stored_screens(rep) == [], 20, "the ended share forgotten", interval=0.2, sleep=page_sleep(rep))
    expect(scene.screen).to_be_hidden()
    expect(scene.chat.get_by_test_id("screen-request")).to_be_visible()

    # Away before a reload stays away after it.
    rep.get_by_test_id("presence-toggle").click()
    expect(rep.get_by_test_id("presence-status")).to_have_attribute("data-status", "away")
    rep.reload()
    expect(scene.chat).to_be_visible()
    round_trip(scene, "Still here, just away from the queue.")
    expect(rep.get_by_test_id("presence-status")).to_have_attribute("data-status", "away")
    expect(rep.get_by_test_id("presence-toggle")).to_have_text("Go online")


SAMPLE_BAR = """async ({ samples }) => {
    const screen = document.querySelector('[data-testid=chat]:not([hidden]) [data-testid=screen]');
    const bar = screen.querySelector('.screen-bar');
    const stats = screen.querySelector('[data-testid=screen-stats]');
    const canvas = screen.querySelector('[data-testid=screen-canvas]');
    const out = [];
    const take = () => {
        const b = bar.getBoundingClientRect(), c = canvas.getBoundingClientRect(), s = stats.getBoundingClientRect();
        out.push({ text: stats.textContent, barHeight: b.height, canvasTop: c.top, canvasLeft: c.left,
                   statsWidth: s.width, statsTop: s.top, statsHeight: s.height });
    };
    take();
    await new Promise((resolve) => {
        const seen = new MutationObserver(() => { take(); if (out.length >= samples) { seen.disconnect(); resolve(); } });
        seen.observe(stats, { childList: true, characterData: true, subtree: true });
    });
    return out;
}"""


@pytest.mark.parametrize("width", [1400, 900])
def test_the_viewer_bar_keeps_its_layout_while_the_readout_changes(scene: ShareScene, width: int) -> None:
    rep = scene.rep
    rep.set_viewport_size({"width": width, "height": 900})
    scene.request_and_share()
    expect(scene.screen).to_have_attribute("data-frames", re.compile(r"^[1-9]"))
    expect(scene.screen.get_by_test_id("screen-stats")).to_contain_text("fps")
    # Widely different readouts: a still screen, then a busy one (latency and intervals come and go).
    samples = rep.evaluate(SAMPLE_BAR, {"samples": SAMPLES})
    shot(rep, f"keepplace-bar-{width}")
    texts = {s["text"] for s in samples}
    assert len(texts) >= 2, samples
    for key in ("barHeight", "canvasTop", "canvasLeft", "statsWidth", "statsTop", "statsHeight"):
        values = {round(s[key], 2) for s in samples}
        assert len(values) == 1, (key, samples)
