"""Measuring tools shared by every script in ``bench/``: one percentile, one
summary, one CPU meter, one RSS reader, one result table, one py-spy helper.

Why one module: each script used to carry its own copy, and the copies
disagreed (nearest-rank percentiles in some, interpolated in others; CPU
from ``time.process_time()`` here and ``/proc`` there), so two scripts could
print different p99s for the same samples. Import it as ``import _measure``
(a script's own folder is first on ``sys.path``); tests load it by path.

Conventions
-----------
* **Percentiles** interpolate linearly between the two closest ranks, as
  ``numpy.percentile`` does by default (``method="linear"``): for ``n``
  sorted values, the q-th percentile sits at position ``(n - 1) * q / 100``.
  With few samples p99 is then close to, but not the same as, the maximum.
* **Durations** are measured and stored in seconds; :class:`Table` prints
  them in milliseconds.
* **CPU** is user + system time from ``/proc/<pid>/stat`` (all the
  process's threads; children only while they are listed in a group), and
  the machine's busy time from ``/proc/stat``. The kernel accounts both in
  clock ticks (usually 10 ms), so a window shorter than a second is coarse:
  sum several windows, or measure a longer one.

Linux only (``/proc``); the benches run nowhere else.
"""

from __future__ import annotations

import math
import os
import platform
import resource
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "CLK_TCK",
    "CpuMeter",
    "CpuUsage",
    "Pids",
    "PySpy",
    "Summary",
    "Table",
    "cpu_seconds",
    "descendants",
    "find_py_spy",
    "load_average",
    "machine_busy_seconds",
    "machine_line",
    "percentile",
    "raise_nofile",
    "read_collapsed",
    "rss_kib",
    "share_lines",
    "summary",
    "versions",
]


