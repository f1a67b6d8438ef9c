"""The console's viewer and the help box's browser share in Chromium follow
their relay tickets (issue 15): one web node and two relay nodes on
PostgreSQL and Redis. The viewer asks the web node for the ticket and opens
its socket at the relay node it names (not the web node), and shows the
picture of a real agent on Xvfb. When that relay node is killed, the viewer
says the screen's relay went away, asks again, lands on the other relay node
and the picture comes back. The help box's share does the same with the
same MediaStream: the browser's picker is not shown again."""

from __future__ import annotations

import html
import http.server
import re
import secrets
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect


from desklink.testing import AdminAPI, ServerProcess, free_port, poll_until, web_and_relays
from desklink.testing_x import XDisplay
from screen._agent import start_agent
from test_browser_share import ShareScene, display, visitor_browser  # noqa: F401 - fixtures
from test_screen_viewer import Scene, diff

pytestmark = [pytest.mark.browser, pytest.mark.pg, pytest.mark.redis]

SECRET = secrets.token_urlsafe(32)
RELAY_GONE = "The screen’s relay went away; reconnecting…"


class Site:
    """The provider's page embedding the help box of ``desklink_url``, on
    another loopback origin (as tests/e2e/conftest.py's host_site, for a
    server this test starts itself)."""

    def __init__(self, desklink_url: str) -> None:
        self.origin = f"http://127.0.0.1:{free_port()}"
        self.desklink_url = desklink_url
        pages: dict[str, bytes] = {}
        self.pages = pages

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server API)
                body = pages.get(self.path.split("?")[0], b"")
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", int(self.origin.rsplit(":", 1)[1])), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def page(self, queue: str) -> str:
        src = html.escape(f"{self.desklink_url}/static/widget/desklink-help.js")
        self.pages["/help.html"] = (
            "<!doctype html><html><head><meta charset='utf-8'><title>Acme</title></head><body>"
            f"<script type='module' src='{src}' data-queue='{html.escape(queue)}'></script></body></html>"
        ).encode()
        return self.origin + "/help.html"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


@pytest.fixture
def cluster(
    pg_database_url: str, redis_url: str, broker_prefix: str, tmp_path: Path
) -> Iterator[tuple[ServerProcess, ServerProcess, ServerProcess]]:
    with web_and_relays(pg_database_url, redis_url, broker_prefix, SECRET, tmp_path) as nodes:
        yield nodes


@pytest.fixture
def desk() -> Iterator[XDisplay]:
    with XDisplay(800, 600) as d:
        d.spawn("xterm", "-geometry", "60x20+30+30", "-fa", "DejaVu Sans Mono", "-fs", "11")
        d.wait_window("xterm")
        yield d


def test_the_console_viewer_follows_its_ticket_to_the_relay_node_and_on_when_it_dies(
    browser: Browser, cluster: tuple[ServerProcess, ServerProcess, ServerProcess], desk: XDisplay
) -> None:
    web, one, two = cluster
    site = Site(web.url)
    admin = AdminAPI(web)
    unique = "relayview" + secrets.token_hex(3)
    scene = Scene(browser, web, admin, site, unique)  # type: ignore[arg-type]
    agent: subprocess.Popen[str] | None = None
    sockets: list[str] = []
    scene.rep.on("websocket", lambda ws: sockets.append(ws.url))
    try:
        code = scene.request_screen()
        agent = start_agent(desk, web, code, terminal=True, answer="y\n")
        expect(scene.status()).to_have_text("Sharing", timeout=45_000)
        expect(scene.screen).to_have_attribute("data-frames", re.compile(r"^[1-9]"), timeout=30_000)

        # The viewer's socket went to a relay node, with a token; never to the web node.
        viewers = [u for u in sockets if "/ws/viewer?" in u]
        relays = {"relay-1": one, "relay-2": two}
        (first,) = viewers
        owner_name = next(name for name, node in relays.items() if first.startswith(node.ws_url + "/ws/viewer?session="))
        assert "token=" in first and not first.startswith(web.ws_url)
        owner, other = relays[owner_name], relays["relay-2" if owner_name == "relay-1" else "relay-1"]

        scene.settle()
        assert diff(scene.pixels(), desk.screenshot()) < 3.0  # the picture is the X screen

        owner.proc.kill()  # type: ignore[union-attr]  # SIGKILL: the relay node is gone
        owner.proc.wait(10)  # type: ignore[union-attr]
        notice = scene.screen.get_by_test_id("screen-notice-text")
        expect(notice).to_have_text(RELAY_GONE, timeout=20_000)

        # Asked again: the other relay node, and the picture comes back.
        expect(scene.status()).to_have_text("Sharing", timeout=60_000)
        poll_until(lambda: any(u.startswith(other.ws_url + "/ws/viewer?session=") for u in sockets), timeout=30,
                   what="a viewer socket at the other relay node")
        before = scene.frames()
        desk.xdotool("search", "--onlyvisible", "--class", "xterm", "windowfocus", "--sync")
        desk.xdotool("type", "--delay", "20", "echo moved-on")
        desk.xdotool("key", "Return")
        poll_until(lambda: scene.frames() > before, timeout=30, what="frames from the other relay node")
        scene.settle()
        assert diff(scene.pixels(), desk.screenshot()) < 3.0
        assert not any(u.startswith(web.ws_url + "/ws/viewer") for u in sockets)
        assert agent.poll() is None
    finally:
        if agent is not None and agent.poll() is None:
            agent.terminate()
        scene.close()
        admin.close()
        site.close()


