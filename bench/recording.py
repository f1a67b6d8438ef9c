"""What recording costs, and how fast a one-hour recording opens and seeks.

1. **Overhead per session-minute.** The recording path the relay's tap feeds
   (``protocol.recording.Recorder``: records into hash-chained segments; then
   ``LocalRecordingStore.write_segment``: temporary file, fsync, rename) is
   driven with one minute of a workload's screen stream at the rates
   measured for DeskLink on a 1920x1080 Xvfb (docs/performance.md, issue 16's
   table: message sizes and rates per workload), in simulated time, and its
   CPU (process time) and bytes written are measured. The relay's forwarding
   itself does not change when a session is recorded: the tap hands the same
   bytes object over.
2. **A one-hour recording.** 1,800 segments of 2 s (a key frame of
   ``--key-kib`` and 2 s of typing-sized updates each) written to a
   temporary directory; then the time to verify the whole chain (what
   ``GET /api/sessions/{id}/recording`` does before answering), and seeks to
   random moments: read the segment holding the newest key frame at or
   before the moment, check it, and walk its records to the moment.

    .venv/bin/python bench/recording.py
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import _measure

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from desklink.protocol.recording import Kind, Recorder, read_segment, verify  # noqa: E402
from desklink.server.recording_store import LocalRecordingStore  # noqa: E402

SID = "B" * 16

#: (name, screen messages per second, bytes per message, pointer moves per second)
WORKLOADS = [
    ("idle (pointer only)", 0.0, 0, 2.0),
    ("typing in a terminal (8 chars/s)", 8.0, 240, 1.0),
    ("a pager paging down (2 pages/s)", 6.2, 185_000, 0.0),
    ("a terminal flooding output", 34.0, 79_500, 0.0),
    ("video (browser share, ~2 Mbit/s)", 30.0, 8_300, 0.0),
]


def _frame(size: int, key: bool) -> bytes:
    # channel 2, kind 1 (frame), flags (key), then opaque bytes of the size
    return bytes([2, 1, 1 if key else 0]) + os.urandom(max(0, size - 3))


def overhead(root: Path, table: _measure.Table, seconds: float, segment_s: float) -> None:
    table.section(f"recording path per session-minute (simulated {seconds:.0f} s, segments of {segment_s:g} s)")
    for name, rate, size, pointer_rate in WORKLOADS:
        store = LocalRecordingStore(root / name.split()[0])
        rec = Recorder(SID, 0.0, segment_s)
        frames = [_frame(size, False) for _ in range(16)] if rate else []
        key = _frame(max(size, 1) * 3, True) if rate else b""
        events: list[tuple[float, Kind, bytes]] = []
        if rate:
            events += [(i / rate, Kind.SCREEN, frames[i % len(frames)]) for i in range(int(seconds * rate))]
        if pointer_rate:
            events += [(i / pointer_rate, Kind.POINTER, bytes([2, 3, 0, 10, 0, 20])) for i in range(int(seconds * pointer_rate))]
        events.sort(key=lambda e: e[0])
        written = segments = 0
        cpu0 = time.process_time()
        for now, kind, payload in events:
            if rec.wants_key and kind == Kind.SCREEN:
                payload = key  # the agent answers the recorder's ask with a key frame
            closed = rec.add(now, kind, payload)
            if closed is not None:
                store.write_segment(SID, segments, closed)
                written, segments = written + len(closed), segments + 1
        closed = rec.finish(seconds)
        if closed is not None:
            store.write_segment(SID, segments, closed)
            written, segments = written + len(closed), segments + 1
        cpu = time.process_time() - cpu0
        per_min = 60.0 / seconds
        table.value(f"{name}: CPU", f"{1000 * cpu * per_min:.1f}", "ms/min")
        table.value(f"{name}: written", f"{written * per_min / 1e6:.3f}", "MB/min")


def one_hour(root: Path, table: _measure.Table, key_kib: int, seeks: int) -> None:
    store = LocalRecordingStore(root / "hour")
    rec = Recorder(SID, 0.0, 2.0)
    key = _frame(key_kib * 1024, True)
    small = [_frame(240, False) for _ in range(8)]
    t0 = time.perf_counter()
    n = 0
    for step in range(3600 * 8):  # typing: 8 updates a second for an hour
        now = step / 8
        payload = key if rec.wants_key else small[step % len(small)]
        closed = rec.add(now, Kind.SCREEN, payload)
        if closed is not None:
            store.write_segment(SID, n, closed)
            n += 1
    closed = rec.finish(3600.0)
    if closed is not None:
        store.write_segment(SID, n, closed)
        n += 1
    size = sum(len(store.read_segment(SID, i)) for i in range(n))
    table.section(f"one hour: {n} segments, {size / 1e6:.0f} MB (written in {time.perf_counter() - t0:.0f} s)")
    opens = []
    for _ in range(3):
        t = time.perf_counter()
        result = verify(((i, store.read_segment(SID, i)) for i in range(n)), SID)
        opens.append(time.perf_counter() - t)
        assert result.ok, result.describe()
    table.dist("open: verify the whole chain (the index endpoint)", opens)
    headers = [h for h in result.index]
    rng = random.Random(1)
    times = []
    for _ in range(seeks):
        target = rng.randrange(0, 3600_000)
        t = time.perf_counter()
        start = max(i for i, h in enumerate(headers) if h.first_key_t_ms is not None and h.first_key_t_ms <= target)
        walked = 0
        for i in range(start, len(headers)):
            header, records = read_segment(store.read_segment(SID, i), i)
            for r in records:
                if r.t_ms > target:
                    break
                walked += 1
            if header.end_t_ms >= target:
                break
        times.append(time.perf_counter() - t)
    table.dist("seek to a random moment (read, check, walk to it)", times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--key-kib", type=int, default=215)
    ap.add_argument("--seeks", type=int, default=50)
    args = ap.parse_args()
    print(_measure.machine_line())
    table = _measure.Table()
    with tempfile.TemporaryDirectory(prefix="desklink-rec-bench-") as tmp:
        overhead(Path(tmp), table, args.seconds, 2.0)
        one_hour(Path(tmp), table, args.key_kib, args.seeks)
    table.print()


if __name__ == "__main__":
    main()
