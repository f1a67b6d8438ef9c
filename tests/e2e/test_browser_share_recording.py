"""Recording a share from the help box, in real browsers: the visitor's
offer says the screen may be recorded, the rep presses Record in the
viewer (REC shows there) and the help box shows a "Recording" badge while
it lasts. The scene (Xvfb, the visitor's Chromium on it, the rep's console)
is test_browser_share.py's."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from desklink.testing import AdminAPI, ServerProcess, poll_until
from desklink.testing_x import XDisplay

from test_browser_share import HostSite, ShareScene, display, visitor_browser  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser

expect.set_options(timeout=20_000)


@pytest.fixture
def scene(browser: Browser, visitor_browser: Browser, server: ServerProcess, admin: AdminAPI, host_site: HostSite,  # noqa: F811
          unique: str) -> Iterator[ShareScene]:
    s = ShareScene(browser, visitor_browser, server, admin, host_site, unique)
    queue = next(q for q in admin.http.get("/api/admin/queues").json()["queues"] if q["slug"] == unique)
    admin.http.patch(f"/api/admin/queues/{queue['id']}", json={"recording": "on_request"}).raise_for_status()
    yield s
    s.close()


def test_the_visitor_is_told_and_sees_the_recording(scene: ShareScene, server: ServerProcess, display: XDisplay) -> None:  # noqa: F811
    scene.chat.get_by_test_id("screen-request").click()
    card = scene.box.get_by_test_id("screen-offer")
    expect(card.get_by_test_id("screen-offer-recording")).to_have_text("The support rep may record the screen; you will see when.")
    card.get_by_test_id("screen-share-browser").click()
    expect(scene.box.get_by_test_id("share-indicator-text")).to_have_text("Sharing your screen with Rita")
    expect(scene.screen).to_have_attribute("data-frames", re.compile(r"^[1-9]"))
    badge = scene.box.get_by_test_id("share-recording")
    rec = scene.screen.get_by_test_id("screen-rec")
    expect(badge).to_be_hidden()
    expect(rec).to_be_hidden()

    # The rep records: REC in the viewer, "Recording" in the help box, segments on the server.
    record = scene.screen.get_by_test_id("screen-record")
    expect(record).to_have_text("Record")
    record.click()
    expect(rec).to_be_visible()
    expect(record).to_have_text("Stop recording")
    expect(badge).to_be_visible()
    expect(badge).to_have_text("Recording")
    segments = server.data_dir / "recordings" / str(scene.session_id)
    poll_until(lambda: any(segments.glob("*.dlrec")), 20, "a stored segment of the browser share")

    # And stops: both badges go.
    record.click()
    expect(rec).to_be_hidden()
    expect(badge).to_be_hidden()
    expect(record).to_have_text("Record")
