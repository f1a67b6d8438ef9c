"""Per-event cost of the X11 injector on Xvfb with an xterm consuming the events.

Run: .venv/bin/python bench/inputs.py [--runs 5]

Each case injects a batch of events ``--runs`` times, waits until the X
server has processed them (a ``GetInputFocus`` round trip) and divides by
the events; it prints the median run and the best one, in microseconds per
event.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from _measure import machine_line, percentile
from agent_inputs._x import start_xterm

from desklink.agent.inputs import open_injector, open_local_input
from desklink.testing_x import XDisplay


def bench(name: str, fn: Callable[[int], object], n: int, events_per_call: int, inj: Any, runs: int) -> None:
    per_event: list[float] = []
    for _ in range(runs):
        t = time.perf_counter()
        for i in range(n):
            fn(i)
        inj._conn.core.GetInputFocus().reply()  # the server has processed them all
        per_event.append((time.perf_counter() - t) / (n * events_per_call))
    print(f"{name:42s} {percentile(per_event, 50) * 1e6:7.1f} us/event (best {min(per_event) * 1e6:.1f})", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5, help="runs of each case; the median is printed (default 5)")
    args = ap.parse_args()
    print("X11 injector cost per event (bench/inputs.py)")
    print(f"  {machine_line()}", flush=True)
    runs = args.runs
    with XDisplay(1920, 1080) as d:
        x, y, w, h = start_xterm(d, "bench")
        inj = open_injector(d.name)
        inj.move(x + 20, y + 20)
        # park the shell in `cat > /dev/null` so typed keys go nowhere harmful
        inj.text("stty -echo; cat > /dev/null\n")
        time.sleep(0.5)
        local = open_local_input(inj)

        def key(k: str, code: str) -> Callable[[int], object]:
            return lambda i: (inj.key(k, code, True), inj.key(k, code, False))

        bench("move", lambda i: inj.move(x + 10 + i % 300, y + 10 + i % 200), 2000, 1, inj, runs)
        bench("button down/up", lambda i: (inj.button(1, True, x + 30, y + 30), inj.button(1, False, x + 30, y + 30)),
              1000, 2, inj, runs)
        bench("wheel 1 notch (press+release)", lambda i: inj.wheel(0, 1, x + 30, y + 30), 1000, 1, inj, runs)
        bench("key 'a' down/up (layout, QueryPointer)", key("a", "KeyA"), 1000, 2, inj, runs)
        bench("key 'A' down/up (Shift tweak)", key("A", "KeyA"), 1000, 2, inj, runs)
        bench("key Enter-like named (ArrowLeft) down/up", key("ArrowLeft", "ArrowLeft"), 1000, 2, inj, runs)
        bench("key Shift down/up", key("Shift", "ShiftLeft"), 1000, 2, inj, runs)
        bench("text 20 ASCII chars (per char)", lambda i: inj.text("hello world, Hello!x"), 200, 20, inj, runs)
        bench("text 'é€日' lent keycodes warm (per char)", lambda i: inj.text("é€日"), 300, 3, inj, runs)
        bench("LocalInput.poll()", lambda i: local.poll(), 1000, 1, inj, runs)
        bench("LocalInput.hotkey()", lambda i: local.hotkey(), 1000, 1, inj, runs)
        inj.release_all()
        inj.key("Control", "ControlLeft", True)
        inj.key("c", "KeyC", True)
        inj.key("c", "KeyC", False)
        inj.key("Control", "ControlLeft", False)
        inj.close()


if __name__ == "__main__":
    main()
