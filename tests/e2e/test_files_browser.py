"""Files both ways in real browsers: the help box embedded cross-origin on a
provider page and the rep console, on a real ``desklink serve``.

* a 20 MB random file from the help box to the console and one from the
  console to the help box: each is downloaded through the browser's own
  download manager (Playwright's download event) and its SHA-256 equals the
  original's and the one the card shows;
* the help box reloaded in the middle of an upload resumes from the
  server's offset: the File waits in IndexedDB, the first chunk after the
  reload starts exactly where the server's bytes end, and the bytes sent
  again are measured on the wire (at most the credit window); the same
  after a dropped connection without a reload, and for the console; a File
  lost with the storage is picked again (checked by name and size);
* cancel from the other side stops the upload on both cards;
* a hostile file name is shown as text (no markup, no script), and the
  download's suggested name is safe.

The visitor's socket goes through Playwright's WebSocket route, which
forwards every frame and counts the file chunks; it can hold the chunks
back (a stalled network) to leave an upload half done.
"""

from __future__ import annotations

import hashlib
import os
import re
import struct
import threading
from pathlib import Path
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from test_help_flow import Watched, accept_first, ask, console_login, make_queue, open_widget

from desklink.protocol import limits
from desklink.protocol.framing import MORE, Channel
from desklink.testing import AdminAPI, ServerProcess, poll_until

HostSite = Any  # tests/e2e/conftest.py:HostSite

pytestmark = pytest.mark.browser

expect.set_options(timeout=20_000)

VISITOR_WS = re.compile(r".*/ws/visitor.*")
REP_WS = re.compile(r".*/ws/rep.*")
SIZE = 20 * 1024 * 1024
CHUNK = limits.FILE_CHUNK_BYTES
SHOTS = Path(os.environ.get("DESKLINK_SHOTS", "/tmp/desklink-shots"))


class Wire:
    """The visitor's socket, routed: counts the file bytes the page sends
    and can hold them back after a number of whole chunks."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.page_bytes = 0  # chunk data bytes the page sent (all connections)
        self.forwarded_bytes = 0  # chunk data bytes that reached the server
        self.hold_after: int | None = None  # whole chunks to let through, then hold
        self.chunks_through = 0
        self.held = 0  # binary frames held back
        self.first_offsets: list[int] = []  # offset of the first chunk on each connection
        self.connections = 0
        self.routes: list[Any] = []

    def route(self, ws: Any) -> None:
        upstream = ws.connect_to_server()
        with self.lock:
            self.connections += 1
            self.routes.append(ws)
        state = {"first": True, "mid": False}  # mid: inside a chunk's parts

        def from_page(message: Any) -> None:
            if isinstance(message, str):
                upstream.send(message)
                return
            data = bytes(message)
            with self.lock:
                if data and data[0] & ~MORE == Channel.FILE:
                    if not state["mid"] and state["first"]:
                        state["first"] = False
                        self.first_offsets.append(struct.unpack_from(">BQQ", data, 1)[2])
                    # the chunk head (21 bytes) is in the first part only
                    head = 1 if state["mid"] else 1 + 21
                    state["mid"] = bool(data[0] & MORE)
                    self.page_bytes += len(data) - head
                    if self.hold_after is not None and self.chunks_through >= self.hold_after:
                        self.held += 1
                        return
                    self.forwarded_bytes += len(data) - head
                    if not data[0] & MORE:
                        self.chunks_through += 1
            upstream.send(data)

        ws.on_message(from_page)


def random_file(path: Path, size: int, seed: int) -> str:
    data = hashlib.shake_256(seed.to_bytes(4, "big")).digest(size)
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def sha256_of(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def chatting(
    browser: Browser, server: ServerProcess, admin: AdminAPI, host_site: HostSite, unique: str, wire: Wire | None = None,
    rep_wire: Wire | None = None,
) -> tuple[Watched, Watched, Any, Any, str]:
    """A visitor in the help box and a rep who accepted: (rep, visitor, box, chat pane, session id)."""
    _, ((user, pw),) = make_queue(admin, host_site, unique, [("rep", "Riley")])
    rw, vw = Watched(browser), Watched(browser)
    if rep_wire is not None:
        rw.context.route_web_socket(REP_WS, rep_wire.route)
    console = console_login(rw, server, user, pw)
    if wire is not None:
        vw.context.route_web_socket(VISITOR_WS, wire.route)
    box = open_widget(vw.page, host_site.page(unique))
    ask(box, "Vic", "I need to send you a log")
    expect(box.get_by_test_id("attach")).to_be_disabled()  # files need a support session
    sid, chat = accept_first(console)
    expect(box.get_by_test_id("status")).to_have_attribute("data-state", "chatting")
    expect(box.get_by_test_id("attach")).to_be_enabled()
    return rw, vw, box, chat, sid


def wait_for(page: Page, check: Callable[[], Any], what: str) -> None:
    """Poll ``check``, waiting through the page so Playwright delivers the routed socket's frames meanwhile."""
    poll_until(check, 20.0, what, sleep=lambda s: page.wait_for_timeout(s * 1000))


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


