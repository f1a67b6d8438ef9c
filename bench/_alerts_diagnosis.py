"""bench/alerts.py's diagnosis: ``--trace`` splits each fan-out round at the
server's timing probes (``bench/_servertrace``), ``--profile`` summarises
py-spy's samples of the server per phase (README "Diagnosis").
"""

from __future__ import annotations

import bisect
import json

from _measure import Table, read_collapsed, share_lines


def analyse_trace(
    path: str, rounds: list[tuple[int, float, float, float]], windows: list[tuple[str, float, float, int]], table: Table
) -> None:
    """Split each counted fan-out round at the server's probes (--trace)."""
    by_kind: dict[str, list[tuple[float, float]]] = {}
    with open(path) as f:
        for line in f:
            t, kind, value = json.loads(line)
            by_kind.setdefault(kind, []).append((t, value))
            if kind in ("gc0", "gc1", "gc2"):
                by_kind.setdefault("gc", []).append((t, value))
    for v in by_kind.values():
        v.sort()
    stamps = {k: [t for t, _ in v] for k, v in by_kind.items()}

    def within(kind: str, lo: float, hi: float) -> list[tuple[float, float]]:
        ts = stamps.get(kind, [])
        return by_kind[kind][bisect.bisect_left(ts, lo) : bisect.bisect_right(ts, hi)] if ts else []

    for size in sorted({r[0] for r in rounds}, reverse=True):
        parts: dict[str, list[float]] = {}

        def add(name: str, value: float, parts: dict[str, list[float]] = parts) -> None:
            parts.setdefault(name, []).append(value)

        for _, t0, tf, tl in (r for r in rounds if r[0] == size):
            start = within("submit.start", t0, tl)
            pub = within("publish", t0, tl)
            if not start or not pub:
                continue
            t_start, t_pub = start[0][0], pub[0][0]
            dels = [t for t, _ in within("deliver", t_pub, tl)]
            sent = [t for t, _ in within("sent", t_pub, tl)]
            gcs = [v for t, v in within("gc", t0 - 1.0, tl) if t + v >= t0]
            lags = [v for t, v in within("lag", t0 - 1.0, tl) if t + v + 0.005 >= t0]
            add("a client sends POST -> server enters submit()", t_start - t0)
            add("b submit() entered -> alert published (DB work)", t_pub - t_start)
            if dels:
                add("c published -> hub hands it to the first rep", dels[0] - t_pub)
                add("d hub hands it to all reps (first -> last)", dels[-1] - dels[0])
            if sent:
                add("e first rep's socket write done, after publish", sent[0] - t_pub)
                add("f last rep's socket write done, after publish", sent[-1] - t_pub)
                add("g last socket write -> bench client reads last", tl - sent[-1])
                add("h first socket write -> bench client reads first", tf - sent[0])
            add("i server GC pauses overlapping the round (sum)", sum(gcs))
            full = [v for t, v in within("gc2", t0 - 1.0, tl) if t + v >= t0]
            if full:
                add("k rounds hit by a full (gen-2) GC: its pause", sum(full))
            add("j longest server event-loop stall in the round", max(lags, default=0.0))
        table.section(f"server-side split of the {size}-rep fan-out rounds (--trace)")
        for name in sorted(parts):
            table.dist(name[2:], parts[name])
    if rounds:
        lo, hi = min(r[1] for r in rounds), max(r[3] for r in rounds)
        table.section("server garbage collection during the whole fan-out phase (--trace)")
        for gen in (1, 2):
            pauses = [v for _, v in within(f"gc{gen}", lo, hi)]
            if pauses:
                table.dist(f"server gen-{gen} GC pauses during the fan-out phase", pauses)
            else:
                table.value(f"server gen-{gen} GC pauses during the fan-out phase", "none")
        objects = [v for _, v in within("gc2.objects", lo, hi)]
        if objects:
            table.value("objects tracked by the server's GC at its full GCs", " / ".join(f"{v:.0f}" for v in objects[:4]))
    if "sqlhop" not in by_kind:
        return
    table.section("SQLite thread hops (aiosqlite calls) and new SQLite connections (--trace)")
    totals: dict[str, list[int]] = {}
    for label, lo, hi, items in windows:
        agg = totals.setdefault(label, [0, 0, 0, 0])
        agg[0] += len(within("sqlhop", lo, hi))
        agg[1] += len(within("sqlconn", lo, hi))
        agg[2] += items
        agg[3] += 1
    for label, (hops, conns, items, _n) in totals.items():
        if items:
            table.value(f"{label}: thread hops", f"{hops / items:.1f}")
            table.value(f"{label}: new connections/threads", f"{conns / items:.2f}")


def summarise_profile(path: str, top: int = 18) -> None:
    """Print where a py-spy raw profile (--idle --threads) spent the samples:
    per thread, then the event-loop thread's busy share, self time and the
    inclusive frames of the libraries on the request path."""
    threads: dict[str, int] = {}
    main_idle = main_total = 0
    self_counts: dict[str, int] = {}
    incl: dict[str, int] = {}
    try:
        stacks = list(read_collapsed(path))
    except OSError as exc:
        print(f"profile {path}: {exc}")
        return
    for thread, frames, count in stacks:
        threads[thread] = threads.get(thread, 0) + count
        if "MainThread" not in thread or not frames:
            continue
        main_total += count
        leaf = frames[-1]
        if leaf.startswith(("select (selectors.py", "EpollSelector.select", "_run_once")) and "select" in leaf:
            main_idle += count
            continue
        self_counts[leaf] = self_counts.get(leaf, 0) + count
        for fr in set(frames):
            incl[fr] = incl.get(fr, 0) + count
    print(f"\npy-spy profile {path}: {sum(threads.values())} samples over {len(threads)} threads")
    for thread, count in sorted(threads.items(), key=lambda kv: -kv[1])[:6]:
        print(f"  thread {thread}: {count}")
    if not main_total:
        return
    busy = main_total - main_idle
    print(f"  main (event loop) thread: {100 * busy / main_total:.0f}% busy, {100 * main_idle / main_total:.0f}% idle in select")
    print("  top self time on the main thread (% of its busy samples):")
    print("\n".join(share_lines(self_counts, busy, top)))
    print("  top inclusive (desklink / uvicorn / starlette / websockets / sqlalchemy / aiosqlite / gc) frames:")
    keep = ("desklink/", "uvicorn/", "starlette/", "websockets/", "sqlalchemy/", "aiosqlite/", "redis/", "asyncpg/",
            "zlib", "compress")
    print("\n".join(share_lines({f: c for f, c in incl.items() if any(k in f for k in keep)}, busy, top)))
