"""The viewer's whiteboard (web/viewer/whiteboard.js) in Debian's Chromium:
Draw mode takes the pointer away from remote input and gives it back,
strokes go out in monitor pixels whatever the scale, incoming strokes are
drawn, undo / clear / fade work, and nothing breaks the CSP.

The page is a harness laid out with the viewer's own CSS (a 1920x1080
picture scaled to fit), served with the server's security headers from
src/desklink/web by a tiny static server; the module is the real one."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from desklink.server.headers import CSP
from desklink.testing import free_port

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
WEB = Path(__file__).resolve().parents[2] / "src" / "desklink" / "web"
MW, MH = 1920, 1080

HARNESS_HTML = b"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>whiteboard harness</title>
<link rel="stylesheet" href="/static/shared/base.css">
<link rel="stylesheet" href="/static/viewer/viewer.css">
<link rel="stylesheet" href="/harness.css">
<script type="module" src="/harness.js"></script>
</head><body>
<section class="screen" data-testid="screen" data-status="sharing" data-scale="fit">
  <div class="screen-bar"></div>
  <div class="screen-stage">
    <div class="screen-surface" data-testid="screen-surface">
      <canvas class="screen-cursor" width="1" height="1"></canvas>
      <canvas class="screen-canvas" data-testid="screen-canvas"></canvas>
    </div>
  </div>
</section>
</body></html>"""

HARNESS_CSS = b""".screen { position: fixed; inset: 0; }"""

HARNESS_JS = b"""
import { Whiteboard } from '/static/viewer/whiteboard.js';
const surface = document.querySelector('.screen-surface');
const picture = document.querySelector('.screen-canvas');
picture.width = 1920; picture.height = 1080;
const pc = picture.getContext('2d'); pc.fillStyle = '#808080'; pc.fillRect(0, 0, 1920, 1080);
window.sent = [];
window.surfaceDowns = 0;
window.connected = true;
surface.addEventListener('pointerdown', () => { window.surfaceDowns += 1; });
const wb = new Whiteboard({
  surface, before: document.querySelector('.screen-cursor'),
  size: () => ({ width: 1920, height: 1080 }),
  send: (msg) => { if (!window.connected) return false; window.sent.push(JSON.parse(JSON.stringify(msg))); return true; },
  toast: (text) => { window.lastToast = text; },
});
document.querySelector('.screen-bar').append(wb.element);
wb.resize(1920, 1080);
wb.setEnabled(true);
window.wb = wb;
window.pixel = (x, y) => Array.from(wb.canvas.getContext('2d').getImageData(x, y, 1, 1).data);
window.ready = true;
"""


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    files = {"/harness.html": (HARNESS_HTML, "text/html"), "/harness.js": (HARNESS_JS, "text/javascript"),
             "/harness.css": (HARNESS_CSS, "text/css"), "/favicon.ico": (b"", "image/x-icon")}
    types = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".html": "text/html"}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server API)
            path = self.path.split("?")[0]
            if path in files:
                body, ctype = files[path]
            elif path.startswith("/static/") and ".." not in path and (WEB / path[8:]).is_file():
                body, ctype = (WEB / path[8:]).read_bytes(), types.get(Path(path).suffix, "application/octet-stream")
            else:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Content-Security-Policy", CSP)
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    port = free_port()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any, site: str) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1000, "height": 700})
    pg = context.new_page()
    problems: list[str] = []
    pg.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
    pg.on("console", lambda m: problems.append(f"console: {m.text}")
          if m.type == "error" or "Content Security Policy" in m.text or "Refused" in m.text else None)
    pg.goto(f"{site}/harness.html")
    pg.wait_for_function("() => window.ready === true")
    yield pg
    assert not problems, problems
    context.close()


def to_client(page: Page, x: float, y: float) -> tuple[float, float]:
    """Monitor pixel (x, y) -> client coordinates of its centre on the fitted picture."""
    box = page.get_by_test_id("whiteboard-canvas").bounding_box()
    assert box is not None
    s = min(box["width"] / MW, box["height"] / MH)
    left = box["x"] + (box["width"] - MW * s) / 2
    top = box["y"] + (box["height"] - MH * s) / 2
    return left + (x + 0.5) * s, top + (y + 0.5) * s


def drag(page: Page, path: list[tuple[int, int]]) -> None:
    page.mouse.move(*to_client(page, *path[0]))
    page.mouse.down()
    for x, y in path[1:]:
        page.mouse.move(*to_client(page, x, y), steps=4)
    page.mouse.up()


def sent(page: Page) -> list[dict[str, Any]]:
    return page.evaluate("window.sent")


def near(a: list[int], b: tuple[int, int], tol: int = 2) -> bool:
    return abs(a[0] - b[0]) <= tol and abs(a[1] - b[1]) <= tol


