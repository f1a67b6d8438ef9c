"""bench/_measure.py: the one percentile, summary, CPU meter and RSS reader
every bench script reports with. Known inputs, numpy as the reference for
the percentile, and a real child process for CPU and memory."""

from __future__ import annotations

import importlib.util
import math
import os
import signal
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st


def _load() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "bench" / "_measure.py"
    spec = importlib.util.spec_from_file_location("bench_measure", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


m = _load()


def test_percentile_interpolates_between_ranks() -> None:
    values = [4.0, 1.0, 3.0, 2.0]  # unsorted on purpose
    assert m.percentile(values, 0) == 1.0
    assert m.percentile(values, 50) == 2.5  # nearest rank would say 3 (or 2)
    assert m.percentile(values, 90) == pytest.approx(3.7)
    assert m.percentile(values, 100) == 4.0
    assert m.percentile([7.0], 99) == 7.0
    assert values == [4.0, 1.0, 3.0, 2.0]  # the caller's list is left alone


def test_percentile_of_nothing_is_nan_and_q_is_checked() -> None:
    assert math.isnan(m.percentile([], 50))
    with pytest.raises(ValueError):
        m.percentile([1.0], 101)
    with pytest.raises(ValueError):
        m.percentile([1.0], -1)


@given(st.lists(st.floats(min_value=-1e6, max_value=1e6), min_size=1, max_size=200), st.floats(min_value=0, max_value=100))
def test_percentile_is_numpys_default(values: list[float], q: float) -> None:
    assert m.percentile(values, q) == pytest.approx(float(np.percentile(values, q)), rel=1e-9, abs=1e-6)


def test_summary_of_one_to_a_hundred() -> None:
    s = m.summary(float(i) for i in range(100, 0, -1))
    assert (s.n, s.max) == (100, 100.0)
    assert s.p50 == pytest.approx(50.5)
    assert s.p90 == pytest.approx(90.1)
    assert s.p99 == pytest.approx(99.01)
    ms = s.scaled(1000)
    assert (ms.n, ms.p50, ms.max) == (100, pytest.approx(50500.0), 100000.0)


def test_summary_of_nothing() -> None:
    s = m.summary([])
    assert s.n == 0
    assert all(math.isnan(v) for v in (s.p50, s.p90, s.p99, s.max))


def test_table_prints_seconds_as_milliseconds(capsys: pytest.CaptureFixture[str]) -> None:
    table = m.Table(live=False)
    s = table.dist("two samples", [0.001, 0.002])
    table.dist("no samples", [])
    table.print()
    out = capsys.readouterr().out
    assert (s.n, s.p50, s.max) == (2, pytest.approx(1.5), pytest.approx(2.0))
    line = next(x for x in out.splitlines() if x.startswith("two samples"))
    assert line.split() == ["two", "samples", "2", "1.5", "1.9", "2.0", "2.0", "ms"]
    empty = next(x for x in out.splitlines() if x.startswith("no samples"))
    assert empty.split() == ["no", "samples", "0", "-", "-", "-", "-", "ms"]


SPINNER = """
import sys, time
data = b"x" * (64 << 20)  # touched, so resident
print("ready", flush=True)
sys.stdin.readline()
t = time.process_time()
while time.process_time() - t < 0.3:
    pass
print("done", flush=True)
sys.stdin.readline()
"""


def test_cpu_meter_and_rss_of_a_real_child() -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait(30)
    with pytest.raises(ProcessLookupError):
        m.cpu_seconds(gone.pid)
    with subprocess.Popen([sys.executable, "-c", SPINNER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as child:
        assert child.stdin is not None and child.stdout is not None
        try:
            assert child.stdout.readline().strip() == "ready"
            assert m.rss_kib(child.pid) >= 64 * 1024
            meter = m.CpuMeter({"child": child.pid, "gone": lambda: [gone.pid], "none": list}).start()
            child.stdin.write("go\n")
            child.stdin.flush()
            assert child.stdout.readline().strip() == "done"
            usage = meter.stop()
        finally:
            child.kill()
            child.wait(30)
    # The child spent 0.3 s of CPU (its own clock) inside the window and
    # none outside it; the kernel accounts in ticks.
    assert 0.25 <= usage.cpu_s["child"] <= 0.6
    assert usage.cpu_s["gone"] == 0.0 and usage.cpu_s["none"] == 0.0
    assert usage.machine_s >= 0.25
    assert usage.others_s == pytest.approx(max(0.0, usage.machine_s - usage.cpu_s["child"]))
    pct = usage.percent()
    assert pct["child"] == pytest.approx(100 * usage.cpu_s["child"] / usage.wall_s)
    assert set(pct) == {"child", "gone", "none", "unrelated", "machine"}
    with pytest.raises(ProcessLookupError):
        m.rss_kib(child.pid)


def test_descendants_finds_a_grandchild() -> None:
    starter = "import subprocess; p = subprocess.Popen(['sleep', '30']); print(p.pid, flush=True); p.wait()"
    with subprocess.Popen([sys.executable, "-c", starter], stdout=subprocess.PIPE, text=True) as parent:
        assert parent.stdout is not None
        grandchild = 0
        try:
            grandchild = int(parent.stdout.readline())  # printed once it runs, as the parent's child
            found = m.descendants(parent.pid)
            assert found[0] == parent.pid
            assert grandchild in found
            assert os.getpid() not in found
        finally:
            if grandchild:
                os.kill(grandchild, signal.SIGTERM)
            parent.wait(30)
