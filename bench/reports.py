"""Report query time over many sessions, on SQLite and PostgreSQL.

Seeds ``--sessions`` sessions (default 100,000) with ``--messages`` chat
messages each (default 10: 1,000,000 messages), one unanswered request
(abandoned, cancelled or expired) per ``--unanswered-every`` sessions, the
events a share of them leave (screen shared, control granted, files), a
rating on a third, and two presence stretches per rep per day, over about
five months in 20 queues with 20 reps, straight into a fresh database
through the store's own tables (bulk Core inserts; seeding time is not the
figure). Then times ``Store.report`` and ``Store.unanswered_requests`` for
the reports the admin center draws, ``--runs`` times each, and prints n,
p50, p90, p99 and max.

    .venv/bin/python bench/reports.py                      # both backends
    .venv/bin/python bench/reports.py --backend sqlite --sessions 20000

PostgreSQL: a fresh database ``desklink_bench_reports`` on the server at
``DESKLINK_TEST_PG_URL``'s host (default 127.0.0.1:5432 as postgres),
dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import random
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import _measure
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import create_async_engine

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from desklink.reports import ReportQuery  # noqa: E402
from desklink.store import Store  # noqa: E402
from desklink.store.models import (  # noqa: E402
    EventRow,
    MessageRow,
    PresenceRow,
    QueueMemberRow,
    QueueRow,
    RequestRow,
    SessionRow,
    UserRow,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
BATCH = 2_000
REPS, QUEUES = 20, 20
#: One session starts every this many seconds (100,000 span about 139 days).
STEP_S = 120


async def seed(store: Store, sessions: int, messages: int, unanswered_every: int) -> None:
    rng = random.Random(13)
    engine = store._engine
    async with engine.begin() as conn:
        await conn.execute(insert(UserRow), [
            {"id": 1000 + r, "username": f"rep{r}", "username_key": f"rep{r}", "display_name": f"Rep {r}",
             "role": "rep", "password_hash": "x", "created_at": T0} for r in range(REPS)])
        await conn.execute(insert(QueueRow), [
            {"id": 1000 + q, "slug": f"q{q}", "name": f"Queue {q}", "allowed_origins": [], "created_at": T0}
            for q in range(QUEUES)])
        await conn.execute(insert(QueueMemberRow), [
            {"queue_id": 1000 + q, "user_id": 1000 + (q + k) % REPS} for q in range(QUEUES) for k in range(3)])
        days = sessions * STEP_S // 86400 + 2
        await conn.execute(insert(PresenceRow), [
            {"user_id": 1000 + r, "node": "n1", "started_at": T0 + timedelta(days=d, hours=h),
             "seen_at": T0 + timedelta(days=d, hours=h + 5), "ended_at": T0 + timedelta(days=d, hours=h + 5)}
            for r in range(REPS) for d in range(days) for h in (6 + r % 4, 10 + r % 5)])
    for start in range(0, sessions, BATCH):
        reqs: list[dict[str, Any]] = []
        sess: list[dict[str, Any]] = []
        msgs: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        for i in range(start, min(start + BATCH, sessions)):
            at = T0 + timedelta(seconds=STEP_S * i)
            rid, sid = f"r{i:012d}", f"s{i:012d}"
            queue, rep = 1000 + i % QUEUES, 1000 + (i % QUEUES + i % 3) % REPS
            wait, handle = rng.randint(2, 300), rng.randint(60, 1800)
            common = {"queue_id": queue, "visitor_name": f"Visitor {i}", "visitor_email": f"v{i}@example.com",
                      "question": "my printer is slow", "ip": "192.0.2.1", "origin": "https://example.com"}
            reqs.append({**common, "id": rid, "visitor_token_hash": hashlib.sha256(rid.encode()).hexdigest(),
                         "status": "closed", "rep_id": rep, "last_seq": messages, "created_at": at,
                         "accepted_at": at + timedelta(seconds=wait),
                         "closed_at": at + timedelta(seconds=wait + handle)})
            sess.append({"id": sid, "request_id": rid, "rep_id": rep, "started_at": at + timedelta(seconds=wait),
                         "ended_at": at + timedelta(seconds=wait + handle), "ended_by": "rep",
                         "disposition": ("resolved", "not_resolved", "escalated", None)[i % 4], "note": "",
                         "rating": 1 + i % 5 if i % 3 == 0 else None, "rating_comment": ""})
            for m in range(messages):
                msgs.append({"request_id": rid, "seq": m + 1, "client_id": f"c{m}",
                             "sender": "visitor" if m % 2 == 0 else "rep", "sender_name": "x",
                             "user_id": None if m % 2 == 0 else rep, "body": "a line of chat about the printer",
                             "created_at": at + timedelta(seconds=wait + 20 * m)})
            for every, kind, data in ((3, "sharing_started", {}), (9, "privilege_granted", {"privilege": "control"}),
                                      (7, "file_offered", {"name": "fix.sh"})):
                if i % every == 0:
                    events.append({"request_id": rid, "kind": kind, "actor": "rep", "actor_id": rep, "data": data,
                                   "created_at": at + timedelta(seconds=wait + 60)})
            if i % unanswered_every == 0:
                uid = f"u{i:012d}"
                status = "expired" if i % (3 * unanswered_every) == 0 else "abandoned"
                reqs.append({**common, "id": uid, "visitor_token_hash": hashlib.sha256(uid.encode()).hexdigest(),
                             "visitor_name": f"Left {i}", "status": status, "rep_id": None, "last_seq": 0,
                             "created_at": at + timedelta(seconds=30), "accepted_at": None,
                             "closed_at": at + timedelta(seconds=30 + wait)})
                events.append({"request_id": uid, "kind": status, "actor": "visitor" if (i // unanswered_every) % 2 else "system",
                               "actor_id": None, "data": {}, "created_at": at + timedelta(seconds=30 + wait)})
        async with engine.begin() as conn:
            await conn.execute(insert(RequestRow), reqs)
            await conn.execute(insert(SessionRow), sess)
            if msgs:
                await conn.execute(insert(MessageRow), msgs)
            await conn.execute(insert(EventRow), events)
        print(f"  seeded {min(start + BATCH, sessions)}/{sessions}", end="\r", flush=True)
    print()
    async with engine.begin() as conn:
        await conn.execute(text("ANALYZE"))


def cases(sessions: int) -> list[tuple[str, Callable[[Store], Awaitable[int]]]]:
    middle = (T0 + timedelta(seconds=STEP_S * sessions // 2)).date()
    month = (middle - timedelta(days=29), middle)
    quarter = (middle - timedelta(days=90), middle)

    def report(first: date, last: date, group: str, **kw: Any) -> Callable[[Store], Awaitable[int]]:
        async def run(store: Store) -> int:
            r = await store.report(ReportQuery(first, last, "Europe/Paris", group, **kw))  # type: ignore[arg-type]
            return int(r.total.figures["requests"] or 0)
        return run

    def unanswered(**kw: Any) -> Callable[[Store], Awaitable[int]]:
        since = datetime.combine(month[0], datetime.min.time(), UTC)
        until = datetime.combine(month[1], datetime.min.time(), UTC)

        async def run(store: Store) -> int:
            return len(await store.unanswered_requests(since=since, until=until, **kw))
        return run

    return [
        ("day rows over 30 days", report(*month, "day")),
        ("week rows over a quarter", report(*quarter, "week")),
        ("queue rows over 30 days", report(*month, "queue")),
        ("rep rows over 30 days", report(*month, "rep")),
        ("queue rows over a quarter", report(*quarter, "queue")),
        ("day rows over 30 days, one rep (a rep's own)", report(*month, "day", rep_ids=frozenset({1004}))),
        ("day rows over 30 days, 3 queues (a supervisor)", report(*month, "day", queue_ids=frozenset({1001, 1002, 1003}))),
        ("day rows over a year", report(middle - timedelta(days=365), middle, "day")),
        ("unanswered, first page of 100 over 30 days", unanswered()),
        ("unanswered, cancelled only", unanswered(status="cancelled")),
        ("unanswered, words in name/e-mail/question", unanswered(words=("left", "printer"))),
    ]


async def run(url: str, label: str, args: argparse.Namespace, table: _measure.Table) -> None:
    store = await Store.open(url)
    try:
        started = time.perf_counter()
        await seed(store, args.sessions, args.messages, args.unanswered_every)
        table.section(f"{label}: {args.sessions:,} sessions, {args.sessions * args.messages:,} messages, "
                      f"{args.sessions // args.unanswered_every:,} unanswered (seeded in {time.perf_counter() - started:.0f} s)")
        for name, case in cases(args.sessions):
            times, found = [], 0
            for _ in range(args.runs):
                t = time.perf_counter()
                found = await case(store)
                times.append(time.perf_counter() - t)
            table.dist(f"{name} ({found:,})", times)
    finally:
        await store.close()


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    ap.add_argument("--sessions", type=int, default=100_000)
    ap.add_argument("--messages", type=int, default=10)
    ap.add_argument("--unanswered-every", type=int, default=10)
    ap.add_argument("--runs", type=int, default=10)
    args = ap.parse_args()
    print(_measure.machine_line())
    table = _measure.Table()
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory(prefix="desklink-reports-") as tmp:
            await run(f"sqlite+aiosqlite:///{tmp}/bench.db", "SQLite", args, table)
    if args.backend in ("postgresql", "both"):
        base = os.environ.get("DESKLINK_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
        admin_url, name = base.rsplit("/", 1)[0] + "/postgres", "desklink_bench_reports"
        admin = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
        try:
            async with admin.connect() as conn:
                await conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
                await conn.execute(text(f"CREATE DATABASE {name}"))
            try:
                await run(f"{admin_url.rsplit('/', 1)[0]}/{name}", "PostgreSQL", args, table)
            finally:
                async with admin.connect() as conn:
                    await conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        finally:
            await admin.dispose()
    table.print()


if __name__ == "__main__":
    asyncio.run(main())