# --------------------------------------------------------------------------- both ways


def test_twenty_megabytes_each_way_hashes_equal(
    browser: Browser, server: ServerProcess, admin: AdminAPI, host_site: HostSite, unique: str, tmp_path: Path
) -> None:
    wire = Wire()
    rw, vw, box, chat, _ = chatting(browser, server, admin, host_site, unique, wire)
    try:
        # Visitor -> rep.
        up = tmp_path / "crash dump.bin"
        up_sha = random_file(up, SIZE, 1)
        box.get_by_test_id("file-input").set_input_files(str(up))
        mine = box.get_by_test_id("file-card")
        expect(mine).to_have_count(1)
        expect(mine.get_by_test_id("file-name")).to_have_text("crash dump.bin")
        expect(mine).to_have_attribute("data-status", "ready")
        expect(mine.get_by_test_id("file-status")).to_contain_text("Sent")
        theirs = chat.get_by_test_id("file-card")
        expect(theirs).to_have_count(1)
        expect(theirs).to_have_attribute("data-status", "ready")
        expect(theirs.get_by_test_id("file-meta")).to_contain_text("20.0 MB")
        expect(theirs.get_by_test_id("file-meta")).to_contain_text("from Vic")
        expect(theirs.get_by_test_id("file-sha256")).to_have_text(up_sha)
        shot(rw.page, "console-file-from-visitor")
        with rw.page.expect_download() as info:
            theirs.get_by_test_id("file-download").click()
        got = tmp_path / "got-from-visitor.bin"
        info.value.save_as(got)
        assert info.value.suggested_filename == "crash dump.bin"
        assert sha256_of(got) == up_sha
        # Nothing was sent twice on a clean network.
        assert wire.page_bytes == SIZE
        assert wire.forwarded_bytes == SIZE

        # Rep -> visitor.
        down = tmp_path / "fix-tool.zip"
        down_sha = random_file(down, SIZE, 2)
        chat.get_by_test_id("file-input").set_input_files(str(down))
        sent = chat.locator("[data-testid=file-card][data-from=rep]")
        expect(sent).to_have_attribute("data-status", "ready")
        card = box.locator("[data-testid=file-card][data-from=rep]")
        expect(card).to_have_attribute("data-status", "ready")
        expect(card.get_by_test_id("file-name")).to_have_text("fix-tool.zip")
        expect(card.get_by_test_id("file-status")).to_have_text("Ready to download")
        expect(card.get_by_test_id("file-sha256")).to_have_text(down_sha)
        href = card.get_by_test_id("file-download").get_attribute("href")
        assert href and href.startswith(server.url + "/"), href  # the DeskLink server, not the provider's origin
        shot(vw.page, "helpbox-files")
        with vw.page.expect_download() as info:
            card.get_by_test_id("file-download").click()
        got = tmp_path / "got-from-rep.bin"
        info.value.save_as(got)
        assert sha256_of(got) == down_sha

        # Cards sit in time order among the messages on both sides, and come back after a reload.
        box.get_by_test_id("chat-input").fill("Did you get it?")
        box.get_by_test_id("chat-input").press("Enter")
        expect(chat.locator("[data-testid=message][data-from=visitor]")).to_have_count(1)
        order = box.get_by_test_id("messages").evaluate("l => Array.from(l.children, c => c.dataset.testid + ':' + (c.dataset.from || ''))")
        assert order[-3:] == ["file-card:visitor", "file-card:rep", "message:visitor"], order
        vw.page.reload()
        box = vw.page.locator("desklink-help")
        expect(box.get_by_test_id("file-card")).to_have_count(2)
        order = box.get_by_test_id("messages").evaluate("l => Array.from(l.children, c => c.dataset.testid + ':' + (c.dataset.from || ''))")
        assert order[-3:] == ["file-card:visitor", "file-card:rep", "message:visitor"], order
        expect(box.locator("[data-testid=file-card][data-from=rep]")).to_have_attribute("data-status", "ready")
        assert rw.errors == [] and vw.errors == [] and vw.dialogs == []
    finally:
        rw.close()
        vw.close()