def test_toolbar_and_testids(page: Page) -> None:
    for tid in ["whiteboard-toggle", "whiteboard-undo", "whiteboard-clear", "whiteboard-canvas"]:
        expect(page.get_by_test_id(tid)).to_have_count(1)
    toggle = page.get_by_test_id("whiteboard-toggle")
    expect(toggle).to_have_attribute("aria-pressed", "false")
    expect(page.get_by_test_id("whiteboard-tool-pen")).to_be_hidden()  # tools show in Draw mode
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "true")
    for tool in ["pen", "arrow", "rect", "highlighter"]:
        expect(page.get_by_test_id(f"whiteboard-tool-{tool}")).to_be_visible()
    palette = page.get_by_test_id("whiteboard-color")
    expect(palette.get_by_role("radio")).to_have_count(6)
    page.get_by_test_id("whiteboard-color-blue").click()
    expect(palette).to_have_attribute("data-color", "#2563eb")
    expect(page.get_by_test_id("whiteboard-color-blue")).to_have_attribute("aria-checked", "true")
    # the swatches are coloured by whiteboard.css (which the module loads itself)
    bg = page.get_by_test_id("whiteboard-color-blue").evaluate("el => getComputedStyle(el).backgroundColor")
    assert bg == "rgb(37, 99, 235)"
    expect(page.get_by_test_id("whiteboard-undo")).to_be_disabled()
    expect(page.get_by_test_id("whiteboard-clear")).to_be_disabled()


def test_draw_mode_takes_the_pointer_and_gives_it_back(page: Page) -> None:
    drag(page, [(500, 500), (700, 600)])
    assert page.evaluate("window.surfaceDowns") == 1  # off: remote input gets the press
    assert sent(page) == []
    page.get_by_test_id("whiteboard-toggle").click()
    drag(page, [(500, 500), (700, 600)])
    assert page.evaluate("window.surfaceDowns") == 1  # on: the whiteboard keeps it
    assert len(sent(page)) == 1
    page.get_by_test_id("whiteboard-toggle").click()
    drag(page, [(100, 100), (200, 200)])
    assert page.evaluate("window.surfaceDowns") == 2
    assert len(sent(page)) == 1


def test_pen_stroke_in_monitor_pixels(page: Page) -> None:
    page.get_by_test_id("whiteboard-toggle").click()
    page.get_by_test_id("whiteboard-color-green").click()
    path = [(300, 200), (600, 260), (900, 700), (1800, 1000)]
    drag(page, path)
    (msg,) = sent(page)
    assert msg["t"] == "annotate" and msg["op"] == "stroke" and msg["tool"] == "pen"
    assert msg["color"] == "#16a34a" and msg["width"] == 4 and msg["fade_s"] == 0
    assert 0 < len(msg["id"]) <= 64
    pts = msg["points"]
    assert near(pts[0], path[0]) and near(pts[-1], path[-1])
    assert any(near(p, path[2], 3) for p in pts)
    assert all(0 <= x < MW and 0 <= y < MH and isinstance(x, int) for x, y in pts)
    assert len({tuple(p) for p in pts}) == len(pts) or all(a != b for a, b in zip(pts, pts[1:], strict=False))  # no repeats in a row
    # ...and it is on the canvas, in monitor pixels
    page.wait_for_function("() => window.wb.canvas.dataset.strokes === '1'")
    assert page.evaluate("window.pixel(600, 260)") == [0x16, 0xA3, 0x4A, 255]
    assert page.evaluate("window.pixel(600, 600)")[3] == 0  # transparent elsewhere


def test_arrow_rect_and_highlighter(page: Page) -> None:
    page.get_by_test_id("whiteboard-toggle").click()
    for tool, path in [("arrow", [(100, 100), (300, 150), (500, 400)]), ("rect", [(800, 300), (1200, 700)]),
                       ("highlighter", [(100, 900), (900, 920)])]:
        page.get_by_test_id(f"whiteboard-tool-{tool}").click()
        drag(page, path)
    arrow, rect, hl = sent(page)
    assert arrow["tool"] == "arrow" and len(arrow["points"]) == 2
    assert near(arrow["points"][0], (100, 100)) and near(arrow["points"][1], (500, 400))
    assert rect["tool"] == "rect" and near(rect["points"][0], (800, 300)) and near(rect["points"][1], (1200, 700))
    assert hl["tool"] == "highlighter" and hl["width"] == 18
    page.wait_for_function("() => window.wb.canvas.dataset.strokes === '3'")
    x1, y1 = arrow["points"][1]
    assert page.evaluate(f"window.pixel({x1 - 14}, {y1 - 10})")[3] == 255  # inside the head
    assert page.evaluate("window.pixel(1000, 500)")[3] == 0  # the box is hollow
    rx, ry = rect["points"][0]
    assert page.evaluate(f"window.pixel({rx}, 500)")[3] == 255
    # A click without a drag makes no arrow or box
    page.get_by_test_id("whiteboard-tool-rect").click()
    page.mouse.click(*to_client(page, 50, 50))
    assert len(sent(page)) == 3


