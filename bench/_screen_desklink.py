"""bench/screen.py's DeskLink side: per workload a fresh chat session, the
bench's viewer, the ``screen.request`` join code and the real agent process
on the display; then the measured window, the settle-and-compare check and
(``--profile``) py-spy's summary of the agent.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from _measure import CpuMeter, PySpy, percentile, read_collapsed, share_lines
from _screen_input import play_desklink
from _screen_viewer import BenchViewer
from _screen_workloads import Workload

from desklink.protocol import screen
from desklink.testing import RepClient, ServerProcess, VisitorClient
from desklink.testing_x import XDisplay


@dataclass
class DLResult:
    """DeskLink's figures for one workload (README "The screen figures")."""

    fps: float = 0.0
    content_fps: float = 0.0  # frames with a new picture (motion and key frames)
    refine_fps: float = 0.0  # FLAG_REFINE frames (the same picture, sharper)
    content_frame_kb: float = float("nan")  # kB per content frame, frame messages only
    refine_kbps: float = 0.0  # kB/s of refine frames
    kbps: float = 0.0  # kB/s, every message to the viewer
    frame_kbps: float = 0.0  # kB/s, frames only
    seconds: float = 0.0
    agent_cpu: float = 0.0
    lat_p50: float = float("nan")
    lat_p99: float = float("nan")
    drawn_p50: float = float("nan")
    drawn_p99: float = float("nan")
    error: float = float("nan")
    error_p999: float = float("nan")
    cpu: dict[str, float] = field(default_factory=dict)
    frames: int = 0
    key: int = 0
    refine: int = 0
    rects: dict[str, int] = field(default_factory=dict)
    rect_bytes: dict[str, int] = field(default_factory=dict)
    max_frame_kb: float = 0.0
    other_msgs: dict[str, int] = field(default_factory=dict)  # cursor, pointer, json: count
    other_bytes: int = 0
    agent_output: str = ""
    profile: str = ""


