"""bench/screen.py's drivers: small programs run on the display
(``sys.executable -c SCRIPT args``), each its own process so that it can be
paused with SIGSTOP while the picture settles and its CPU counted with the
workload's. Each keeps its own pace against a start time, so a late step
does not shift the ones after it.
"""

#: Clicks a mouse button (5: wheel down) ``rate`` times a second. Args: rate, button.
WHEEL = r"""
import subprocess, sys, time
rate = float(sys.argv[1]); button = sys.argv[2]
t0 = time.monotonic(); i = 0
while True:
    subprocess.run(["xdotool", "click", button])
    i += 1
    time.sleep(max(0.0, t0 + i / rate - time.monotonic()))
"""

#: Presses a key ``rate`` times a second. Args: rate, key name.
KEYS = r"""
import subprocess, sys, time
rate = float(sys.argv[1]); key = sys.argv[2]
t0 = time.monotonic(); i = 0
while True:
    subprocess.run(["xdotool", "key", key])
    i += 1
    time.sleep(max(0.0, t0 + i / rate - time.monotonic()))
"""

#: A Tk window with a 640x360 PhotoImage redrawn at ``fps`` with moving
#: colour gradients plus noise (a video-like area). Args: fps.
VIDEO = r"""
import sys, time, tkinter as tk
import numpy as np
FPS = float(sys.argv[1])
VW, VH = (int(sys.argv[2]), int(sys.argv[3])) if len(sys.argv) > 3 else (640, 360)
root = tk.Tk(); root.title("bench video"); root.geometry(f"{VW}x{VH}+{960 - VW // 2}+{540 - VH // 2}")
photo = tk.PhotoImage(width=VW, height=VH)
tk.Label(root, image=photo, borderwidth=0).pack()
yy, xx = np.mgrid[0:VH, 0:VW].astype(np.float32)
rng = np.random.default_rng(3)
noise = [rng.integers(-24, 24, (VH, VW, 1), dtype=np.int16) for _ in range(8)]
header = f"P6 {VW} {VH} 255 ".encode()
state = {"i": 0, "t0": time.monotonic()}
def tick():
    i = state["i"]; t = i / FPS
    r = 128 + 100 * np.sin(xx / 37 + t * 2.1) * np.cos(yy / 53 - t * 1.3)
    g = 128 + 100 * np.sin((xx + yy) / 61 - t * 1.7)
    b = 128 + 100 * np.cos(np.hypot(xx - VW / 2 - VW / 4 * np.sin(t), yy - VH / 2) / 23 - t * 3)
    img = np.stack([r, g, b], axis=2).astype(np.int16) + noise[i % len(noise)]
    photo.configure(data=header + np.clip(img, 0, 255).astype(np.uint8).tobytes(), format="ppm")
    state["i"] = i + 1
    delay = state["t0"] + (i + 1) / FPS - time.monotonic()
    root.after(max(1, int(delay * 1000)), tick)
root.after(10, tick)
root.mainloop()
"""

#: Plays an input script (``_screen_input.Script.save``: xdotool argument
#: lists per step) at its rate, from the first step again when it runs out.
#: Args: path.
INPUT = r"""
import json, subprocess, sys, time
spec = json.load(open(sys.argv[1]))
steps, rate = spec["steps"], float(spec["rate"])
t0 = time.monotonic(); i = 0
while True:
    for args in steps[i % len(steps)]:
        subprocess.run(["xdotool", *args])
    i += 1
    time.sleep(max(0.0, t0 + i / rate - time.monotonic()))
"""

#: A one-window "window manager" for the drag workloads (Xvfb has none):
#: keeps the window's top-left at the pointer plus (dx, dy), polling the
#: pointer 100 times a second; so moving the pointer (from xdotool or from a
#: viewer) drags the window. Args: window id, dx, dy.
FOLLOW = r"""
import sys, time
import xcffib, xcffib.xproto
conn = xcffib.connect()
root = conn.get_setup().roots[0].root
wid = int(sys.argv[1]); dx = int(sys.argv[2]); dy = int(sys.argv[3])
mask = xcffib.xproto.ConfigWindow.X | xcffib.xproto.ConfigWindow.Y
last = None
while True:
    p = conn.core.QueryPointer(root).reply()
    at = (p.root_x + dx, p.root_y + dy)
    if at != last:
        conn.core.ConfigureWindow(wid, mask, list(at)); conn.flush()
        last = at
    time.sleep(0.01)
"""
