"""Browser end-to-end fixtures: a real ``desklink serve`` process, a second
origin playing the provider's web site, and Debian's Chromium driven by
Playwright (never a downloaded browser).

The sync Playwright API must not run inside an asyncio loop, so the browser
tests are plain sync functions.
"""

from __future__ import annotations

import html
import http.server
import secrets
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from desklink.testing import ServerProcess, free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

#: A provider stylesheet doing its worst; the help box must not change.
HOSTILE_CSS = """
* { font-family: "Comic Sans MS", cursive !important; color: red !important;
    box-sizing: content-box !important; letter-spacing: 0.2em !important;
    line-height: 3 !important; font-size: 22px !important; }
button { display: none !important; }
input, textarea { border: 6px dotted lime !important; background: black !important; padding: 30px !important; }
div, p, ol, li, section, form { padding: 25px !important; margin: 25px !important; }
body * { transform: rotate(2deg); opacity: 0.9; }
"""


class HostSite:
    """The provider's site: a tiny HTTP server on another loopback port, so
    the help box really is embedded cross-origin."""

    def __init__(self, desklink_url: str) -> None:
        self.desklink_url = desklink_url
        self.pages: dict[str, bytes] = {}
        port = free_port()
        self.origin = f"http://127.0.0.1:{port}"
        pages = self.pages

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server API)
                body = pages.get(self.path.split("?")[0])
                if body is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def page(self, queue: str, *, hostile: bool = False) -> str:
        """Publish a provider page embedding the help box for ``queue``; returns its URL."""
        path = f"/p-{secrets.token_hex(4)}.html"
        style = f"<style>{HOSTILE_CSS}</style>" if hostile else ""
        src = html.escape(f"{self.desklink_url}/static/widget/desklink-help.js")
        self.pages[path] = (
            "<!doctype html><html><head><meta charset='utf-8'><title>Acme Widgets</title>"
            f"{style}</head><body><h1>Acme Widgets support</h1>"
            "<p>Our widgets are the finest widgets.</p><button id='own'>Page button</button>"
            f"<script type='module' src='{src}' data-queue='{html.escape(queue)}'></script>"
            "</body></html>"
        ).encode()
        return self.origin + path

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


@pytest.fixture(scope="module")
def host_site(server: ServerProcess) -> Iterator[HostSite]:
    site = HostSite(server.url)
    yield site
    site.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


_counter = iter(range(10**6))


@pytest.fixture
def unique() -> str:
    return f"e{next(_counter)}{secrets.token_hex(2)}"