class DeskLinkSide:
    """Runs the DeskLink half of each workload against one server and
    display, as the rep ``rep`` (username, password) of the bench's queue."""

    def __init__(self, server: ServerProcess, display: XDisplay, rep: tuple[str, str], args: argparse.Namespace) -> None:
        self.server = server
        self.display = display
        self.rep = rep
        self.args = args

    async def chat(self) -> tuple[RepClient, VisitorClient, str]:
        """A fresh chat session: (rep, visitor, session id)."""
        rep = await RepClient.connect(self.server, *self.rep)
        visitor = await VisitorClient.submit(self.server, queue="bench-screen", name="Bench visitor")
        await rep.expect("alert")
        await rep.send({"t": "accept", "request_id": visitor.request_id})
        sid = (await rep.expect("accepted"))["session"]["id"]
        return rep, visitor, sid

    def start_agent(self, code: str) -> tuple[subprocess.Popen[str], list[str]]:
        """The real agent on the display, answered "y"; its output is
        collected into the returned list by a thread."""
        cmd = [sys.executable, "-m", "desklink", "agent", "--server", self.server.url, "--code", code.replace(" ", ""), "--terminal",
               *self.args.agent_arg]
        proc = subprocess.Popen(cmd, env={**self.display.env, "PYTHONUNBUFFERED": "1"}, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write("y\n")
        proc.stdin.flush()
        lines: list[str] = []
        stdout = proc.stdout
        threading.Thread(target=lambda: lines.extend(stdout), daemon=True).start()
        return proc, lines

    async def run(self, w: Workload) -> DLResult:
        """Share the screen during ``w``: warm up, measure, settle and compare."""
        res = DLResult()
        rep, visitor, sid = await self.chat()
        viewer = await BenchViewer.connect(self.server, *self.rep, sid)
        agent: subprocess.Popen[str] | None = None
        player: asyncio.Future[None] | None = None
        try:
            await viewer.wait_status("waiting_agent")
            await rep.send({"t": "screen.request", "session_id": sid})
            code = (await rep.expect("screen.offer"))["code"]
            agent, lines = self.start_agent(code)
            await viewer.wait_status("sharing", timeout=30)
            # Control, granted by the visitor, as for a rep who drives.
            await viewer.send({"t": "control.request"})
            await viewer.wait_control("asking", timeout=15)
            assert agent.stdin is not None
            agent.stdin.write("y\n")
            agent.stdin.flush()
            await viewer.wait_control("granted", timeout=15)
            script = w.viewer_input
            player = asyncio.ensure_future(play_desklink(script, viewer.send)) if script is not None else None
            await asyncio.sleep(self.args.warmup)
            meter = CpuMeter({"agent": lambda: [agent.pid] if agent else [], "server": lambda: [self.server.proc.pid],
                              "xvfb": lambda: [self.display.proc.pid], "apps": w.pids, "viewer": lambda: [os.getpid()]})
            profiler = self.start_profiler(agent.pid, w.name)
            i0 = len(viewer.log)
            meter.start()
            t0 = time.monotonic()
            await asyncio.sleep(self.args.seconds)
            t1 = time.monotonic()
            res.cpu = meter.stop().percent()
            res.agent_cpu = res.cpu["agent"]
            log = [a for a in viewer.log[i0:] if t0 <= a.at < t1]
            if profiler is not None:
                res.profile = await asyncio.to_thread(self.finish_profiler, profiler)
            secs = res.seconds = t1 - t0
            res.frames = len(log)
            res.fps = len(log) / secs
            res.frame_kbps = sum(a.nbytes for a in log) / secs / 1000
            wire = [(n, kind) for at, n, kind in viewer.wire if t0 <= at < t1]
            res.kbps = sum(n for n, _ in wire) / secs / 1000
            for n, kind in wire:
                if kind != "frame":
                    res.other_msgs[kind] = res.other_msgs.get(kind, 0) + 1
                    res.other_bytes += n
            lat = [(a.at - a.capture_us / 1e6) * 1000 for a in log]
            drawn = [(a.drawn - a.capture_us / 1e6) * 1000 for a in log if a.drawn == a.drawn]
            if lat:
                res.lat_p50, res.lat_p99 = percentile(lat, 50), percentile(lat, 99)
                res.drawn_p50, res.drawn_p99 = percentile(drawn, 50), percentile(drawn, 99)
                res.max_frame_kb = max(a.nbytes for a in log) / 1000
            res.key = sum(1 for a in log if a.flags & screen.FLAG_KEY)
            res.refine = sum(1 for a in log if a.flags & screen.FLAG_REFINE)
            for a in log:
                for k, v in a.rects.items():
                    res.rects[k] = res.rects.get(k, 0) + v
                for k, v in a.rect_bytes.items():
                    res.rect_bytes[k] = res.rect_bytes.get(k, 0) + v
            content = [a for a in log if not a.flags & screen.FLAG_REFINE]
            res.content_fps = len(content) / secs
            res.refine_fps = res.refine / secs
            res.refine_kbps = sum(a.nbytes for a in log if a.flags & screen.FLAG_REFINE) / secs / 1000
            if content:
                res.content_frame_kb = sum(a.nbytes for a in content) / len(content) / 1000
            # Settle: freeze the drivers and the viewer's input, wait for the
            # last frames (refinement), compare.
            if player is not None:
                if player.done() and player.exception() is not None:
                    raise RuntimeError(f"the viewer's input failed: {player.exception()!r}")
                player.cancel()
                await asyncio.gather(player, return_exceptions=True)
            refused = [e for e in viewer.errors if "input" in str(e.get("message", "")) or e.get("code") in ("bad_input", "forbidden")]
            if refused:
                print(f"   (the relay refused the viewer's input: {refused[:3]})", flush=True)
            w.pause()
            try:
                await asyncio.sleep(0.3)
                await viewer.settle(quiet_s=1.0, timeout=20)
                shot = await asyncio.to_thread(self.display.screenshot)
                diff = np.abs(viewer.canvas.rgb.astype(np.int16) - shot.astype(np.int16))
                res.error = float(diff.mean())
                res.error_p999 = float(np.percentile(diff, 99.9))
            except TimeoutError:
                res.error = float("nan")
            finally:
                w.resume()
            await viewer.send({"t": "screen.stop"})
            await viewer.wait_status("stopped")
            try:
                await asyncio.to_thread(agent.wait, 15)
            except subprocess.TimeoutExpired:
                print("   (the agent did not exit within 15 s of screen.stop; terminating it)", flush=True)
            res.agent_output = "".join(lines)
        finally:
            if player is not None and not player.done():
                player.cancel()
                await asyncio.gather(player, return_exceptions=True)
            if agent is not None and agent.poll() is None:
                agent.terminate()
                await asyncio.to_thread(agent.wait, 10)
            await viewer.close()
            await rep.close()
            await visitor.close()
        return res

    def start_profiler(self, pid: int, name: str) -> PySpy | None:
        """py-spy on the agent for the measured window (--profile DIR)."""
        if not self.args.profile:
            return None
        return PySpy(pid, Path(self.args.profile) / f"agent-{name}.txt", rate=100, idle=self.args.profile_mode == "wall")

    def finish_profiler(self, spy: PySpy) -> str:
        out = spy.stop()
        return summarize_profile(out) if out.exists() else "(py-spy wrote nothing)"


def summarize_profile(path: Path, top: int = 14) -> str:
    """Busiest functions of the agent's threads from py-spy's collapsed stacks:
    per thread the share of samples, then the leaf ("self") functions and
    the inclusive ones, and the self time inside ``AgentClient._build``."""
    threads: dict[str, int] = {}
    leaf: dict[str, int] = {}
    incl: dict[str, int] = {}
    build_leaf: dict[str, int] = {}
    build_total = 0
    total = 0
    for thread, frames, count in read_collapsed(path):
        total += count
        threads[thread] = threads.get(thread, 0) + count
        # "function (path/to/file.py:line)" -> "function (file.py)"
        fn = [f.split(" (")[0] + " (" + f.split(" (")[-1].split(":")[0].rsplit("/", 1)[-1] + ")" if " (" in f else f for f in frames]
        if fn:
            leaf[fn[-1]] = leaf.get(fn[-1], 0) + count
            if any(f.startswith("AgentClient._build ") for f in fn):
                build_total += count
                build_leaf[fn[-1]] = build_leaf.get(fn[-1], 0) + count
        for f in set(fn):
            incl[f] = incl.get(f, 0) + count
    if not total:
        return "(no samples)"
    lines = ["    threads: " + ", ".join(f"{t[:40]} {100 * c / total:.0f}%" for t, c in sorted(threads.items(), key=lambda x: -x[1]))]
    lines.append("    self time (share of samples, all threads):")
    lines += share_lines(leaf, total, top, "      ")
    lines.append("    inclusive:")
    lines += share_lines(incl, total, top, "      ")
    if build_total:
        lines.append(f"    inside AgentClient._build (grab + encode of one frame; {100 * build_total / total:.0f}% of samples), self time:")
        lines += share_lines(build_leaf, build_total, top, "      ")
    return "\n".join(lines)

