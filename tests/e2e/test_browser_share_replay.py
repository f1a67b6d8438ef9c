"""A browser share, recorded and replayed, in real browsers: the visitor
shares from the help box (the scene of test_browser_share.py: Xvfb, the
visitor's Chromium capturing it, the rep's console) in a queue that records
always; a red window is on the screen from the start and a green one opens
over it late in the share. The admin then opens the session in the Session
View: the picture at the end is the live viewer's last one (green), seeking
to the middle paints that moment (red: the green window came later), and a
2x replay from the start plays to the end and shows the green window again.

The recording holds the share's video chunks (screen message kind 4), so
this is the replay of WebCodecs video: seeking must start at a key chunk and
the decoder must restart there whatever it decoded before.

Tolerance: the chunks are lossy video, compared as in test_browser_share.py
(:data:`TOLERANCE`, a mean over the part of the screen the visitor's own
browser does not cover); single points are compared per channel within 40.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator

import numpy as np
import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from desklink.testing import ONE_ADDRESS_ENV, AdminAPI, ServerProcess, poll_until, admin_center
from desklink.testing_x import XDisplay

from test_browser_share import (  # noqa: F401 - fixtures
    DESKTOP,
    GREEN,
    RED,
    REGION,
    TOLERANCE,
    HostSite,
    ShareScene,
    colour_window,
    display,
    mean_diff,
    page_sleep,
    visitor_browser,
)

pytestmark = pytest.mark.browser

expect.set_options(timeout=20_000)

#: Where the coloured windows are (row, column on the 1280x800 screen), and a point of bare desktop.
WINDOW_AT = (150, 900)
DESKTOP_AT = (700, 1200)


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    """Segments of a second, so a short share spans several and seeking has somewhere to go."""
    with ServerProcess(env={**ONE_ADDRESS_ENV, "DESKLINK_RECORDING_SEGMENT_S": "1"}) as srv:
        yield srv


@pytest.fixture
def scene(browser: Browser, visitor_browser: Browser, server: ServerProcess, admin: AdminAPI, host_site: HostSite,  # noqa: F811
          unique: str) -> Iterator[ShareScene]:
    s = ShareScene(browser, visitor_browser, server, admin, host_site, unique)
    queue = next(q for q in admin.http.get("/api/admin/queues").json()["queues"] if q["slug"] == unique)
    admin.http.patch(f"/api/admin/queues/{queue['id']}", json={"recording": "always"}).raise_for_status()
    yield s
    s.close()


def _near(pixel: np.ndarray, rgb: tuple[int, int, int]) -> bool:
    return int(np.abs(pixel.astype(int) - rgb).max()) < 40


def _replayed(view: Locator) -> np.ndarray:
    """The Session View's canvas as RGB."""
    shot = view.get_by_test_id("replay-screen").evaluate(
        """(c) => {
            const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let bin = '';
            for (let i = 0; i < px.length; i += 0x8000) bin += String.fromCharCode.apply(null, px.subarray(i, i + 0x8000));
            return { width: c.width, height: c.height, b64: btoa(bin) };
        }"""
    )
    rgba = np.frombuffer(base64.b64decode(shot["b64"]), dtype=np.uint8)
    return rgba.reshape(shot["height"], shot["width"], 4)[:, :, :3]


def _seek(view: Locator, t: int) -> None:
    view.get_by_test_id("replay-seek").evaluate("(el, v) => { el.value = v; el.dispatchEvent(new Event('input')); }", t)
    expect(view).to_have_attribute("data-position", str(t))


