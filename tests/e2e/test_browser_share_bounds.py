"""The help box keeps its chunks within the server's bound
(``browser_share_max_chunk_bytes``, from the welcome): on a server with a
small bound, still frames (no VideoEncoder) are sent at a lower quality and
then scaled down until they fit, instead of being refused, and the rep
still gets a picture. (Video chunks over the bound halve the bitrate and
ask for a new key frame; a flat test desktop's key frames are too small to
show it reliably. The server's side of the bound:
tests/screen/test_browser_share_relay.py.)"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, expect
from test_browser_share import NO_VIDEO_ENCODER, ShareScene, display, visitor_browser  # noqa: F401 (fixtures)

from desklink.testing import ONE_ADDRESS_ENV, AdminAPI, ServerProcess

HostSite = Any

pytestmark = pytest.mark.browser

#: Far below a 1280x800 JPEG of the test screen at the starting quality.
BOUND = 24_000


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    with ServerProcess(env={**ONE_ADDRESS_ENV, "DESKLINK_BROWSER_SHARE_MAX_CHUNK_BYTES": str(BOUND)}) as srv:
        yield srv


def test_still_frames_shrink_to_the_servers_bound(
    browser: Browser, visitor_browser: Browser, server: ServerProcess, admin: AdminAPI, host_site: HostSite,  # noqa: F811
    unique: str, display: Any,  # noqa: F811
) -> None:
    scene = ShareScene(browser, visitor_browser, server, admin, host_site, unique, init_script=NO_VIDEO_ENCODER)
    try:
        scene.request_and_share()
        expect(scene.screen).to_have_attribute("data-frames", re.compile(r"^[1-9]"))
        stats = scene.visitor.evaluate("document.querySelector('desklink-help').share.statistics()")
        assert stats["mode"] == "still"
        assert stats["oversized"] >= 1  # the first ones did not fit and were never sent
        assert stats["sent"] >= 1 and stats["bytes"] <= stats["sent"] * BOUND
        width, height = (int(v) for v in scene.screen.get_by_test_id("screen-size").inner_text().split(" × "))
        assert width < 1280 and height < 800 and abs(width / height - 1280 / 800) < 0.02  # scaled, same shape
        expect(scene.status()).to_have_text("Sharing from the browser (view only)")  # the server closed nothing
    finally:
        scene.close()
