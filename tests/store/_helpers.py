"""Helpers shared by the store tests: a fixed clock and record factories."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from desklink.store import Queue, Request, Store, User

#: A fixed "now"; tests move time with ``at(seconds)``.
T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def token_hash() -> str:
    return hashlib.sha256(secrets.token_bytes(24)).hexdigest()


async def make_user(store: Store, name: str = "alice", role: str = "rep", now: datetime = T0) -> User:
    return await store.create_user(name, name.title(), role, f"hash-of-{name}", now)  # type: ignore[arg-type]


async def make_queue(store: Store, slug: str = "main", now: datetime = T0) -> Queue:
    return await store.create_queue(slug, slug.title(), ["https://example.com"], now)


async def make_request(
    store: Store, queue: Queue, now: datetime = T0, *, ip: str = "192.0.2.1", question: str = "help?", visitor_client: str = ""
) -> Request:
    return await store.create_request(
        queue_id=queue.id,
        visitor_name="Visitor",
        visitor_email="v@example.com",
        question=question,
        token_hash=token_hash(),
        ip=ip,
        origin="https://example.com",
        now=now,
        visitor_client=visitor_client,
    )
