#!/usr/bin/env python
"""DeskLink benchmark: sharing the screen from the visitor's browser (the
help box's "Share from this browser") at 1920x1080, end to end.

Run from the repository root::

    .venv/bin/python bench/browser_share.py                      # five workloads, ~2 min
    .venv/bin/python bench/browser_share.py --seconds 4 --warmup 2 --only idle,typing

One Xvfb at 1920x1080x24 (no window manager), one ``desklink serve``
(:class:`~desklink.testing.ServerProcess`), a tiny provider site embedding
the help box, and two Chromium instances from one Playwright: the visitor's
ON the X display (screen capture needs a real screen; the picker is
answered by ``--auto-select-desktop-capture-source=Entire screen``), its
window in the top-left corner (600x500), and the rep's console, headless.
Per workload (bench/_screen_workloads.py, the workloads bench/screen.py
measures the agent on, plus a 25 fps video-like region) the bench opens a
fresh chat, the rep requests the screen, the visitor clicks Share from this
browser, and then the X programs start (after the clicks, which move the X
input focus to the visitor's browser); after ``--warmup`` s it measures
``--seconds`` s:

* fps: frames the rep's viewer drew per second (``data-frames``);
* kbit/s: bytes the help box sent (its ``share.statistics()``);
* capture to drawn, p50/p99: from the help box taking the captured frame
  (``capture_us``, the page's wall clock) to the viewer's worker having
  drawn it (its wall clock), both pages on this computer. The browser's own
  capture (X server to the track) comes before and is not in it;
* skipped: captured frames dropped by the help box because the window of
  unacknowledged chunks was full;
* CPU of the visitor's Chromium (all its processes), the server and the
  rep's Chromium, in % of one core.

The agent's figures on the same workloads are in docs/performance.md
(bench/screen.py); this bench does not run the agent.
"""

from __future__ import annotations

import argparse
import html
import http.server
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _measure import CpuMeter, Table, descendants, machine_line, summary
from _screen_workloads import WORKLOADS, H, Video, W, Workload

from desklink.testing import ONE_ADDRESS_ENV, AdminAPI, ServerProcess, free_port
from desklink.testing_x import XDisplay

CHROMIUM = "/usr/bin/chromium"
COMMON_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run"]
VISITOR_ARGS = [*COMMON_ARGS, "--auto-select-desktop-capture-source=Entire screen", "--window-position=0,0",
                "--window-size=600,500"]


class Video25(Video):
    name = "video25"
    title = "480x270 video-like Tk animation at 25 fps"

    def setup(self) -> None:
        from _screen_drivers import VIDEO

        self.xterm("100x30+40+40", "bench-video-term", "sh", "-c", "ls -l /usr/bin | head -28; exec sleep 100000")
        self.driver(VIDEO, "25")
        self.d.wait_window("bench video")
        self.note = "Tk PhotoImage 480x270, moving gradients + noise at 25 fps, beside an idle xterm"


BENCH_WORKLOADS: dict[str, type[Workload]] = {
    "idle": WORKLOADS["idle"],
    "typing": WORKLOADS["typing"],
    "scroll": WORKLOADS["scroll"],
    "browser": WORKLOADS["browser"],
    "video25": Video25,
}


class Site:
    """The provider's site on another origin: ``/<queue>.html`` embeds the help box for that queue."""

    def __init__(self, desklink_url: str) -> None:
        src = html.escape(f"{desklink_url}/static/widget/desklink-help.js")

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                queue = html.escape(self.path.strip("/").removesuffix(".html"))
                body = (f"<!doctype html><html><head><meta charset='utf-8'><title>bench visitor</title></head><body>"
                        f"<script type='module' src='{src}' data-queue='{queue}'></script></body></html>").encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        port = free_port()
        self.origin = f"http://127.0.0.1:{port}"
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def chromium_pids(marker: str) -> list[int]:
    """Every process of the Chromium whose browser process has ``marker`` on
    its command line (the visitor's capture flag, or the rep's --headless)."""
    out: list[int] = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if cmd and cmd[0].endswith(b"chromium") and marker.encode() in cmd and not any(c.startswith(b"--type=") for c in cmd):
            out.extend(descendants(int(proc.name)))
    return sorted(set(out))


VISITOR_MARK = "--auto-select-desktop-capture-source=Entire screen"


