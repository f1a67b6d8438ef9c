"""The recording writer and the local segment store, against a real SQLite
store and a real directory: segments are stored in order, verify end to end
with the database's head hash, and a storage failure is reported (once), not
raised into the relay."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from desklink.protocol import recording as rec
from desklink.protocol import screen
from desklink.protocol.framing import Channel, encode_frame
from desklink.relay.effects import Record
from desklink.server.recording_store import LocalRecordingStore, RecordingStorageFailed
from desklink.server.recording_writer import FELL_BEHIND, RecordingHub
from desklink.store import Store

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def key_frame(seq: int) -> bytes:
    f = screen.Frame(seq, 0, 32, 32, [screen.Rect.fill(0, 0, 32, 32, (1, 2, 3))], flags=screen.FLAG_KEY)
    return encode_frame(Channel.SCREEN, f.encode())


def delta(seq: int) -> bytes:
    return encode_frame(Channel.SCREEN, screen.Frame(seq, 0, 32, 32, [screen.Rect.fill(0, 0, 2, 2, (9, 9, 9))]).encode())


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'd.db'}")
    try:
        q = await s.create_queue("main", "Main", [], NOW)
        await s.create_request(
            queue_id=q.id, visitor_name="V", visitor_email="", question="?", token_hash="h" * 64,
            ip="192.0.2.1", origin="https://example.com", now=NOW,
        )
        yield s
    finally:
        await s.close()


async def _run(hub: RecordingHub) -> asyncio.Task[None]:
    return asyncio.create_task(hub.run())


async def test_segments_are_stored_chained_and_verify_with_the_head(store: Store, tmp_path: Path) -> None:
    req_id = await _first_request(store)
    disk = LocalRecordingStore(tmp_path / "rec")
    keys: list[str] = []
    hub = RecordingHub(store, disk, segment_s=1.0, max_pending_bytes=1 << 20, on_key=keys.append)
    task = await _run(hub)
    try:
        hub.put(Record("sess1", req_id, "start", b"", 0.0))
        hub.put(Record("sess1", req_id, "screen", key_frame(1), 0.0))
        for i in range(2, 30):
            hub.put(Record("sess1", req_id, "screen", delta(i), i * 0.1))
        hub.put(Record("sess1", req_id, "event", b'{"t":"screen.state"}', 3.0))
        hub.put(Record("sess1", req_id, "stop", b"", 3.05))
        await hub.drain()
        await hub.drain()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    numbers = disk.list_segments("sess1")
    assert numbers == list(range(len(numbers))) and len(numbers) >= 3
    row = await store.get_recording("sess1")
    assert row is not None and row.status == "done" and row.segments == len(numbers)
    segs = [(n, disk.read_segment("sess1", n)) for n in numbers]
    result = rec.verify(segs, "sess1", bytes.fromhex(row.head_hash))
    assert result.ok, result.describe()
    assert keys  # a segment opened after the screen changed: a key frame was asked
    assert len(list(rec.replay(segs, "sess1"))) == 30
    assert row.bytes == sum(len(d) for _, d in segs)


async def test_a_store_failure_is_reported_once_and_nothing_follows(store: Store, tmp_path: Path) -> None:
    req_id = await _first_request(store)
    blocker = tmp_path / "not-a-dir"
    blocker.write_bytes(b"x")  # a file where the recordings directory should be: every write fails
    failures: list[tuple[str, str]] = []
    hub = RecordingHub(
        store, LocalRecordingStore(blocker / "rec"), segment_s=0.5, max_pending_bytes=1 << 20,
        on_failure=lambda sid, e: failures.append((sid, e)),
    )
    task = await _run(hub)
    try:
        hub.put(Record("sess1", req_id, "start", b"", 0.0))
        hub.put(Record("sess1", req_id, "screen", key_frame(1), 0.0))
        hub.put(Record("sess1", req_id, "screen", delta(2), 0.6))  # closes segment 0
        await hub.drain()
        hub.put(Record("sess1", req_id, "screen", delta(3), 1.2))
        await hub.drain()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert len(failures) == 1 and failures[0][0] == "sess1"
    row = await store.get_recording("sess1")
    assert row is not None and row.status == "failed" and row.error == failures[0][1]
    assert hub.statistics()["failures"] == 1


async def test_past_the_pending_limit_the_recording_fails(store: Store, tmp_path: Path) -> None:
    req_id = await _first_request(store)
    failures: list[str] = []
    hub = RecordingHub(
        store, LocalRecordingStore(tmp_path / "rec"), segment_s=0.1, max_pending_bytes=50,
        on_failure=lambda sid, e: failures.append(e),
    )
    hub.put(Record("sess1", req_id, "start", b"", 0.0))
    hub.put(Record("sess1", req_id, "screen", key_frame(1), 0.0))
    hub.put(Record("sess1", req_id, "screen", delta(2), 0.2))  # the closed segment is over 50 bytes
    assert failures == [FELL_BEHIND]
    task = await _run(hub)
    try:
        await hub.drain()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def test_local_store_refuses_bad_names_and_lists_only_whole_segments(tmp_path: Path) -> None:
    disk = LocalRecordingStore(tmp_path)
    with pytest.raises(ValueError):
        disk.write_segment("../etc", 0, b"x")
    disk.write_segment("abc", 1, b"one")
    disk.write_segment("abc", 0, b"zero")
    (tmp_path / "abc" / "2.dlrec.tmp").write_bytes(b"half")
    assert disk.list_segments("abc") == [0, 1]
    assert disk.read_segment("abc", 0) == b"zero"
    assert disk.usage() >= 7
    disk.remove("abc")
    assert disk.list_segments("abc") == []


def test_local_store_failure_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"")
    with pytest.raises(RecordingStorageFailed, match="could not be written"):
        LocalRecordingStore(tmp_path / "f" / "rec").write_segment("abc", 0, b"x")


async def _first_request(store: Store) -> str:
    from sqlalchemy import select

    from desklink.store.models import RequestRow

    async with store._read() as conn:  # noqa: SLF001 - the fixture made exactly one
        return str(await conn.scalar(select(RequestRow.id)))
