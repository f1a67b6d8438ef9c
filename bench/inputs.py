"""Per-event cost of the X11 injector on Xvfb with an xterm consuming the events.

Run: .venv/bin/python bench/inputs.py
"""
import statistics, sys, time
sys.path.insert(0, "tests")
from agent_inputs._x import start_xterm
from desklink.testing_x import XDisplay
from desklink.agent.inputs import open_injector, open_local_input

def bench(name, fn, n, events_per_call, inj):
    runs = []
    for _ in range(5):
        t = time.perf_counter()
        for i in range(n): fn(i)
        inj._conn.core.GetInputFocus().reply()   # the server has processed them all
        runs.append((time.perf_counter() - t) / (n * events_per_call) * 1e6)
    print(f"{name:42s} {statistics.median(runs):7.1f} us/event (best {min(runs):.1f})")

with XDisplay(1920, 1080) as d:
    x, y, w, h = start_xterm(d, "bench")
    inj = open_injector(d.name)
    inj.move(x + 20, y + 20)
    # park the shell in `cat > /dev/null` so typed keys go nowhere harmful
    inj.text("stty -echo; cat > /dev/null\n")
    time.sleep(0.5)
    local = open_local_input(inj)
    bench("move", lambda i: inj.move(x + 10 + i % 300, y + 10 + i % 200), 2000, 1, inj)
    bench("button down/up", lambda i: (inj.button(1, True, x+30, y+30), inj.button(1, False, x+30, y+30)), 1000, 2, inj)
    bench("wheel 1 notch (press+release)", lambda i: inj.wheel(0, 1, x+30, y+30), 1000, 1, inj)
    bench("key 'a' down/up (layout, QueryPointer)", lambda i: (inj.key("a", "KeyA", True), inj.key("a", "KeyA", False)), 1000, 2, inj)
    bench("key 'A' down/up (Shift tweak)", lambda i: (inj.key("A", "KeyA", True), inj.key("A", "KeyA", False)), 1000, 2, inj)
    bench("key Enter-like named (ArrowLeft) down/up", lambda i: (inj.key("ArrowLeft", "ArrowLeft", True), inj.key("ArrowLeft", "ArrowLeft", False)), 1000, 2, inj)
    bench("key Shift down/up", lambda i: (inj.key("Shift", "ShiftLeft", True), inj.key("Shift", "ShiftLeft", False)), 1000, 2, inj)
    bench("text 20 ASCII chars (per char)", lambda i: inj.text("hello world, Hello!x"), 200, 20, inj)
    bench("text 'é€日' lent keycodes warm (per char)", lambda i: inj.text("é€日"), 300, 3, inj)
    bench("LocalInput.poll()", lambda i: local.poll(), 1000, 1, inj)
    bench("LocalInput.hotkey()", lambda i: local.hotkey(), 1000, 1, inj)
    inj.release_all()
    inj.key("Control", "ControlLeft", True); inj.key("c", "KeyC", True); inj.key("c", "KeyC", False); inj.key("Control", "ControlLeft", False)
    inj.close()
