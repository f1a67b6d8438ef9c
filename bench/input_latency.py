"""Input-to-photon latency: from a key or click the viewer sends to the changed
pixels arriving back at the viewer, through the relay on loopback.

A small Tk "target" window on Xvfb flips a large square between two colours
on every key press and every click. A Python viewer (the same reference
viewer the tests use) holds remote control, sends one event, and waits for
the frame in which the square's centre pixel has flipped. Runs idle and with
a busy screen (a video-like window of changing noise next to the target).

Run: .venv/bin/python bench/input_latency.py [--events 60] [--size 1920x1080]
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from _measure import Table, machine_line

from desklink.testing import (
    AdminAPI,
    RepClient,
    ServerProcess,
    ViewerClient,
    VisitorClient,
)
from desklink.testing_x import XDisplay

TARGET = textwrap.dedent(
    """
    import tkinter as tk
    root = tk.Tk(); root.title("latency-target"); root.geometry("300x300+100+100")
    c = tk.Canvas(root, width=300, height=300, highlightthickness=0); c.pack()
    sq = c.create_rectangle(0, 0, 300, 300, fill="#000000", width=0)
    state = [0]
    def flip(_e=None):
        state[0] ^= 1
        c.itemconfigure(sq, fill="#ffffff" if state[0] else "#000000")
    root.bind("<Key>", flip); c.bind("<Button-1>", flip)
    root.focus_force(); root.mainloop()
    """
)
BUSY = textwrap.dedent(
    """
    import tkinter as tk, random
    root = tk.Tk(); root.title("busy"); root.geometry("480x270+500+100")
    img = tk.PhotoImage(width=480, height=270); tk.Label(root, image=img).pack()
    def tick():
        rows = []
        for y in range(0, 270, 6):
            row = " ".join("#%02x%02x%02x" % (random.randrange(256), y % 256, 128) for _ in range(80))
            rows.append("{" + row + "}")
        img.put(" ".join(rows), to=(0, 0, 480, 270)); img.zoom(1)
        root.after(33, tick)
    tick(); root.mainloop()
    """
)
CENTRE = (250, 250)  # screen pixel inside the target square


async def measure(viewer: ViewerClient, kind: str, count: int, busy: bool) -> list[float]:
    """Seconds from sending each event to the viewer's canvas showing the flip."""
    out: list[float] = []
    for i in range(count):
        if busy:  # a busy screen never settles: just space the events out
            await asyncio.sleep(0.3)
        else:
            await viewer.settle(quiet_s=0.3, timeout=10)
        before = int(viewer.canvas.rgb[CENTRE[1], CENTRE[0]].sum())
        if kind == "key":
            events = [{"k": "key", "key": "a", "down": True}, {"k": "key", "key": "a", "down": False}]
        else:
            events = [
                {"k": "button", "b": 1, "down": True, "x": CENTRE[0], "y": CENTRE[1]},
                {"k": "button", "b": 1, "down": False, "x": CENTRE[0], "y": CENTRE[1]},
            ]
        sent = time.monotonic()
        await viewer.send({"t": "input", "events": events})
        while True:
            await asyncio.sleep(0.0005)
            if int(viewer.canvas.rgb[CENTRE[1], CENTRE[0]].sum()) != before:
                out.append(time.monotonic() - sent)
                break
            if time.monotonic() - sent > 5:
                print(f"  event {i}: no change within 5 s", file=sys.stderr)
                break
    return out


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=60, help="events of each kind per load (default 60)")
    ap.add_argument("--size", default="1920x1080", help="Xvfb screen size (default 1920x1080)")
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    print(f"Input-to-photon latency (bench/input_latency.py): Xvfb {w}x{h}")
    print(f"  {machine_line()}", flush=True)
    with XDisplay(w, h) as display, ServerProcess() as server:
        work = Path(server.data_dir)
        (work / "target.py").write_text(TARGET)
        (work / "busy.py").write_text(BUSY)
        display.spawn(sys.executable, str(work / "target.py"))
        display.wait_window("latency-target")
        admin = AdminAPI(server)
        (user, pw), = admin.reps(1, prefix="lat")
        admin.close()
        rep = await RepClient.connect(server, user, pw)
        visitor = await VisitorClient.submit(server)
        await rep.expect("alert")
        await rep.send({"t": "accept", "request_id": visitor.request_id})
        sid = (await rep.expect("accepted"))["session"]["id"]
        viewer = await ViewerClient.connect(server, user, pw, sid)
        await rep.send({"t": "screen.request", "session_id": sid})
        code = (await rep.expect("screen.offer"))["code"].replace(" ", "")
        agent = subprocess.Popen(
            [sys.executable, "-m", "desklink", "agent", "--server", server.url, "--code", code, "--terminal"],
            env={**display.env, "PYTHONUNBUFFERED": "1"}, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, text=True,
        )
        display.children.append(agent)
        assert agent.stdin is not None
        agent.stdin.write("y\n")
        agent.stdin.flush()
        await viewer.wait_status("sharing")
        await viewer.send({"t": "control.request"})
        await viewer.wait_control("asking")
        agent.stdin.write("y\n")
        agent.stdin.flush()
        await viewer.wait_control("granted")
        display.xdotool("search", "--name", "latency-target", "windowfocus", "--sync")
        results: dict[str, list[float]] = {}
        for load in ("idle", "busy"):
            if load == "busy":
                display.spawn(sys.executable, str(work / "busy.py"))
                display.wait_window("busy")
                display.xdotool("search", "--name", "latency-target", "windowfocus", "--sync")
                await asyncio.sleep(1)
            for kind in ("key", "click"):
                results[f"{kind}, {load}"] = await measure(viewer, kind, args.events, load == "busy")
        table = Table(live=False)
        for name, values in results.items():
            table.dist(f"{name}: event sent -> flipped square on the viewer", values)
        table.notes.append("aim: p50 under 50 ms, p99 under 100 ms")
        table.print()
        await viewer.send({"t": "screen.stop"})
        await viewer.close()
        await rep.close()
        await visitor.close()


if __name__ == "__main__":
    asyncio.run(main())