# --------------------------------------------------------------------------- reload mid-upload


def test_help_box_reload_mid_upload_resumes_from_the_server_offset(
    browser: Browser, server: ServerProcess, admin: AdminAPI, host_site: HostSite, unique: str, tmp_path: Path
) -> None:
    wire = Wire()
    wire.hold_after = 24  # 6 MiB reach the server, then the network stalls
    rw, vw, box, chat, _ = chatting(browser, server, admin, host_site, unique, wire)
    try:
        up = tmp_path / "big.log"
        up_sha = random_file(up, SIZE, 3)
        box.get_by_test_id("file-input").set_input_files(str(up))
        # The server acknowledged exactly the chunks that got through; the page waits on its credit.
        theirs = chat.get_by_test_id("file-card")
        expect(box.get_by_test_id("file-card")).to_have_attribute("data-received", str(24 * CHUNK))
        expect(theirs).to_have_attribute("data-status", "uploading")
        shot(rw.page, "console-file-uploading")
        shot(vw.page, "helpbox-file-uploading")
        # The page fills exactly its credit (the window past the last ack), which the stalled network holds.
        wait_for(vw.page, lambda: wire.page_bytes == 24 * CHUNK + limits.FILE_WINDOW_BYTES, "the window sent")
        assert wire.held > 0

        wire.hold_after = None  # the stalled page gets no more credit: nothing new leaves it
        vw.page.reload()
        box = vw.page.locator("desklink-help")
        mine = box.get_by_test_id("file-card")
        expect(mine).to_have_attribute("data-status", "ready")
        expect(theirs).to_have_attribute("data-status", "ready")
        assert wire.connections == 2
        # The second connection's first chunk starts where the server's bytes ended.
        assert wire.first_offsets == [0, 24 * CHUNK]
        resent = wire.page_bytes - SIZE
        assert resent == limits.FILE_WINDOW_BYTES  # what the stalled network lost, and nothing more
        with rw.page.expect_download() as info:
            theirs.get_by_test_id("file-download").click()
        got = tmp_path / "got.log"
        info.value.save_as(got)
        assert sha256_of(got) == up_sha
        expect(theirs.get_by_test_id("file-sha256")).to_have_text(up_sha)
        assert rw.errors == [] and vw.errors == []
    finally:
        rw.close()
        vw.close()


def test_dropped_connection_resumes_without_a_reload(
    browser: Browser, server: ServerProcess, admin: AdminAPI, host_site: HostSite, unique: str, tmp_path: Path
) -> None:
    """The help box's socket drops mid-upload (the page stays): it reconnects,
    asks file.resume and goes on from the server's offset."""
    wire = Wire()
    wire.hold_after = 10
    size = 6 * 1024 * 1024
    rw, vw, box, chat, _ = chatting(browser, server, admin, host_site, unique, wire)
    try:
        up = tmp_path / "trace.etl"
        up_sha = random_file(up, size, 8)
        box.get_by_test_id("file-input").set_input_files(str(up))
        mine = box.get_by_test_id("file-card")
        expect(mine).to_have_attribute("data-received", str(10 * CHUNK))
        wire.hold_after = None
        wire.routes[-1].close(code=1011, reason="network gone")
        expect(mine).to_have_attribute("data-status", "ready")
        theirs = chat.get_by_test_id("file-card")
        expect(theirs.get_by_test_id("file-sha256")).to_have_text(up_sha)
        assert wire.connections == 2
        assert wire.first_offsets == [0, 10 * CHUNK]
        assert 0 < wire.page_bytes - size <= limits.FILE_WINDOW_BYTES
        assert rw.errors == [] and vw.errors == []
    finally:
        rw.close()
        vw.close()


