#!/usr/bin/env python
"""DeskLink benchmark: screen sharing end to end on a real X server, against
x11vnc on the same workloads.

Run from the repository root::

    .venv/bin/python bench/screen.py                       # all 12 workloads, ~10 min
    .venv/bin/python bench/screen.py --seconds 5 --warmup 2
    .venv/bin/python bench/screen.py --only drag,drag-viewer --vnc zrle
    .venv/bin/python bench/screen.py --only scroll,browser --profile /tmp/prof

One Xvfb at 1920x1080x24 (no window manager), one ``desklink serve``
(:class:`~desklink.testing.ServerProcess`). Per workload the bench starts
the X programs, then measures

1. DeskLink: a fresh chat session, a viewer socket (:class:`BenchViewer`,
   the reference :class:`~desklink.testing.ViewerClient` that decodes every
   frame onto a Canvas and acks it, plus a time stamp per frame), the
   ``screen.request`` join code, and the real agent process
   (``python -m desklink agent --server URL --code CODE --terminal``,
   answered "y") on the display. After ``--warmup`` s, ``--seconds`` s are
   measured. Then the workload's drivers are paused (SIGSTOP), the viewer
   waits until frames stop, and its picture is compared with a screenshot.
   The viewer asks for control and the agent's visitor grants it (as a rep
   who drives); a ``-viewer`` workload's input (keys, pointer moves) comes
   from the viewer as ``input`` messages through the relay, the others' from
   xdotool on the display (the visitor's own keyboard and mouse).
2. x11vnc on the same display, read by the minimal RFB 3.8 client in
   ``bench/_rfb.py`` (``--vnc``: ZRLE + CopyRect, then Tight + CopyRect;
   one incremental request outstanding), same warm-up and measured seconds;
   a ``-viewer`` workload's input goes as RFB key and pointer events.

See bench/README.md ("Screen") for what each figure means.
"""

# The docstring above is the --help text. The code is split by what it
# holds: _screen_workloads (the activities on Xvfb) with _screen_drivers
# (the programs that drive them), _screen_viewer (the time-stamping viewer),
# _screen_desklink (the agent, the measured window, the settle check),
# _screen_x11vnc (x11vnc and the RFB client of _rfb) and _screen_report;
# this file holds the command line and the run.

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _measure import machine_busy_seconds
from _screen_desklink import DeskLinkSide, DLResult
from _screen_report import Results, print_aims, print_details, print_environment, print_table
from _screen_workloads import WORKLOADS, H, W, Workload
from _screen_x11vnc import VNC_ENCODINGS, VNCResult, ensure_x11vnc, run_x11vnc

from desklink.testing import ONE_ADDRESS_ENV, AdminAPI, ServerProcess
from desklink.testing_x import XDisplay


class Bench:
    """The stage every workload runs on: one Xvfb, one server, one rep of
    the ``bench-screen`` queue, a scratch directory; started once, stopped
    (by PID) at the end."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.workdir = Path(tempfile.mkdtemp(prefix="desklink-screen-bench-"))
        self.display = XDisplay(W, H, 24)
        self.server = ServerProcess(env=ONE_ADDRESS_ENV)
        self.admin: AdminAPI | None = None
        self.rep: tuple[str, str] = ("", "")

    async def run_desklink(self, w: Workload) -> DLResult:
        """DeskLink's half of workload ``w`` (after :meth:`start`)."""
        return await DeskLinkSide(self.server, self.display, self.rep, self.args).run(w)

    def run_x11vnc(self, w: Workload, encoding: str) -> VNCResult:
        """x11vnc's half of workload ``w``, read with ``encoding`` (after :meth:`start`)."""
        return run_x11vnc(self.display, self.workdir, w, self.args, encoding)

    def start(self) -> None:
        self.display.start()
        self.server.start()
        self.admin = AdminAPI(self.server)
        self.admin.queue("bench-screen")
        (self.rep,) = self.admin.reps(1, queue_slug="bench-screen", prefix="screenbench")

    def stop(self) -> None:
        if self.admin is not None:
            self.admin.close()
        self.server.stop()
        self.display.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


