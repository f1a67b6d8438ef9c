"""The Session View in a real browser, replaying a real recording (the agent on
Xvfb sharing a terminal that prints, a real server recording it, the visitor
chatting meanwhile): the admin opens the session, the recording says it is
verified, the picture at the end equals the live viewer's last picture, a
click on a chat marker shows that moment's picture and marks the transcript
up to it, and an 8x replay plays to the end (its pace is printed)."""

from __future__ import annotations

import asyncio
import time
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pytest
from playwright.sync_api import Browser, Page, expect

from desklink.protocol import screen
from desklink.protocol.recording import Kind, replay
from desklink.testing import ONE_ADDRESS_ENV, AdminAPI, RepClient, ServerProcess, ViewerClient, VisitorClient, wait_until, admin_center
from desklink.testing_x import XDisplay
from screen._agent import Chat, finish, start_agent

pytestmark = pytest.mark.browser

expect.set_options(timeout=20_000)


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    with ServerProcess(env={**ONE_ADDRESS_ENV, "DESKLINK_RECORDING_SEGMENT_S": "1"}) as srv:
        yield srv


@dataclass
class Recorded:
    session_id: str
    live: np.ndarray  # the live viewer's last picture (RGB)


async def _record(server: ServerProcess, admin: AdminAPI, display: XDisplay) -> Recorded:
    slug = "rec" + str(time.monotonic_ns())[-8:]
    queue = admin.queue(slug)
    (user, pw), = admin.reps(1, queue_slug=slug, prefix=slug)
    admin.http.patch(f"/api/admin/queues/{queue['id']}", json={"recording": "always"}).raise_for_status()
    rep = await RepClient.connect(server, user, pw)
    visitor = await VisitorClient.submit(server, queue=slug, name="Vic")
    await rep.expect("alert")
    await rep.send({"t": "accept", "request_id": visitor.request_id})
    sid = str((await rep.expect("accepted"))["session"]["id"])
    chat = Chat(rep, visitor, sid, user, pw)
    viewer = await ViewerClient.connect(server, user, pw, sid)
    try:
        agent = start_agent(display, server, (await chat.offer())["code"], terminal=True, answer="y\n")
        await viewer.wait_status("sharing")
        display.spawn("xterm", "-geometry", "70x16+30+30", "-bg", "white", "-fg", "black", "-e", "bash", "--norc", "-c",
                      "for i in $(seq 1 40); do echo replayed line $i; sleep 0.15; done; sleep 600")
        segments = lambda: len(admin.http.get(f"/api/sessions/{sid}/recording").json().get("segments", []))  # noqa: E731
        await wait_until(lambda: segments() >= 2, 60, "two segments")
        await visitor.send({"t": "chat.send", "cid": "m1", "text": "I see lines scrolling"})
        await rep.expect("chat", cid="m1")
        await wait_until(lambda: segments() >= 5, 60, "five segments")
        await viewer.send({"t": "screen.stop"})
        code, out = await finish(agent)
        assert code == 0, out
        await wait_until(lambda: admin.http.get(f"/api/sessions/{sid}/recording").json().get("status") == "done", 30, "closed")
        return Recorded(sid, viewer.canvas.rgb.copy())
    finally:
        await viewer.close()
        await chat.close()


def _picture_at(admin: AdminAPI, sid: str, t_ms: int | None) -> np.ndarray:
    """The recording's picture at ``t_ms`` (None: the end), painted in Python."""
    from desklink.agent.encode.canvas import Canvas

    index = admin.http.get(f"/api/sessions/{sid}/recording").json()
    segments = [(s["no"], admin.http.get(f"/api/sessions/{sid}/recording/segments/{s['no']}").content) for s in index["segments"]]
    canvas = Canvas()
    for rec in replay(segments, sid):
        if t_ms is not None and rec.t_ms > t_ms:
            break
        if rec.kind == Kind.SCREEN:
            msg = screen.decode(rec.payload[1:], 2**25)
            if isinstance(msg, screen.Frame):
                canvas.apply(msg)
    return canvas.rgb.copy()


