"""The viewer's file group in the console (viewer/file-access.js), in
Debian's Chromium: File access is asked for on the viewer socket and drawn
from ``screen.state`` ``privileges.files``; once granted, Send to computer
offers the file over the rep socket with ``to: computer`` (the real server
takes the upload; its card waits for the visitor to accept) and Ask for a
file sends ``file.ask`` with the note; a ``file.asked`` answered with nothing
picked shows as a notice. The bar's buttons keep their places throughout.

The relay's side of ``/ws/viewer`` is played (as in
test_viewer_clipboard_and_lost_agent.py): no agent is needed to draw the
states. The rep socket goes to the real server through a route that records
what the page sends and can add a server message.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect
from test_screen_viewer import Scene
from test_viewer_clipboard_and_lost_agent import PlayedRelay, state, wait_until

from desklink.protocol.screen import FLAG_KEY, Frame, Rect
from desklink.testing import AdminAPI, ServerProcess

HostSite = Any  # tests/e2e/conftest.py:HostSite

pytestmark = pytest.mark.browser

expect.set_options(timeout=15_000)


class RepWire:
    """/ws/rep, forwarded both ways; records the page's messages, can inject."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.route: Any = None

    def attach(self, w: Any) -> None:
        w.context.route_web_socket(re.compile(r".*/ws/rep.*"), self._route)

    def _route(self, ws: Any) -> None:
        self.route = ws
        upstream = ws.connect_to_server()

        def from_page(message: Any) -> None:
            if isinstance(message, str):
                self.sent.append(json.loads(message))
            upstream.send(message)

        ws.on_message(from_page)

    def got(self, t: str) -> list[dict[str, Any]]:
        return [m for m in self.sent if m.get("t") == t]


def files_state(files: str) -> dict[str, Any]:
    return state(source="agent", privileges={"view": "granted", "control": "off", "files": files})


def test_file_access_send_to_computer_and_ask_for_a_file(
    browser: Browser, server: ServerProcess, admin: AdminAPI, host_site: HostSite, unique: str, tmp_path: Path
) -> None:
    relay = PlayedRelay()
    rep_wire = RepWire()

    def prepare(w: Any) -> None:
        relay.attach(w)
        rep_wire.attach(w)

    scene = Scene(browser, server, admin, host_site, unique, prepare_rep=prepare)
    try:
        scene.chat.get_by_test_id("screen-request").click()
        wait_until(scene.rep, lambda: relay.routes, "the viewer's socket")
        relay.send(files_state("off"))
        relay.frame(Frame(1, 0, 64, 48, (Rect.fill(0, 0, 64, 48, (40, 90, 160)),), FLAG_KEY))
        expect(scene.status()).to_have_text("Sharing")
        group = scene.screen.get_by_test_id("screen-files")
        expect(group).to_be_visible()
        status, request = group.get_by_test_id("files-status"), group.get_by_test_id("files-request")
        send, ask = group.get_by_test_id("files-send"), group.get_by_test_id("files-ask")
        expect(status).to_have_text("Files: off")
        expect(send).to_be_disabled()
        expect(ask).to_be_disabled()
        places = [b.bounding_box() for b in (request, send, ask)]

        request.click()
        wait_until(scene.rep, lambda: relay.got("files.request"), "files.request")
        relay.send(files_state("asking"))
        expect(status).to_have_text("Files: asking…")
        expect(request).to_have_text("Withdraw")
        relay.send(files_state("granted"))
        expect(status).to_have_text("Files: allowed")
        expect(send).to_be_enabled()
        expect(ask).to_be_enabled()
        assert [b.bounding_box() for b in (request, send, ask)] == places  # nothing moved
        scene.rep.screenshot(path="/tmp/desklink-shots/console-viewer-file-access.png")

        # Send to computer: offered over the rep socket, to the computer of this session.
        fix = tmp_path / "fix.ps1"
        fix.write_bytes(b"Write-Host 'fixed'\n" * 1000)
        group.get_by_test_id("files-send-input").set_input_files(str(fix))
        wait_until(scene.rep, lambda: rep_wire.got("file.offer"), "file.offer")
        offer = rep_wire.got("file.offer")[0]
        assert (offer["to"], offer["session_id"], offer["name"], offer["size"]) == ("computer", scene.session_id, "fix.ps1", 19_000)
        card = scene.chat.locator("[data-testid=file-card][data-to=computer]")
        expect(card).to_have_attribute("data-status", "ready")  # uploaded; the agent is asked
        expect(card.get_by_test_id("file-status")).to_have_text("Waiting for Vic to accept")
        expect(card.get_by_test_id("file-cancel")).to_be_visible()
        # The help box tells the visitor where to answer; it is not a download there.
        theirs = scene.box.locator("[data-testid=file-card][data-to=computer]")
        expect(theirs.get_by_test_id("file-status")).to_have_text("Sent to your computer: accept or refuse it in the DeskLink window")
        expect(theirs.get_by_test_id("file-download")).to_be_hidden()

        # Ask for a file, with a note; nothing picked comes back as a notice.
        ask.click()
        form = scene.screen.get_by_test_id("files-ask-form")
        expect(form).to_be_visible()
        form.get_by_test_id("files-ask-note").fill("the log in Documents")
        form.get_by_test_id("files-ask-send").click()
        wait_until(scene.rep, lambda: rep_wire.got("file.ask"), "file.ask")
        assert rep_wire.got("file.ask") == [{"t": "file.ask", "session_id": scene.session_id, "note": "the log in Documents"}]
        expect(form).to_be_hidden()
        rep_wire.route.send(json.dumps({"t": "file.asked", "session_id": scene.session_id, "ask": "a1", "answer": "none"}))
        expect(scene.rep.get_by_test_id("toast").filter(has_text="Vic did not pick a file to send.")).to_be_visible()

        # The visitor takes file access back: the buttons go off, in place.
        relay.send(files_state("off"))
        expect(status).to_have_text("Files: off")
        expect(send).to_be_disabled()
        request.click()
        wait_until(scene.rep, lambda: len(relay.got("files.request")) == 2, "a second files.request")
        relay.send(files_state("granted"))
        expect(request).to_have_text("Give back")
        request.click()
        wait_until(scene.rep, lambda: relay.got("files.release"), "files.release")

        # A browser share has no file access.
        relay.send({**files_state("off"), "source": "browser"})
        expect(group).to_be_hidden()
        assert scene.rep_w.errors == []
    finally:
        scene.close()
