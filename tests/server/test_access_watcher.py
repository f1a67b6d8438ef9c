"""The access watcher (server/access.py): which changes are new, ids that
commit out of order, and carrying on after the store fails."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from desklink.server.access import AccessCursor, AccessWatcher
from desklink.store import Store
from desklink.store.records import AccessChange

T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def rows(*pairs: tuple[int, int]) -> list[AccessChange]:
    return [AccessChange(id=i, user_id=u, created_at=T0) for i, u in pairs]


def test_rows_after_the_last_id_are_new_once() -> None:
    cursor = AccessCursor(start_id=10)
    assert cursor.floor == 10
    assert cursor.take(rows((11, 1), (12, 2), (13, 1)), now=0.0) == {1, 2}
    assert cursor.floor == 13
    assert cursor.take(rows((11, 1), (12, 2), (13, 1)), now=0.1) == set()
    assert cursor.take(rows((14, 3)), now=0.2) == {3}


def test_an_id_that_commits_late_is_still_seen() -> None:
    """PostgreSQL: transaction A takes id 5, B takes 6 and commits first."""
    cursor = AccessCursor(start_id=4, gap_wait_s=10.0)
    assert cursor.take(rows((6, 2)), now=0.0) == {2}
    assert cursor.floor == 4  # keep reading from below the gap
    assert cursor.take(rows((6, 2)), now=1.0) == set()
    assert cursor.take(rows((5, 1), (6, 2), (7, 3)), now=2.0) == {1, 3}
    assert cursor.floor == 7 and not cursor.gaps


def test_a_gap_that_never_fills_is_given_up() -> None:
    cursor = AccessCursor(start_id=0, gap_wait_s=10.0)
    cursor.take(rows((3, 9)), now=0.0)
    assert cursor.floor == 0
    cursor.take(rows((3, 9)), now=10.5)
    assert cursor.floor == 3 and not cursor.gaps


async def test_the_watcher_survives_a_failing_store_and_resumes(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'desklink.db'}"
    store = await Store.open(url)
    other = create_async_engine(url)  # another process's view of the same file
    seen: list[set[int]] = []
    arrived = asyncio.Event()

    def notify(users: set[int]) -> None:
        seen.append(users)
        arrived.set()

    await store.add_access_change(1, T0)  # before the watcher starts: not news
    watcher = AccessWatcher(store, 0.05, notify)
    assert await watcher.poll() == set()  # starts from the newest change
    task = asyncio.create_task(watcher.run())
    try:
        await store.add_access_change(2, T0)
        await asyncio.wait_for(arrived.wait(), 10)
        assert seen == [{2}]
        arrived.clear()

        async with other.begin() as conn:
            await conn.execute(sa.text("ALTER TABLE access_changes RENAME TO access_changes_away"))
        errors = watcher.errors
        while watcher.errors < errors + 2:  # it keeps trying, and keeps failing
            await asyncio.sleep(0.05)
        async with other.begin() as conn:
            await conn.execute(sa.text("INSERT INTO access_changes_away (user_id, created_at) VALUES (3, '2026-12-03 09:00:00')"))
            await conn.execute(sa.text("ALTER TABLE access_changes_away RENAME TO access_changes"))
        await asyncio.wait_for(arrived.wait(), 10)
        assert seen == [{2}, {3}]  # the change made during the outage, once
        assert not task.done()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await other.dispose()
        await store.close()