#: Counts the browser's screen pickers the page opens (the visitor's consent).
COUNT_PICKERS = """
window.__pickers = 0;
const pick = navigator.mediaDevices.getDisplayMedia.bind(navigator.mediaDevices);
navigator.mediaDevices.getDisplayMedia = (...args) => { window.__pickers += 1; return pick(...args); };
"""


def test_the_help_box_share_follows_its_ticket_and_resumes_when_its_relay_dies(
    browser: Browser, visitor_browser: Browser, cluster: tuple[ServerProcess, ServerProcess, ServerProcess],  # noqa: F811
) -> None:
    web, one, two = cluster
    site = Site(web.url)
    admin = AdminAPI(web)
    unique = "relayshare" + secrets.token_hex(3)
    scene = ShareScene(browser, visitor_browser, web, admin, site, unique, init_script=COUNT_PICKERS)
    shares: list[str] = []
    viewers: list[str] = []
    scene.visitor.on("websocket", lambda ws: shares.append(ws.url))
    scene.rep.on("websocket", lambda ws: viewers.append(ws.url))
    relays = {"relay-1": one, "relay-2": two}
    try:
        scene.request_and_share()
        expect(scene.screen).to_have_attribute("data-frames", re.compile(r"^[1-9]"), timeout=30_000)
        (first,) = [u for u in shares if "/ws/share" in u]
        owner_name = next(name for name, node in relays.items() if first.startswith(node.ws_url + "/ws/share?token="))
        owner, other = relays[owner_name], relays["relay-2" if owner_name == "relay-1" else "relay-1"]
        assert any(u.startswith(owner.ws_url + "/ws/viewer?session=") for u in viewers)  # both ends on one node

        owner.proc.kill()  # type: ignore[union-attr]
        owner.proc.wait(10)  # type: ignore[union-attr]
        indicator = scene.box.get_by_test_id("share-indicator-text")
        expect(indicator).to_have_text(RELAY_GONE, timeout=20_000)
        # The same stream, a new ticket, the other relay node: sharing again, no picker.
        expect(indicator).to_have_text("Sharing your screen with Rita", timeout=90_000)
        expect(scene.status()).to_have_text("Sharing from the browser (view only)", timeout=60_000)
        assert any(u.startswith(other.ws_url + "/ws/share?token=") for u in shares)
        poll_until(lambda: any(u.startswith(other.ws_url + "/ws/viewer?session=") for u in viewers), timeout=30,
                   what="the console's viewer at the other relay node")
        before = scene.frames()
        poll_until(lambda: scene.frames() > before, timeout=30, what="frames from the other relay node")
        assert scene.visitor.evaluate("window.__pickers") == 1
    finally:
        scene.close()
        admin.close()
        site.close()