def test_console_reload_mid_upload_resumes(
    browser: Browser, server: ServerProcess, admin: AdminAPI, host_site: HostSite, unique: str, tmp_path: Path
) -> None:
    """The same for the rep: the console reloaded mid-upload picks the File
    back from IndexedDB and goes on from the server's offset."""
    wire = Wire()
    wire.hold_after = 12
    size = 8 * 1024 * 1024
    rw, vw, box, chat, sid = chatting(browser, server, admin, host_site, unique, rep_wire=wire)
    try:
        up = tmp_path / "collector.sh"
        up_sha = random_file(up, size, 7)
        chat.get_by_test_id("file-input").set_input_files(str(up))
        expect(chat.get_by_test_id("file-card")).to_have_attribute("data-received", str(12 * CHUNK))
        wire.hold_after = None
        rw.page.reload()
        chat = rw.page.locator(f'[data-testid=chat][data-session-id="{sid}"]')
        mine = chat.get_by_test_id("file-card")
        expect(mine).to_have_attribute("data-status", "ready")
        card = box.get_by_test_id("file-card")
        expect(card).to_have_attribute("data-status", "ready")
        expect(card.get_by_test_id("file-sha256")).to_have_text(up_sha)
        assert wire.first_offsets == [0, 12 * CHUNK]
        assert wire.page_bytes - size <= limits.FILE_WINDOW_BYTES
        with vw.page.expect_download() as info:
            card.get_by_test_id("file-download").click()
        got = tmp_path / "got.sh"
        info.value.save_as(got)
        assert sha256_of(got) == up_sha
        assert rw.errors == [] and vw.errors == []
    finally:
        rw.close()
        vw.close()


def test_lost_file_is_picked_again_checked_and_resumed(
    browser: Browser, server: ServerProcess, admin: AdminAPI, host_site: HostSite, unique: str, tmp_path: Path
) -> None:
    """The File is gone after the reload (storage cleared): the card asks for
    it again, refuses a different file, and resumes with the right one."""
    wire = Wire()
    wire.hold_after = 8
    size = 4 * 1024 * 1024
    rw, vw, box, chat, _ = chatting(browser, server, admin, host_site, unique, wire)
    try:
        up = tmp_path / "report.pdf"
        up_sha = random_file(up, size, 5)
        other = tmp_path / "other" / "report.pdf"
        other.parent.mkdir()
        random_file(other, size - 1, 6)
        box.get_by_test_id("file-input").set_input_files(str(up))
        expect(box.get_by_test_id("file-card")).to_have_attribute("data-received", str(8 * CHUNK))
        # Clear the kept Files: the deletion goes through once the page (holding the database) unloads.
        vw.page.evaluate("() => { indexedDB.deleteDatabase('desklink-files'); }")
        wire.hold_after = None
        vw.page.reload()
        box = vw.page.locator("desklink-help")
        mine = box.get_by_test_id("file-card")
        expect(mine.get_by_test_id("file-status")).to_have_text("Pick the file again to resume")
        expect(mine.get_by_test_id("file-repick")).to_be_visible()
        shot(vw.page, "helpbox-file-pick-again")
        mine.get_by_test_id("file-repick-input").set_input_files(str(other))
        expect(mine.get_by_test_id("file-note")).to_contain_text(f"That file has {size - 1} bytes")
        expect(mine).to_have_attribute("data-status", "uploading")
        mine.get_by_test_id("file-repick-input").set_input_files(str(up))
        expect(mine).to_have_attribute("data-status", "ready")
        expect(mine.get_by_test_id("file-note")).to_be_hidden()
        theirs = chat.get_by_test_id("file-card")
        expect(theirs).to_have_attribute("data-status", "ready")
        expect(theirs.get_by_test_id("file-sha256")).to_have_text(up_sha)
        assert wire.first_offsets == [0, 8 * CHUNK]
        assert rw.errors == [] and vw.errors == []
    finally:
        rw.close()
        vw.close()