def _record(scene: ShareScene, server: ServerProcess, admin: AdminAPI, display: XDisplay) -> np.ndarray:  # noqa: F811
    """Share with red on screen, open green late, stop; the live viewer's last picture."""
    sid = scene.session_id
    red = colour_window(display, "replay-red", RED, "40x12+700+80")
    green = None
    try:
        scene.request_and_share()
        expect(scene.screen).to_have_attribute("data-frames", re.compile(r"^[1-9]"))
        poll_until(lambda: _near(scene.pixels()[WINDOW_AT], RED), 20, "red in the live viewer",
                   interval=0.2, sleep=page_sleep(scene.rep))

        def segments() -> int:
            return len(admin.http.get(f"/api/sessions/{sid}/recording").json().get("segments", []))

        poll_until(lambda: segments() >= 5 or None, 60, "five segments of red", interval=0.3, sleep=page_sleep(scene.rep))
        green = colour_window(display, "replay-green", GREEN, "40x12+700+80")
        poll_until(lambda: _near(scene.pixels()[WINDOW_AT], GREEN), 20, "green in the live viewer",
                   interval=0.2, sleep=page_sleep(scene.rep))
        live = scene.pixels().copy()
        seen = segments()
        poll_until(lambda: segments() >= seen + 1 or None, 30, "a segment with green", interval=0.3, sleep=page_sleep(scene.rep))
        live = scene.pixels().copy()
        scene.box.get_by_test_id("share-stop").click()
        expect(scene.status()).to_contain_text("Sharing stopped")
        poll_until(lambda: admin.http.get(f"/api/sessions/{sid}/recording").json().get("status") == "done" or None, 30,
                   "the recording closed", interval=0.3, sleep=page_sleep(scene.rep))
        return live
    finally:
        if green is not None:
            green.terminate()
        red.terminate()


def _open_session_view(page: Page, server: ServerProcess, sid: str) -> Locator:
    admin_center(page, server, "sessions")
    page.locator(f'[data-testid=session-row][data-session-id="{sid}"]').click()
    view = page.get_by_test_id("session-view")
    expect(view.get_by_test_id("replay-status")).to_contain_text("Recording verified")
    return view


def test_a_recorded_browser_share_replays(
    scene: ShareScene, browser: Browser, server: ServerProcess, admin: AdminAPI, display: XDisplay,  # noqa: F811
) -> None:
    live = _record(scene, server, admin, display)
    assert _near(live[WINDOW_AT], GREEN) and _near(live[DESKTOP_AT], DESKTOP)

    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    try:
        view = _open_session_view(page, server, str(scene.session_id))
        duration = int(view.get_by_test_id("replay-seek").get_attribute("max") or 0)
        assert duration > 3000, duration
        # The recorder asked the share for key chunks as segments opened: the
        # middle is painted from one after the start, not from the first chunk.
        index = admin.http.get(f"/api/sessions/{scene.session_id}/recording").json()
        keys = [s["first_key_t_ms"] for s in index["segments"] if s["first_key_t_ms"] is not None]
        assert any(0 < k <= duration // 2 for k in keys[1:]), keys

        # The end: the live viewer's last picture.
        _seek(view, duration)
        end = _replayed(view)
        assert end.shape == live.shape, (end.shape, live.shape)
        assert mean_diff(end[REGION], live[REGION]) < TOLERANCE
        assert _near(end[WINDOW_AT], GREEN), end[WINDOW_AT]

        # The middle, after the end (a seek backwards): red, the green window came later.
        _seek(view, duration // 2)
        middle = _replayed(view)
        assert _near(middle[WINDOW_AT], RED), middle[WINDOW_AT]
        assert _near(middle[DESKTOP_AT], DESKTOP), middle[DESKTOP_AT]

        # 2x from the start plays to the end, decoding on from the key chunk it started at.
        _seek(view, 0)
        view.get_by_test_id("replay-speed").select_option("2")
        view.get_by_test_id("replay-play").click()
        expect(view).to_have_attribute("data-playing", "true")
        expect(view).to_have_attribute("data-playing", "false", timeout=120_000)
        expect(view).to_have_attribute("data-position", str(duration))
        expect(view.get_by_test_id("replay-status")).to_contain_text("Recording verified")
        again = _replayed(view)
        assert mean_diff(again[REGION], live[REGION]) < TOLERANCE
        assert _near(again[WINDOW_AT], GREEN), again[WINDOW_AT]
        assert not problems, problems
    finally:
        context.close()