def wait_quiet(limit_s: float, busy_pct: float = 25.0, need_s: int = 2) -> str:
    """Wait (at most ``limit_s``) until the whole machine is under ``busy_pct``
    (% of one core) for ``need_s`` seconds in a row. Call it when nothing of
    the bench is busy: the CPU it sees is other people's. Returns a note."""
    started = time.monotonic()
    quiet = 0
    seen = 0.0
    while time.monotonic() - started < limit_s:
        b0, t0 = machine_busy_seconds(), time.monotonic()
        time.sleep(1.0)
        seen = 100.0 * (machine_busy_seconds() - b0) / (time.monotonic() - t0)
        quiet = quiet + 1 if seen < busy_pct else 0
        if quiet >= need_s:
            return f"waited {time.monotonic() - started:.0f} s for a quiet machine"
    return f"machine still busy ({seen:.0f}% of one core) after {limit_s:.0f} s; measuring anyway"


async def amain(args: argparse.Namespace) -> int:
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = [n for n in names if n not in WORKLOADS]
    if unknown:
        print(f"unknown workload(s) {unknown}; choose from {list(WORKLOADS)}")
        return 2
    encodings = [e.strip() for e in args.vnc.split(",") if e.strip()]
    if any(e not in VNC_ENCODINGS for e in encodings):
        print(f"--vnc takes {','.join(VNC_ENCODINGS)}, got {args.vnc!r}")
        return 2
    for tool in ("Xvfb", "xterm", "xdotool", "less"):
        if not shutil.which(tool):
            print(f"{tool} is needed (apt-get install xvfb xterm xdotool)")
            return 2
    have_vnc = ensure_x11vnc(args.no_x11vnc)
    print_environment(args)
    bench = Bench(args)
    results: Results = []
    started = time.monotonic()
    try:
        bench.start()
        for name in names:
            w = WORKLOADS[name](bench.display, bench.workdir)
            print(f"-- {name}: {w.title}", flush=True)
            if args.wait_quiet > 0:
                print(f"   {await asyncio.to_thread(wait_quiet, args.wait_quiet)}", flush=True)
            try:
                w.setup()
                if w.note:
                    print(f"   {w.note}", flush=True)
                time.sleep(1.0)
                d = await bench.run_desklink(w)
                print(f"   DeskLink: {d.content_fps:.1f} content + {d.refine_fps:.1f} refine fps, {d.kbps * 8:.0f} kbit/s, agent {d.agent_cpu:.0f}%, "
                      f"latency p50 {d.lat_p50:.1f} ms, error {d.error:.2f}", flush=True)
                vnc: dict[str, VNCResult] = {}
                for enc in encodings if have_vnc else []:
                    await asyncio.sleep(0.5)
                    v = vnc[enc] = await asyncio.to_thread(bench.run_x11vnc, w, enc)
                    print(f"   x11vnc {enc:5}: {v.ups:.1f} upd/s, {v.kbps * 8:.0f} kbit/s, x11vnc {v.cpu:.0f}%", flush=True)
                results.append((w, d, vnc))
            finally:
                w.teardown()
    finally:
        bench.stop()
    print_table(results)
    print_aims(results)
    print_details(results)
    print(f"\n(total {time.monotonic() - started:.0f} s)")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=10.0, help="measured seconds per workload and product (default 10)")
    ap.add_argument("--warmup", type=float, default=3.0, help="seconds before measuring (default 3)")
    ap.add_argument("--only", default=",".join(WORKLOADS), help=f"workloads, comma-separated (default all: {','.join(WORKLOADS)})")
    ap.add_argument("--no-x11vnc", action="store_true", help="DeskLink only")
    ap.add_argument("--agent-arg", action="append", default=[], metavar="ARG",
                    help="pass ARG to the agent (repeatable), e.g. --agent-arg=--no-video to compare with tiles only")
    ap.add_argument("--vnc", default="zrle,tight", help="RFB encodings to read x11vnc with, each a run (default zrle,tight)")
    ap.add_argument("--wait-quiet", type=float, default=0.0, metavar="S",
                    help="before each workload wait up to S seconds until the rest of the machine is idle (shared machines)")
    ap.add_argument("--profile-mode", choices=("cpu", "wall"), default="cpu",
                    help="cpu: running samples only; wall: --idle too, so waiting (X replies, the socket) shows")
    ap.add_argument("--profile", metavar="DIR", help="sample the agent with py-spy during each measured window (costs CPU)")
    args = ap.parse_args()
    return asyncio.run(amain(args))


if __name__ == "__main__":
    sys.exit(main())
