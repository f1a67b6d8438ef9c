"""Session search over many sessions, on SQLite and PostgreSQL.

Seeds ``--sessions`` sessions (default 100,000) in 20 queues with 10 reps,
each with ``--messages`` chat messages (default 6) drawn from a small
vocabulary plus one rare word in 1 session of 1,000, and the events a third
of them would leave (screen shared, control granted, files), straight into a
fresh database through the store's own tables (bulk inserts; the store's
methods would take an hour). Then times ``Store.search_sessions`` for the
searches the admin center makes, ``--runs`` times each, and prints n, p50,
p90, p99 and max.

    .venv/bin/python bench/search.py                      # both backends
    .venv/bin/python bench/search.py --backend sqlite --sessions 20000

PostgreSQL: a fresh database ``desklink_bench_search`` on the server at
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
from datetime import UTC, datetime, timedelta
from pathlib import Path

import _measure
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import create_async_engine

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from desklink.store import Store  # noqa: E402
from desklink.store._search import SessionQuery, split_words  # noqa: E402
from desklink.store.models import EventRow, MessageRow, QueueMemberRow, QueueRow, RequestRow, SessionRow, UserRow  # noqa: E402

WORDS = ("printer", "wifi", "password", "reset", "screen", "slow", "email", "invoice", "update", "error", "vpn",
         "login", "mouse", "keyboard", "crash", "license", "backup", "sound", "camera", "network")
T0 = datetime(2026, 1, 1, tzinfo=UTC)
BATCH = 5_000


def _line(rng: random.Random, i: int) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(4, 14))]
    if i % 1000 == 7:
        words.insert(2, "zyxwarble")  # the rare word: one session in a thousand
    return " ".join(words).capitalize() + "."


async def seed(store: Store, sessions: int, messages: int) -> None:
    rng = random.Random(42)
    engine = store._engine
    async with engine.begin() as conn:
        await conn.execute(insert(UserRow), [
            {"id": 1000 + r, "username": f"rep{r}", "username_key": f"rep{r}", "display_name": f"Rep {r}", "role": "rep", "password_hash": "x",
             "created_at": T0} for r in range(10)])
        await conn.execute(insert(QueueRow), [
            {"id": 1000 + q, "slug": f"q{q}", "name": f"Queue {q}", "allowed_origins": [], "created_at": T0} for q in range(20)])
        await conn.execute(insert(QueueMemberRow), [{"queue_id": 1000 + q, "user_id": 1000 + (q % 10)} for q in range(20)])
    for start in range(0, sessions, BATCH):
        reqs, sess, msgs, events = [], [], [], []
        for i in range(start, min(start + BATCH, sessions)):
            at = T0 + timedelta(minutes=5 * i)
            rid, sid = f"r{i:012d}", f"s{i:012d}"
            rep = 1000 + i % 10
            reqs.append({"id": rid, "queue_id": 1000 + i % 20, "visitor_name": f"Visitor {i}", "visitor_email": f"v{i}@example.com",
                         "question": "help", "visitor_token_hash": hashlib.sha256(rid.encode()).hexdigest(), "ip": "192.0.2.1",
                         "origin": "https://example.com", "status": "closed", "rep_id": rep, "last_seq": messages,
                         "created_at": at, "accepted_at": at, "closed_at": at + timedelta(minutes=4)})
            sess.append({"id": sid, "request_id": rid, "rep_id": rep, "started_at": at, "ended_at": at + timedelta(minutes=4),
                         "ended_by": "rep", "disposition": ("resolved", "not_resolved", "escalated")[i % 3], "note": ""})
            for m in range(messages):
                msgs.append({"request_id": rid, "seq": m + 1, "client_id": f"c{m}", "sender": "visitor" if m % 2 == 0 else "rep",
                             "sender_name": "x", "user_id": None if m % 2 == 0 else rep, "body": _line(rng, i if m == 1 else -1),
                             "created_at": at + timedelta(seconds=20 * m)})
            if i % 3 == 0:
                events.append({"request_id": rid, "kind": "sharing_started", "actor": "visitor", "actor_id": None, "data": {},
                               "created_at": at + timedelta(seconds=60)})
            if i % 9 == 0:
                events.append({"request_id": rid, "kind": "privilege_granted", "actor": "visitor", "actor_id": None,
                               "data": {"privilege": "control"}, "created_at": at + timedelta(seconds=70)})
            if i % 7 == 0:
                events.append({"request_id": rid, "kind": "file_offered", "actor": "rep", "actor_id": rep,
                               "data": {"name": "fix.sh"}, "created_at": at + timedelta(seconds=80)})
        async with engine.begin() as conn:
            await conn.execute(insert(RequestRow), reqs)
            await conn.execute(insert(SessionRow), sess)
            await conn.execute(insert(MessageRow), msgs)
            if events:
                await conn.execute(insert(EventRow), events)
        print(f"  seeded {min(start + BATCH, sessions)}/{sessions}", end="\r", flush=True)
    print()
    if engine.dialect.name == "postgresql":
        async with engine.begin() as conn:
            await conn.execute(text("ANALYZE"))


QUERIES: list[tuple[str, SessionQuery]] = [
    ("newest 100 (the list)", SessionQuery()),
    ("one queue (a supervisor)", SessionQuery(queue_ids=frozenset({1003}))),
    ("one rep (a rep's own)", SessionQuery(rep_id=1004)),
    ("one week", SessionQuery(since=T0 + timedelta(days=100), until=T0 + timedelta(days=107))),
    ("visitor name", SessionQuery(visitor="visitor 4242")),
    ("common word", SessionQuery(words=split_words("printer"))),
    ("two common words", SessionQuery(words=split_words("printer wifi"))),
    ("rare word (1 in 1,000 sessions)", SessionQuery(words=split_words("zyxwarble"))),
    ("word that is nowhere", SessionQuery(words=split_words("nowherezzz"))),
    ("had control + disposition", SessionQuery(had=frozenset({"control"}), disposition="resolved")),
    ("rare word + one queue + had screen", SessionQuery(words=split_words("zyxwarble"), queue_ids=frozenset({1007}),
                                                        had=frozenset({"screen"}))),
]


async def run(url: str, label: str, sessions: int, messages: int, runs: int, table: _measure.Table) -> None:
    store = await Store.open(url)
    try:
        started = time.perf_counter()
        await seed(store, sessions, messages)
        table.section(f"{label}: {sessions:,} sessions, {sessions * messages:,} messages "
                      f"(seeded in {time.perf_counter() - started:.0f} s)")
        for name, query in QUERIES:
            times, found = [], 0
            for _ in range(runs):
                t = time.perf_counter()
                found = len(await store.search_sessions(query))
                times.append(time.perf_counter() - t)
            table.dist(f"{name} ({found} found)", times)
    finally:
        await store.close()


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    ap.add_argument("--sessions", type=int, default=100_000)
    ap.add_argument("--messages", type=int, default=6)
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()
    print(_measure.machine_line())
    table = _measure.Table()
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory(prefix="desklink-search-") as tmp:
            await run(f"sqlite+aiosqlite:///{tmp}/bench.db", "SQLite", args.sessions, args.messages, args.runs, table)
    if args.backend in ("postgresql", "both"):
        base = os.environ.get("DESKLINK_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
        admin_url, name = base.rsplit("/", 1)[0] + "/postgres", "desklink_bench_search"
        admin = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
        try:
            async with admin.connect() as conn:
                await conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
                await conn.execute(text(f"CREATE DATABASE {name}"))
            try:
                await run(f"{admin_url.rsplit('/', 1)[0]}/{name}", "PostgreSQL", args.sessions, args.messages, args.runs, table)
            finally:
                async with admin.connect() as conn:
                    await conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        finally:
            await admin.dispose()
    table.print()


if __name__ == "__main__":
    asyncio.run(main())
