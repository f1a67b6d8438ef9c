"""Retention on a real server: the sweeper expires old transfers (row kept,
bytes gone, download 404) and removes orphaned bytes."""

from __future__ import annotations

from typing import cast

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from desklink.server.api_files import download_path
from desklink.server.file_store import LocalFileStore
from desklink.store import Store, Transfer
from desklink.testing_files import stored_transfer
from desklink.testing import ONE_ADDRESS_ENV, ServerProcess, wait_until

RETENTION_S = 600


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    env = {**ONE_ADDRESS_ENV, "DESKLINK_FILE_RETENTION_S": str(RETENTION_S), "DESKLINK_SWEEP_INTERVAL_S": "0.2"}
    with ServerProcess(env=env) as srv:
        yield srv


@pytest.fixture
async def store(server: ServerProcess) -> AsyncIterator[Store]:
    s = await Store.open(f"sqlite+aiosqlite:///{server.data_dir / 'desklink.db'}")
    try:
        yield s
    finally:
        await s.close()


async def _transfer(server: ServerProcess, store: Store, *, age_s: float, status: str, finish: bool = True) -> Transfer:
    offered = datetime.now(UTC) - timedelta(seconds=age_s)
    return cast(Transfer, await stored_transfer(store, server, status=status, finish=finish, offered=offered))


async def test_old_transfers_expire_and_orphans_go(server: ServerProcess, store: Store) -> None:
    files = LocalFileStore(server.data_dir / "files")
    old = await _transfer(server, store, age_s=RETENTION_S + 60, status="ready")
    old_partial = await _transfer(server, store, age_s=RETENTION_S + 60, status="uploading", finish=False)
    young = await _transfer(server, store, age_s=0, status="ready")
    uploading = await _transfer(server, store, age_s=0, status="uploading", finish=False)
    cancelled = await _transfer(server, store, age_s=0, status="cancelled")
    failed = await _transfer(server, store, age_s=0, status="failed", finish=False)
    no_row = 10**9
    files.append(no_row, 0, b"left behind")

    gone = (old.id, cancelled.id, failed.id, no_row)
    await wait_until(lambda: not (files.stored_ids() & set(gone)), timeout=20, what="the sweeper to remove the files")

    after = {t.id: await store.get_transfer(t.id) for t in (old, old_partial, young, uploading, cancelled, failed)}
    assert after[old.id].status == "expired"  # type: ignore[union-attr]
    # An unfinished upload is not retention's to take (its bytes may still be
    # arriving); the idle timeout (file_idle_s) ends it through the hub.
    assert after[old_partial.id].status == "uploading"  # type: ignore[union-attr]
    assert after[old.id].name == "notes.txt" and after[old.id].received == 5  # type: ignore[union-attr]  # the record stays
    assert after[young.id].status == "ready"  # type: ignore[union-attr]
    assert after[uploading.id].status == "uploading"  # type: ignore[union-attr]
    assert after[cancelled.id].status == "cancelled"  # type: ignore[union-attr]
    assert files.is_finished(young.id) and files.partial_size(uploading.id) == 5
    assert files.partial_size(old_partial.id) == 5
    with httpx.Client(base_url=server.url) as http:
        r = http.get(download_path(old))
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
        assert http.get(download_path(young)).content == b"hello"


@pytest.fixture(scope="module")
def short_server() -> Iterator[ServerProcess]:
    env = {**ONE_ADDRESS_ENV, "DESKLINK_FILE_RETENTION_S": "1", "DESKLINK_SWEEP_INTERVAL_S": "0.2"}
    with ServerProcess(env=env) as srv:
        yield srv


async def test_a_one_second_retention_takes_a_fresh_file(short_server: ServerProcess) -> None:
    s = await Store.open(f"sqlite+aiosqlite:///{short_server.data_dir / 'desklink.db'}")
    try:
        row = await _transfer(short_server, s, age_s=0, status="ready")
        files = LocalFileStore(short_server.data_dir / "files")
        with httpx.Client(base_url=short_server.url) as http:
            await wait_until(lambda: not files.is_finished(row.id), timeout=20, what="the file to expire")
            assert http.get(download_path(row)).status_code == 404
        expired = await s.get_transfer(row.id)
        assert expired is not None and expired.status == "expired"
    finally:
        await s.close()