# --------------------------------------------------------------------------- cancel, pause


def test_cancel_from_the_other_side_and_pause(
    browser: Browser, server: ServerProcess, admin: AdminAPI, host_site: HostSite, unique: str, tmp_path: Path
) -> None:
    wire = Wire()
    wire.hold_after = 8
    rw, vw, box, chat, _ = chatting(browser, server, admin, host_site, unique, wire)
    try:
        up = tmp_path / "video.mp4"
        random_file(up, 4 * 1024 * 1024, 4)
        box.get_by_test_id("file-input").set_input_files(str(up))
        theirs = chat.get_by_test_id("file-card")
        mine = box.get_by_test_id("file-card")
        expect(mine).to_have_attribute("data-received", str(8 * CHUNK))
        # The rep pauses: both cards say so and who did it; the rep goes on again.
        theirs.get_by_test_id("file-pause").click()
        expect(mine).to_have_attribute("data-status", "paused")
        expect(mine.get_by_test_id("file-status")).to_contain_text("Paused")
        expect(mine.get_by_test_id("file-pause")).to_have_text("Resume")
        shot(vw.page, "helpbox-file-paused")
        theirs.get_by_test_id("file-pause").click()
        expect(mine).to_have_attribute("data-status", "uploading")
        # The rep cancels the visitor's upload.
        theirs.get_by_test_id("file-cancel").click()
        expect(mine).to_have_attribute("data-status", "cancelled")
        expect(theirs).to_have_attribute("data-status", "cancelled")
        expect(mine.get_by_test_id("file-status")).to_have_text("Cancelled by Riley")
        expect(mine.get_by_test_id("file-cancel")).to_be_hidden()
        expect(mine.get_by_test_id("file-download")).to_be_hidden()
        shot(rw.page, "console-file-cancelled")
        # The page sends nothing more for it, even with the network back.
        wire.hold_after = None
        before = wire.page_bytes
        box.get_by_test_id("chat-input").fill("never mind")
        box.get_by_test_id("chat-input").press("Enter")
        expect(chat.locator("[data-testid=message][data-from=visitor]")).to_have_count(1)
        assert wire.page_bytes == before
        assert rw.errors == [] and vw.errors == []
    finally:
        rw.close()
        vw.close()


# --------------------------------------------------------------------------- hostile names

HOSTILE = ["..\\..\\evil\u202egpj.exe", "<img src=x onerror=alert(1)>.txt"]


def test_hostile_names_are_text_and_download_safely(
    browser: Browser, server: ServerProcess, admin: AdminAPI, host_site: HostSite, unique: str
) -> None:
    rw, vw, box, chat, _ = chatting(browser, server, admin, host_site, unique)
    try:
        payloads = [{"name": n, "mimeType": "text/html", "buffer": f"<script>alert({i})</script>".encode()} for i, n in enumerate(HOSTILE)]
        box.get_by_test_id("file-input").set_input_files(payloads)
        cards = chat.get_by_test_id("file-card")
        expect(cards).to_have_count(2)
        for i in range(2):
            expect(cards.nth(i)).to_have_attribute("data-status", "ready")
        names = cards.get_by_test_id("file-name").all_text_contents()
        # Shown as text: no element came out of a name, and nothing ran.
        assert chat.locator(".file-card img").count() == 0
        assert box.locator(".file-card img").count() == 0
        for name in names:
            assert "/" not in name and "\\" not in name and "\u202e" not in name, name
            assert not name.startswith("."), name
        assert any("onerror" in n for n in names)  # kept as text
        shot(rw.page, "console-hostile-names")
        contents = set()
        for i in range(2):
            with rw.page.expect_download() as info:
                cards.nth(i).get_by_test_id("file-download").click()
            suggested = info.value.suggested_filename
            assert "/" not in suggested and "\\" not in suggested and "\u202e" not in suggested, suggested
            assert not suggested.startswith("."), suggested
            contents.add(info.value.path().read_bytes())
        assert contents == {p["buffer"] for p in payloads}
        assert rw.dialogs == [] and vw.dialogs == []
        assert rw.errors == [] and vw.errors == []
    finally:
        rw.close()
        vw.close()
