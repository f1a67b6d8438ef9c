"""bench/alerts.py's backing services and what they cost: the PostgreSQL
database a ``--pg`` run creates and drops, the Redis keys a ``--redis`` run
leaves and removes, and the CPU meter that counts this bench's PostgreSQL
backends and Redis apart from everything else on the (shared) machine.
"""

from __future__ import annotations

import os
import secrets

from _measure import CpuMeter, CpuUsage

REDIS_URL = "redis://127.0.0.1:6379/0"
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"

OTHERS_LABEL = "CPU meanwhile: bench's PostgreSQL+Redis / unrelated procs"

#: Set by main(): the bench's PostgreSQL database (its backends' CPU is the
#: bench's work) and whether Redis is in use.
BACKENDS = {"pg_db": "", "redis": False}


def backend_pids() -> list[int]:
    """This bench's PostgreSQL backends (matched by database name) and
    redis-server (shared, so all of it is counted)."""
    out: list[int] = []
    if not BACKENDS["pg_db"] and not BACKENDS["redis"]:
        return out
    for entry in os.listdir("/proc")[:100_000]:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/comm") as f:
                comm = f.read().strip()
            if comm == "postgres" and BACKENDS["pg_db"]:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    if str(BACKENDS["pg_db"]).encode() not in f.read():
                        continue
            elif not (comm == "redis-server" and BACKENDS["redis"]):
                continue
            out.append(int(entry))
        except OSError:
            continue
    return out


def meanwhile_meter(server_pid: int) -> CpuMeter:
    """Server, this bench, its PostgreSQL/Redis and (as ``others``)
    everything else, over a phase: the machine is shared, other people's
    tests count. Started; :func:`describe_meanwhile` reads it."""
    return CpuMeter({"server": server_pid, "bench": os.getpid(), "backends": backend_pids}).start()


def describe_meanwhile(usage: CpuUsage) -> str:
    """``backends cores / everything-else cores`` for the OTHERS_LABEL row."""
    return f"{usage.cores('backends'):.2f} / {usage.others_cores:.2f}"


async def pg_create() -> tuple[str, str]:
    import asyncpg

    name = "desklink_bench_" + secrets.token_hex(4)
    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
        version = await conn.fetchval("SHOW server_version")
    finally:
        await conn.close()
    return name, str(version)


async def pg_drop(name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def redis_info() -> str:
    import redis

    r = redis.Redis.from_url(REDIS_URL)
    try:
        return str(r.info("server").get("redis_version", "?"))
    finally:
        r.close()


def redis_cleanup(prefix: str) -> int:
    import redis

    r = redis.Redis.from_url(REDIS_URL)
    removed = 0
    try:
        batch: list[bytes] = []
        for i, key in enumerate(r.scan_iter(match=prefix + "*", count=1000)):
            if i >= 1_000_000:
                break
            batch.append(key)
            if len(batch) >= 1000:
                removed += r.delete(*batch)
                batch = []
        if batch:
            removed += r.delete(*batch)
    finally:
        r.close()
    return removed