def run_workload(name: str, cls: type[Workload], args: argparse.Namespace, d: XDisplay, server: ServerProcess, admin: AdminAPI,
                 site: Site, rep_browser: Any, visitor_browser: Any, work: Path, table: Table) -> dict[str, Any]:
    unique = f"bs{secrets.token_hex(3)}"
    admin.queue(unique, origins=[site.origin])
    q = admin.queue(unique)
    username, password = f"{unique}rep", "pw-" + secrets.token_hex(8)
    admin.members(q["id"], [admin.user(username, password, display_name="Rita")["id"]])
    rep_ctx = rep_browser.new_context(viewport={"width": 1400, "height": 900})
    visitor_ctx = visitor_browser.new_context(viewport={"width": 580, "height": 400})
    workload = cls(d, work)
    try:
        rep = rep_ctx.new_page()
        if args.debug:
            rep.on("console", lambda m: print("  rep console:", m.text[:300], flush=True))
        rep.goto(server.url + "/console")
        rep.get_by_test_id("username").fill(username)
        rep.get_by_test_id("password").fill(password)
        rep.get_by_test_id("login").click()
        rep.wait_for_selector("[data-testid=connection][data-state=open]")
        rep.get_by_test_id("presence-toggle").click()
        rep.wait_for_selector("[data-testid=presence-status][data-status=online]")
        visitor = visitor_ctx.new_page()
        if args.debug:
            visitor.on("console", lambda m: print("  visitor console:", m.text[:300], flush=True))
        visitor.goto(f"{site.origin}/{unique}.html")
        box = visitor.locator("desklink-help")
        box.get_by_test_id("launcher").click()
        box.get_by_test_id("name").fill("Vic")
        box.get_by_test_id("question").fill("Please look at my screen.")
        box.get_by_test_id("submit").click()
        rep.get_by_test_id("alert-accept").click(timeout=20_000)
        chat = rep.locator("[data-testid=chat]").first
        chat.get_by_test_id("screen-request").click()
        box.get_by_test_id("screen-share-browser").click(timeout=20_000)
        screen = chat.get_by_test_id("screen")
        rep.wait_for_function("(el) => Number(el.dataset.frames) > 0", arg=screen.element_handle(), timeout=30_000)
        # After the clicks in the visitor's browser, which take the X input focus: the
        # workload's programs start now and focus their own windows (typing goes to the xterm).
        workload.setup()
        time.sleep(args.warmup)

        def frames() -> int:
            return int(screen.get_attribute("data-frames") or 0)

        def sender() -> dict[str, Any]:
            return visitor.evaluate("document.querySelector('desklink-help').share.statistics()")

        lat0 = screen.evaluate("(el) => (el.captureLatencies || []).length")
        f0, s0 = frames(), sender()
        meter = CpuMeter({
            "visitor chromium": lambda: chromium_pids(VISITOR_MARK),
            "server": server.proc.pid if server.proc else 0,
            "rep chromium": lambda: chromium_pids("--headless"),
        }).start()
        t0 = time.monotonic()
        time.sleep(args.seconds)
        wall = time.monotonic() - t0
        cpu = meter.stop()
        f1, s1 = frames(), sender()
        lats = screen.evaluate(f"(el) => (el.captureLatencies || []).slice({lat0})")
        fps = (f1 - f0) / wall
        kbps = (s1["bytes"] - s0["bytes"]) * 8 / 1000 / wall
        lat = summary(lats)
        result = {
            "name": name, "title": cls.title, "note": workload.note, "fps": fps, "kbps": kbps,
            "lat_p50": lat.p50, "lat_p99": lat.p99, "n": lat.n, "skipped": s1["skipped"] - s0["skipped"],
            "mode": s1["mode"], "codec": s1["codec"], "bitrate": s1["bitrate"], "rtt": s1["rttMs"],
            "cpu": cpu.percent(),
        }
        table.section(f"{name}: {cls.title}")
        table.value("viewer fps", f"{fps:.1f}")
        table.value("sent kbit/s", f"{kbps:.0f}")
        table.dist("capture to drawn", [v / 1000 for v in lats])
        table.value("skipped (window full)", str(result["skipped"]))
        table.value("encoder", f"{s1['mode']} {s1['codec']} at {s1['bitrate'] / 1000:.0f} kbit/s target")
        for group, pct in cpu.percent().items():
            table.value(f"CPU {group}", f"{pct:.0f}", "%")
        return result
    finally:
        workload.teardown()
        rep_ctx.close()
        visitor_ctx.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per workload")
    parser.add_argument("--warmup", type=float, default=4.0, help="seconds before measuring")
    parser.add_argument("--debug", action="store_true", help="print both pages' console messages")
    parser.add_argument("--only", default="", help=f"comma-separated workloads of {','.join(BENCH_WORKLOADS)}")
    args = parser.parse_args()
    names = [n for n in args.only.split(",") if n] or list(BENCH_WORKLOADS)
    print(machine_line(), flush=True)
    from playwright.sync_api import sync_playwright

    table = Table()
    results = []
    with tempfile.TemporaryDirectory(prefix="dl-bshare-") as tmp, XDisplay(W, H) as d:
        work = Path(tmp)
        subprocess.run(["xsetroot", "-solid", "#2f6690"], env=d.env, check=False)
        with ServerProcess(env={**ONE_ADDRESS_ENV, "DESKLINK_JOIN_ATTEMPTS_PER_MINUTE": "1000"}) as server, sync_playwright() as p:
            admin = AdminAPI(server)
            site = Site(server.url)
            rep_b = p.chromium.launch(executable_path=CHROMIUM, args=[*COMMON_ARGS, "--headless"])
            visitor_b = p.chromium.launch(executable_path=CHROMIUM, args=VISITOR_ARGS, headless=False, env=d.env)
            try:
                for name in names:
                    results.append(run_workload(name, BENCH_WORKLOADS[name], args, d, server, admin, site, rep_b, visitor_b,
                                                work, table))
            finally:
                visitor_b.close()
                rep_b.close()
                site.close()
                admin.close()
    print()
    print("| workload | fps | kbit/s | capture to drawn p50 / p99 | skipped | encoder | visitor Chromium CPU |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['title']} | {r['fps']:.1f} | {r['kbps']:.0f} | {r['lat_p50']:.1f} / {r['lat_p99']:.1f} ms | {r['skipped']} "
              f"| {r['mode']} {r['codec']} | {r['cpu']['visitor chromium']:.0f} % |")
    print(f"\nload average at the end: {machine_line().split('load average ')[-1]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