def _canvas(page: Page) -> np.ndarray:
    data = page.evaluate("""() => {
        const c = document.querySelector('[data-testid=replay-screen]');
        const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        return {w: c.width, h: c.height, px: Array.from(px)};
    }""")
    rgba = np.array(data["px"], dtype=np.uint8).reshape(data["h"], data["w"], 4)
    return rgba[:, :, :3]


def _close(a: np.ndarray, b: np.ndarray) -> float:
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def test_the_session_view_replays_a_real_recording(browser: Browser, server: ServerProcess, admin: AdminAPI) -> None:
    with XDisplay(800, 600) as display, ThreadPoolExecutor(1) as pool:
        rec: Recorded = pool.submit(asyncio.run, _record(server, admin, display)).result()
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    try:
        admin_center(page, server, "sessions")
        page.locator(f'[data-testid=session-row][data-session-id="{rec.session_id}"]').click()
        view = page.get_by_test_id("session-view")
        expect(view.get_by_test_id("replay-status")).to_contain_text("Recording verified")
        duration = int(view.get_by_test_id("replay-seek").get_attribute("max") or 0)
        assert duration > 3000

        # The end: the live viewer's last picture (the browser's JPEG decoder
        # may differ from the Python one by a level here and there).
        view.get_by_test_id("replay-seek").evaluate(
            "(el, v) => { el.value = v; el.dispatchEvent(new Event('input')); }", duration)
        expect(view).to_have_attribute("data-position", str(duration))
        page.screenshot(path="/tmp/desklink-session-view.png")
        assert _close(_canvas(page), rec.live) < 2.0

        # A chat marker: that moment's picture, the transcript marked up to it.
        marker = view.locator("[data-testid=replay-marker][data-kind=chat]").first
        t = int(marker.get_attribute("data-t") or 0)
        marker.click()
        expect(view).to_have_attribute("data-position", str(t))
        assert _close(_canvas(page), _picture_at(admin, rec.session_id, t)) < 2.0
        expect(view.locator(".replay-line.past").filter(has_text="I see lines scrolling")).to_have_count(1)

        # 8x from the start to the end.
        view.get_by_test_id("replay-seek").evaluate("(el) => { el.value = 0; el.dispatchEvent(new Event('input')); }")
        expect(view).to_have_attribute("data-position", "0")
        view.get_by_test_id("replay-speed").select_option("8")
        started = time.monotonic()
        view.get_by_test_id("replay-play").click()
        expect(view).to_have_attribute("data-playing", "true")
        expect(view).to_have_attribute("data-playing", "false", timeout=120_000)
        took = time.monotonic() - started
        print(f"\n{duration / 1000:.1f} s of recording replayed at 8x in {took:.1f} s ({duration / 1000 / took:.1f}x)")
        expect(view).to_have_attribute("data-position", str(duration))
        assert _close(_canvas(page), rec.live) < 2.0

        # Found by what was said: the Session View opens at that moment.
        form = page.get_by_test_id("sessions-search")
        form.get_by_test_id("search-words").fill("lines SCROLLING")
        form.get_by_test_id("search-go").click()
        rows = page.get_by_test_id("session-row")
        expect(rows).to_have_count(1)
        expect(rows.first.get_by_test_id("session-match")).to_contain_text("I see lines scrolling")
        rows.first.click()
        view = page.get_by_test_id("session-view")
        said = int(view.locator("[data-testid=replay-marker][data-kind=chat]").first.get_attribute("data-t") or 0)
        expect(view).to_have_attribute("data-position", str(said))

        # Export: one ZIP with the timeline, transcripts and the segments.
        with page.expect_download() as download:
            page.get_by_test_id("session-export").click()
        with zipfile.ZipFile(download.value.path()) as z:
            assert "session.json" in z.namelist() and "recording/VERIFY.txt" in z.namelist()
            assert z.read("recording/VERIFY.txt").decode().splitlines()[0].split(": ", 1)[1].startswith("ok:")
        assert not problems, problems
    finally:
        context.close()