# --------------------------------------------------------------- statistics
def percentile(values: Iterable[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of ``values``, interpolating linearly
    between the two closest ranks (numpy's default, ``method="linear"``):
    the value at position ``(n - 1) * q / 100`` of the sorted values.
    NaN for no values; ``ValueError`` for ``q`` outside 0-100."""
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"percentile {q} is outside 0-100")
    s = sorted(values)
    if not s:
        return math.nan
    pos = (len(s) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


@dataclass(frozen=True, slots=True)
class Summary:
    """How a set of samples is reported everywhere in ``bench/``: how many,
    the median, the 90th and 99th percentiles (:func:`percentile`) and the
    largest. All NaN when there are no samples."""

    n: int
    p50: float
    p90: float
    p99: float
    max: float

    def scaled(self, factor: float) -> Summary:
        """The same summary in another unit (``factor`` 1000: seconds to ms)."""
        return Summary(self.n, self.p50 * factor, self.p90 * factor, self.p99 * factor, self.max * factor)


def summary(values: Iterable[float]) -> Summary:
    """n, p50, p90, p99 and max of ``values`` (see :func:`percentile`)."""
    s = sorted(values)
    if not s:
        return Summary(0, math.nan, math.nan, math.nan, math.nan)
    return Summary(len(s), percentile(s, 50), percentile(s, 90), percentile(s, 99), s[-1])


# ----------------------------------------------------------------- processes
CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds ``pid`` has used so far (all its threads),
    from ``/proc/<pid>/stat``; ``ProcessLookupError`` once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            # The command name (field 2) may hold spaces and parentheses:
            # split after its closing one. utime, stime are fields 14, 15.
            fields = f.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        raise ProcessLookupError(pid) from None
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def machine_busy_seconds() -> float:
    """CPU seconds all CPUs of the machine have been busy since boot (from
    ``/proc/stat``: user, nice, system, irq, softirq and steal; not idle or
    iowait). Steal counts: it is CPU time this machine wanted and did not get."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / CLK_TCK


def rss_kib(pid: int) -> int:
    """Resident memory of ``pid`` (``VmRSS`` from ``/proc/<pid>/status``), KiB;
    ``ProcessLookupError`` once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        raise ProcessLookupError(pid) from None
    raise ProcessLookupError(f"{pid} has no VmRSS (a zombie)")


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it, from ``/proc`` (one pass)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


#: A group of processes for :class:`CpuMeter`: one PID, or a callable giving
#: the group's PIDs at the moment it is called (children that come and go).
Pids = int | Callable[[], Iterable[int]]


@dataclass(frozen=True, slots=True)
class CpuUsage:
    """What :meth:`CpuMeter.stop` measured: the window's wall seconds, CPU
    seconds per group, and CPU seconds of the whole machine (every process
    on every CPU)."""

    wall_s: float
    cpu_s: Mapping[str, float]
    machine_s: float

    def cores(self, group: str) -> float:
        """Average cores ``group`` kept busy over the window (1.0 = one core)."""
        return self.cpu_s[group] / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def others_s(self) -> float:
        """CPU seconds of every process outside the groups (never negative:
        the machine total and the per-process figures are read a moment apart)."""
        return max(0.0, self.machine_s - sum(self.cpu_s.values()))

    @property
    def others_cores(self) -> float:
        return self.others_s / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def machine_cores(self) -> float:
        return self.machine_s / self.wall_s if self.wall_s > 0 else 0.0

    def percent(self) -> dict[str, float]:
        """Every group in % of one core, plus ``unrelated`` (everything
        outside the groups) and ``machine`` (all of it; 200 = two cores)."""
        out = {name: 100.0 * self.cores(name) for name in self.cpu_s}
        out["unrelated"] = 100.0 * self.others_cores
        out["machine"] = 100.0 * self.machine_cores
        return out


class CpuMeter:
    """CPU of named groups of processes over a window: :meth:`start`, then
    :meth:`stop` returns a :class:`CpuUsage`. Usable for any process this
    bench can read in ``/proc`` (the server, the agent, Xvfb, this process).

    Each process is read at both ends of the window (at the end: the
    group's processes then, and those read at the start). One that appears inside
    the window is counted from zero (all its life, which is inside the
    window); one that ended inside it is left out (its final ticks are gone
    with it). Each :meth:`stop` measures from the last :meth:`start`, so one
    meter can measure many windows; reading it costs one ``/proc`` read per
    process (tens of microseconds), plus whatever a callable group costs."""

    def __init__(self, groups: Mapping[str, Pids]) -> None:
        self.groups = dict(groups)
        self._t0 = 0.0
        self._machine0 = 0.0
        self._start: dict[str, dict[int, float]] = {}

    @staticmethod
    def _pids(pids: Pids) -> list[int]:
        return [pids] if isinstance(pids, int) else list(pids())

    @staticmethod
    def _read(pids: Iterable[int]) -> dict[int, float]:
        out: dict[int, float] = {}
        for pid in pids:
            try:
                out[pid] = cpu_seconds(pid)
            except (ProcessLookupError, OSError, IndexError, ValueError):
                continue
        return out

    def start(self) -> CpuMeter:
        self._start = {name: self._read(self._pids(pids)) for name, pids in self.groups.items()}
        self._machine0 = machine_busy_seconds()
        self._t0 = time.monotonic()
        return self

    def stop(self) -> CpuUsage:
        wall = time.monotonic() - self._t0
        machine = machine_busy_seconds() - self._machine0
        used: dict[str, float] = {}
        for name, pids in self.groups.items():
            before = self._start.get(name, {})
            # A process read at the start still counts if it left the group
            # alive (a child re-parented away from the group's root).
            now = self._read(set(self._pids(pids)) | set(before))
            used[name] = sum(max(0.0, cpu - before.get(pid, 0.0)) for pid, cpu in now.items())
        return CpuUsage(wall, used, machine)


def raise_nofile() -> tuple[int, int]:
    """Raise this process's open-file limit to its hard limit (children
    inherit it): a bench with thousands of sockets needs it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else 65536
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


# ---------------------------------------------------------------- reporting
def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def machine_line() -> str:
    """One line on where the figures were taken; every bench prints it first
    (the machine is shared: the load average says how busy it was)."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "?"
    return (f"CPUs: {os.cpu_count()} (usable by this process: {usable}); {platform.machine()} {platform.platform()}; "
            f"Python {platform.python_version()}; load average {load_average()}")


def versions(packages: Sequence[str] = ("websockets", "uvicorn", "starlette", "sqlalchemy", "msgspec")) -> str:
    from importlib.metadata import PackageNotFoundError, version

    out = []
    for p in packages:
        try:
            out.append(f"{p} {version(p)}")
        except PackageNotFoundError:
            out.append(f"{p} (not installed)")
    return ", ".join(out)


#: Units :meth:`Table.dist` converts seconds to; any other unit is printed as given.
_FROM_SECONDS = {"ms": 1e3, "us": 1e6, "s": 1.0}


class Table:
    """Result rows, printed aligned: distributions (:class:`Summary`),
    single values and section headings. With ``live`` each row is also
    printed as it is added (progress during a long run); :meth:`print`
    prints the whole table at the end."""

    HEAD = ("figure", "n", "p50", "p90", "p99", "max", "unit")
    WIDTHS = (58, 6, 9, 9, 9, 9, 6)

    def __init__(self, live: bool = True) -> None:
        self.live = live
        self.rows: list[tuple[str, ...]] = []
        self.notes: list[str] = []

    def dist(self, name: str, values: Sequence[float], unit: str = "ms", digits: int = 1) -> Summary:
        """Add a distribution row. ``values`` are seconds for a time unit
        (``ms``, ``us``, ``s``), else already in ``unit``; ``digits`` after
        the decimal point."""
        s = summary(values).scaled(_FROM_SECONDS.get(unit, 1.0))
        cells = (f"{v:.{digits}f}" if s.n else "-" for v in (s.p50, s.p90, s.p99, s.max))
        self._add((name, str(s.n), *cells, unit))
        return s

    def value(self, name: str, value: str, unit: str = "") -> None:
        self._add((name, "", value, "", "", "", unit))

    def section(self, title: str) -> None:
        self.rows.append((f"-- {title}",))
        if self.live:
            print(f"\n== {title}", flush=True)

    def _add(self, row: tuple[str, ...]) -> None:
        self.rows.append(row)
        if self.live:
            print("  " + self.fmt_row(row), flush=True)

    def fmt_row(self, row: tuple[str, ...]) -> str:
        if len(row) == 1:
            return row[0]
        w = self.WIDTHS
        return f"{row[0]:<{w[0]}}" + "".join(f"{c:>{n}}" for c, n in zip(row[1:6], w[1:6], strict=True)) + f"  {row[6]}"

    def print(self) -> None:
        width = sum(self.WIDTHS) + 2
        print("\n" + "=" * width)
        print(self.fmt_row(self.HEAD))
        print("-" * width)
        for row in self.rows:
            print(self.fmt_row(row) if len(row) > 1 else "\n" + row[0])
        print("=" * width)
        for note in self.notes:
            print("note: " + note)
        sys.stdout.flush()


# ----------------------------------------------------------------- profiles
class PySpy:
    """``py-spy record`` on one process, raw collapsed stacks into ``out``,
    until :meth:`stop`. ``--nonblocking`` (the process is never paused) and
    ``--threads`` (each stack starts with its thread); ``idle`` adds
    ``--idle`` so waiting threads are sampled too (wall-clock profile).
    py-spy takes CPU of its own: take headline figures from runs without it."""

    def __init__(self, pid: int, out: Path, *, rate: int = 100, idle: bool = False, executable: str | None = None) -> None:
        self.out = out
        out.parent.mkdir(parents=True, exist_ok=True)
        exe = executable or find_py_spy()
        cmd = [exe, "record", "--pid", str(pid), "--rate", str(rate), "--nonblocking", "--threads",
               "--format", "raw", "--output", str(out)]
        if idle:
            cmd.append("--idle")
        # py-spy's own messages; closed in stop(), which outlives this call.
        self._log = open(f"{out}.log", "w")  # noqa: SIM115
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def stop(self, timeout: float = 30.0) -> Path:
        """Stop sampling (SIGINT: py-spy then writes its file) and wait."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self._log.close()
        return self.out


def find_py_spy() -> str:
    """py-spy next to this Python (``.venv/bin/pip install py-spy``), else on PATH."""
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if os.access(beside, os.X_OK) else (shutil.which("py-spy") or str(beside))


def read_collapsed(path: Path | str) -> Iterator[tuple[str, list[str], int]]:
    """(thread, frames from outermost to innermost, samples) per line of a
    py-spy ``--threads --format raw`` file (collapsed stacks, as
    ``flamegraph.pl`` and speedscope read them)."""
    with open(path) as f:
        for line in f:
            stack, _, n = line.rstrip("\n").rpartition(" ")
            if not stack or not n.isdigit():
                continue
            frames = stack.split(";")
            yield frames[0], frames[1:], int(n)


def share_lines(counts: Mapping[str, int], total: int, top: int, indent: str = "    ") -> list[str]:
    """The ``top`` largest ``counts`` as lines ``  12.3%  name``, in % of ``total``."""
    ranked = sorted(counts.items(), key=lambda kv: -kv[1])[:top]
    return [f"{indent}{100 * c / total:5.1f}%  {name}" for name, c in ranked] if total else []
