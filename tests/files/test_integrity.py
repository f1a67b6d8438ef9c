"""An upload whose bytes went away, or which was ended elsewhere, never
becomes ``ready`` (review finding 1, 2, 3); credit and pause are enforced
(finding 4); retention leaves live uploads alone and the idle timeout ends
abandoned ones through the hub (finding 1c, 9). Real server, real sockets."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from desklink.protocol.limits import FILE_CHUNK_BYTES
from desklink.server.file_store import LocalFileStore
from desklink.store import Store
from desklink.testing import ONE_ADDRESS_ENV, AdminAPI, ServerProcess, wait_until

from ._files import Upload, download, expect_where, open_chat, send_chunk, sha, wait_state

WINDOW = 100_000


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    env = {**ONE_ADDRESS_ENV, "DESKLINK_FILE_WINDOW_BYTES": str(WINDOW)}
    with ServerProcess(env=env) as srv:
        yield srv


def _error_or_ack(tid: int) -> Any:
    return lambda m: m.get("t") == "error" or (m.get("t") == "file.ack" and m.get("id") == tid)


async def test_bytes_gone_before_end_never_become_ready(server: ServerProcess, admin: AdminAPI) -> None:
    chat = await open_chat(server, admin, "gone")
    data = os.urandom(FILE_CHUNK_BYTES // 2)
    up = Upload(chat.visitor, data, "a.bin")
    await up.offer()
    await up.send_all()
    files = LocalFileStore(server.data_dir / "files")
    (server.data_dir / "files" / f"{up.id}.part").unlink()  # what the orphan sweep or another node does
    await up.end()
    err = await expect_where(chat.visitor, lambda m: m.get("t") == "error")
    assert err["code"] == "storage_failed" and "no longer holds" in err["message"]
    failed = await wait_state(chat.rep, up.id, "failed")
    assert failed["download"] == "" and "no longer holds" in failed["reason"]
    assert not files.is_finished(up.id)
    assert all(m["status"] != "ready" for m in chat.visitor.received if m.get("t") == "file.state" and m["id"] == up.id)
    await chat.close()


async def test_a_chunk_after_the_bytes_went_fails_the_transfer_not_the_socket(
    server: ServerProcess, admin: AdminAPI
) -> None:
    chat = await open_chat(server, admin, "lost")
    data = os.urandom(2 * WINDOW)
    up = Upload(chat.visitor, data, "b.bin")
    await up.offer()
    await up.send_until(WINDOW)
    (server.data_dir / "files" / f"{up.id}.part").unlink()
    await send_chunk(chat.visitor.ws, up.id, WINDOW, data[WINDOW:])
    err = await expect_where(chat.visitor, lambda m: m.get("t") == "error")
    assert err["code"] == "storage_failed" and err["ref"] == "file.chunk"
    failed = await wait_state(chat.rep, up.id, "failed")
    assert "lost the bytes" in failed["reason"]
    # The socket is still up: chat goes on.
    await chat.visitor.send({"t": "chat.send", "cid": "x1", "text": "still here?"})
    await chat.rep.expect("chat", text="still here?")
    await chat.close()


async def test_an_upload_ended_elsewhere_is_not_revived(server: ServerProcess, admin: AdminAPI) -> None:
    """Another node (here: the row, changed directly) cancelled it while this
    node still holds the upload in memory: end and resume adopt the row."""
    chat = await open_chat(server, admin, "else")
    data = os.urandom(WINDOW // 2)
    up = Upload(chat.visitor, data, "c.bin")
    await up.offer()
    await up.send_all()
    store = await Store.open(f"sqlite+aiosqlite:///{server.data_dir / 'desklink.db'}")
    try:
        await store.update_transfer(up.id, status="cancelled", reason="cancelled by Rita")
        await chat.visitor.send({"t": "file.resume", "id": up.id})
        st = await wait_state(chat.visitor, up.id, "cancelled")
        assert st["reason"] == "cancelled by Rita"
        await up.end()
        st = await wait_state(chat.visitor, up.id, "cancelled")
        assert st["reason"] == "cancelled by Rita" and st["download"] == ""
        row = await store.get_transfer(up.id)
        assert row is not None and row.status == "cancelled" and row.sha256 == ""
    finally:
        await store.close()
    assert not LocalFileStore(server.data_dir / "files").is_finished(up.id)
    await chat.close()


async def test_a_pause_does_not_revive_a_transfer_ended_elsewhere(server: ServerProcess, admin: AdminAPI) -> None:
    chat = await open_chat(server, admin, "pe")
    up = Upload(chat.visitor, os.urandom(WINDOW), "p.bin")
    await up.offer()
    store = await Store.open(f"sqlite+aiosqlite:///{server.data_dir / 'desklink.db'}")
    try:
        await store.update_transfer(up.id, status="cancelled", reason="cancelled by Rita")
        await chat.rep.send({"t": "file.pause", "id": up.id, "on": True})
        st = await wait_state(chat.rep, up.id, "cancelled")
        assert st["reason"] == "cancelled by Rita"
        row = await store.get_transfer(up.id)
        assert row is not None and row.status == "cancelled"
    finally:
        await store.close()
    assert all(m["status"] != "paused" for m in chat.visitor.received if m.get("t") == "file.state" and m["id"] == up.id)
    await chat.close()


async def test_no_bytes_are_taken_while_paused(server: ServerProcess, admin: AdminAPI) -> None:
    chat = await open_chat(server, admin, "pz")
    data = os.urandom(WINDOW)
    up = Upload(chat.visitor, data, "d.bin")
    await up.offer()
    await chat.rep.send({"t": "file.pause", "id": up.id, "on": True})
    await wait_state(chat.visitor, up.id, "paused")
    await send_chunk(chat.visitor.ws, up.id, 0, data[:1000])
    msg = await expect_where(chat.visitor, lambda m: m.get("t") in ("error", "file.ack", "file.nak"))
    assert msg["t"] == "file.nak" and msg["offset"] == 0, msg  # go back to 0: nothing was taken
    assert LocalFileStore(server.data_dir / "files").partial_size(up.id) == 0
    await chat.rep.send({"t": "file.pause", "id": up.id, "on": False})
    ack = await chat.visitor.expect("file.ack", id=up.id)
    assert ack["acked"] == 0 and ack["until"] == WINDOW
    up.take(ack)
    await up.send_all()
    await up.end()
    ready = await wait_state(chat.rep, up.id, "ready")
    assert download(server, ready["download"]).content == data
    await chat.close()


async def test_a_chunk_past_the_credit_is_refused(server: ServerProcess, admin: AdminAPI) -> None:
    chat = await open_chat(server, admin, "cr")
    data = os.urandom(2 * WINDOW)
    up = Upload(chat.visitor, data, "e.bin")
    await up.offer()
    assert up.until == WINDOW
    await send_chunk(chat.visitor.ws, up.id, 0, data[: WINDOW + 1])  # one byte past the window
    msg = await expect_where(chat.visitor, _error_or_ack(up.id))
    assert msg["t"] == "error" and msg["code"] == "bad_state" and "credit" in msg["message"], msg
    assert LocalFileStore(server.data_dir / "files").partial_size(up.id) == 0
    await up.send_all()  # within the credit it goes through
    await up.end()
    assert (await wait_state(chat.rep, up.id, "ready"))["sha256"] == sha(data)
    await chat.close()


# -- retention and the idle timeout ----------------------------------------


@pytest.fixture(scope="module")
def short() -> Iterator[ServerProcess]:
    env = {**ONE_ADDRESS_ENV, "DESKLINK_FILE_RETENTION_S": "1", "DESKLINK_SWEEP_INTERVAL_S": "0.2"}
    with ServerProcess(env=env) as srv:
        yield srv


async def test_retention_leaves_a_live_upload_alone(short: ServerProcess) -> None:
    admin = AdminAPI(short)
    try:
        chat = await open_chat(short, admin, "ret")
        data = os.urandom(3 * FILE_CHUNK_BYTES)
        slow = Upload(chat.visitor, data, "slow.bin")
        await slow.offer()
        await slow.send_until(FILE_CHUNK_BYTES)
        # A file offered after the slow one expires: the sweep ran past the slow one's age too.
        quick = Upload(chat.visitor, b"quick", "quick.txt")
        await quick.run()
        await wait_state(chat.visitor, quick.id, "ready")
        files = LocalFileStore(short.data_dir / "files")
        await wait_until(lambda: not files.is_finished(quick.id), timeout=20, what="the quick file to expire")
        assert files.partial_size(slow.id) >= FILE_CHUNK_BYTES
        await slow.send_all()
        await slow.end()
        ready = await wait_state(chat.rep, slow.id, "ready")
        assert ready["sha256"] == sha(data)
        await chat.close()
    finally:
        admin.close()


@pytest.fixture(scope="module")
def idle() -> Iterator[ServerProcess]:
    env = {**ONE_ADDRESS_ENV, "DESKLINK_FILE_IDLE_S": "2", "DESKLINK_SWEEP_INTERVAL_S": "0.2"}
    with ServerProcess(env=env) as srv:
        yield srv


async def test_an_abandoned_upload_is_cancelled_with_words(idle: ServerProcess) -> None:
    admin = AdminAPI(idle)
    try:
        chat = await open_chat(idle, admin, "idle")
        data = os.urandom(2 * FILE_CHUNK_BYTES)
        up = Upload(chat.visitor, data, "left.bin")
        await up.offer()
        await up.send_until(FILE_CHUNK_BYTES)
        for party in (chat.visitor, chat.rep):
            st = await wait_state(party, up.id, "cancelled")
            assert st["reason"] == "nothing arrived for 2 seconds"
        files = LocalFileStore(idle.data_dir / "files")
        assert files.partial_size(up.id) == 0
        await send_chunk(chat.visitor.ws, up.id, 0, data[:1000])
        err = await expect_where(chat.visitor, lambda m: m.get("t") == "error")
        assert err["code"] == "bad_state", err
        await chat.close()
    finally:
        admin.close()