def test_undo_own_last_stroke_and_clear(page: Page) -> None:
    page.get_by_test_id("whiteboard-toggle").click()
    drag(page, [(100, 100), (400, 100)])
    drag(page, [(100, 300), (400, 300)])
    first, second = sent(page)
    page.evaluate("""window.wb.apply({t: 'annotate', op: 'stroke', id: 'visitor-1', tool: 'pen', color: '#ff0000',
                                      width: 6, points: [[100, 500], [400, 500]]})""")
    page.wait_for_function("() => window.wb.canvas.dataset.strokes === '3'")
    page.get_by_test_id("whiteboard-undo").click()
    assert sent(page)[-1] == {"t": "annotate", "op": "undo", "id": second["id"]}
    page.get_by_test_id("whiteboard-undo").click()
    assert sent(page)[-1] == {"t": "annotate", "op": "undo", "id": first["id"]}
    expect(page.get_by_test_id("whiteboard-undo")).to_be_disabled()  # the visitor's stroke is not ours to undo
    page.wait_for_function("() => window.wb.canvas.dataset.strokes === '1'")
    assert page.evaluate("window.pixel(250, 500)") == [255, 0, 0, 255]
    page.get_by_test_id("whiteboard-clear").click()
    assert sent(page)[-1] == {"t": "annotate", "op": "clear"}
    page.wait_for_function("() => window.wb.canvas.dataset.strokes === '0'")
    assert page.evaluate("window.pixel(250, 500)")[3] == 0


def test_incoming_strokes_replace_undo_clear_and_bad_ones(page: Page) -> None:
    stroke = {"t": "annotate", "op": "stroke", "id": "a", "tool": "rect", "color": "#0000ff", "width": 3, "points": [[100, 100], [300, 200]]}
    page.evaluate("m => window.wb.apply(m)", stroke)
    page.evaluate("m => window.wb.apply(m)", stroke)  # a replay: same id, no double
    page.wait_for_function("() => window.wb.canvas.dataset.strokes === '1'")
    assert page.evaluate("window.pixel(100, 150)") == [0, 0, 255, 255]
    for bad in [{**stroke, "id": "b", "color": "red"}, {**stroke, "id": "c", "tool": "spray"},
                {**stroke, "id": "d", "points": [["x", 1]]}, {**stroke, "id": "e", "points": []}, {"t": "annotate", "op": "nope"}]:
        page.evaluate("m => window.wb.apply(m)", bad)
    page.evaluate("() => window.wb.apply({t: 'annotate', op: 'undo', id: 'zzz'})")
    assert page.evaluate("window.wb.strokes.size") == 1
    page.evaluate("() => window.wb.apply({t: 'annotate', op: 'undo', id: 'a'})")
    page.wait_for_function("() => window.wb.canvas.dataset.strokes === '0'")
    page.evaluate("m => window.wb.apply(m)", {**stroke, "id": "x"})
    page.evaluate("() => window.wb.apply({t: 'annotate', op: 'clear'})")
    page.wait_for_function("() => window.wb.canvas.dataset.strokes === '0'")
    assert sent(page) == []  # nothing incoming is echoed


def test_fading_strokes_go(page: Page) -> None:
    page.evaluate("""window.wb.apply({t: 'annotate', op: 'stroke', id: 'f', tool: 'pen', color: '#ff0000', width: 10,
                                      points: [[500, 500], [900, 500]], fade_s: 2})""")
    page.wait_for_function("() => window.wb.canvas.dataset.strokes === '1'")
    assert page.evaluate("window.pixel(700, 500)")[3] > 200
    page.wait_for_function("() => window.wb.canvas.dataset.strokes === '0'", timeout=5000)
    assert page.evaluate("window.pixel(700, 500)")[3] == 0
    # the rep's Fade toggle puts fade_s on new strokes
    page.get_by_test_id("whiteboard-toggle").click()
    page.get_by_test_id("whiteboard-fade").click()
    drag(page, [(100, 100), (300, 300)])
    assert sent(page)[-1]["fade_s"] > 0


def test_not_connected_keeps_nothing_and_disable_clears(page: Page) -> None:
    page.get_by_test_id("whiteboard-toggle").click()
    page.evaluate("window.connected = false")
    drag(page, [(100, 100), (300, 300)])
    assert page.evaluate("window.wb.strokes.size") == 0 and "Not connected" in page.evaluate("window.lastToast")
    page.evaluate("window.connected = true")
    drag(page, [(100, 100), (300, 300)])
    assert page.evaluate("window.wb.strokes.size") == 1
    page.evaluate("window.wb.setEnabled(false)")  # sharing stopped
    expect(page.get_by_test_id("whiteboard")).to_be_hidden()
    assert page.evaluate("window.wb.strokes.size") == 0 and page.evaluate("window.wb.drawing") is False
    assert json.dumps(sent(page)).count('"stroke"') == 1
