"""Transfer rows and the queue file policy, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest

from desklink.errors import NotFound, ProtocolError
from desklink.protocol.filepolicy import FilePolicy
from desklink.store import Request, Store, Transfer

from ._helpers import T0, at, make_queue, make_request, make_user


async def _offer(store: Store, req: Request, cid: str = "f1", **kw: object) -> tuple[Transfer, bool]:
    args: dict[str, object] = {
        "request_id": req.id,
        "session_id": "sess-1",
        "sender": "visitor",
        "sender_name": "Visitor",
        "user_id": None,
        "via": "browser",
        "target": "chat",
        "client_id": cid,
        "name": "report.pdf",
        "mime": "application/pdf",
        "size": 1234,
        "download_key": "k" * 43,
        "now": T0,
    }
    args.update(kw)
    return await store.create_transfer(**args)  # type: ignore[arg-type]


async def test_create_transfer_records_every_column(store: Store) -> None:
    req = await make_request(store, await make_queue(store))
    rep = await make_user(store)
    t, created = await _offer(store, req, "c1", sender="rep", sender_name="Alice", user_id=rep.id, target="computer")
    assert created
    assert (t.request_id, t.session_id, t.sender, t.sender_name, t.user_id, t.via, t.target) == (
        req.id, "sess-1", "rep", "Alice", rep.id, "browser", "computer"
    )
    assert (t.client_id, t.name, t.mime, t.size, t.download_key) == ("c1", "report.pdf", "application/pdf", 1234, "k" * 43)
    assert (t.received, t.delivered, t.sha256, t.status, t.reason) == (0, 0, "", "offered", "")
    assert t.created_at == T0 == t.updated_at
    assert await store.get_transfer(t.id) == t


async def test_create_transfer_is_idempotent_on_request_sender_client_id(store: Store) -> None:
    queue = await make_queue(store)
    req = await make_request(store, queue)
    other = await make_request(store, queue, ip="192.0.2.9")
    first, created = await _offer(store, req, "same")
    again, created_again = await _offer(store, req, "same", name="changed.txt", size=1, now=at(5))
    assert created and not created_again
    assert again == first and again.name == "report.pdf"
    # The same client id from the other party, or in another request, is another transfer.
    by_rep, c1 = await _offer(store, req, "same", sender="rep")
    elsewhere, c2 = await _offer(store, other, "same")
    assert c1 and c2 and len({first.id, by_rep.id, elsewhere.id}) == 3
    assert await store.count_transfers(req.id) == 2
    assert await store.count_transfers(other.id) == 1


async def test_concurrent_creates_with_one_client_id_store_one_row(store: Store) -> None:
    req = await make_request(store, await make_queue(store))
    results = await asyncio.gather(*(_offer(store, req, "race") for _ in range(8)))
    assert sum(created for _, created in results) == 1
    assert len({t.id for t, _ in results}) == 1
    assert await store.count_transfers(req.id) == 1


async def test_create_transfer_for_unknown_request_or_user_is_not_found(store: Store) -> None:
    req = await make_request(store, await make_queue(store))
    with pytest.raises(NotFound):
        await _offer(store, req, request_id="nope")
    with pytest.raises(NotFound):
        await _offer(store, req, "c2", user_id=999_999)
    assert await store.count_transfers(req.id) == 0


async def test_list_update_and_count(store: Store) -> None:
    req = await make_request(store, await make_queue(store))
    a, _ = await _offer(store, req, "a")
    b, _ = await _offer(store, req, "b", name="b.txt")
    assert [t.id for t in await store.list_transfers(req.id)] == [a.id, b.id]
    moved = await store.update_transfer(a.id, status="ready", received=1234, sha256="f" * 64, now=at(3))
    assert (moved.status, moved.received, moved.sha256, moved.updated_at, moved.created_at) == ("ready", 1234, "f" * 64, at(3), T0)
    failed = await store.update_transfer(b.id, status="failed", reason="the disk is full", delivered=0, now=at(4))
    assert (failed.status, failed.reason) == ("failed", "the disk is full")
    assert await store.get_transfer(a.id) == moved
    assert await store.count_transfers(req.id) == 2  # failed offers still count
    with pytest.raises(ValueError):
        await store.update_transfer(a.id, name="other.exe")
    with pytest.raises(NotFound):
        await store.update_transfer(999_999, status="ready")
    assert await store.get_transfer(999_999) is None
    assert await store.list_transfers("nope") == []


async def test_expire_transfers_marks_old_rows_and_keeps_them(store: Store) -> None:
    req = await make_request(store, await make_queue(store))
    old, _ = await _offer(store, req, "old", now=T0)
    await store.update_transfer(old.id, status="ready")
    young, _ = await _offer(store, req, "young", now=at(100))
    await store.update_transfer(young.id, status="ready")
    done, _ = await _offer(store, req, "done", now=at(1))
    await store.update_transfer(done.id, status="delivered")
    # An old upload still under way is the hub's to end (idle_transfers), never the sweep's.
    running, _ = await _offer(store, req, "running", now=T0)
    await store.update_transfer(running.id, status="uploading")
    expired = await store.expire_transfers(before=at(50), now=at(200))
    assert sorted(t.id for t in expired) == sorted([old.id, done.id])
    assert all(t.status == "expired" and t.updated_at == at(200) for t in expired)
    assert (await store.get_transfer(young.id)).status == "ready"  # type: ignore[union-attr]
    assert (await store.get_transfer(running.id)).status == "uploading"  # type: ignore[union-attr]
    assert await store.expire_transfers(before=at(50), now=at(300)) == []  # already expired
    assert await store.count_transfers(req.id) == 4


async def test_transfers_holding_bytes(store: Store) -> None:
    req = await make_request(store, await make_queue(store))
    rows = {s: (await _offer(store, req, s))[0] for s in ("ready", "delivered", "cancelled", "failed", "refused", "expired", "uploading")}
    for status, t in rows.items():
        await store.update_transfer(t.id, status=status)
    ids = {t.id for t in rows.values()} | {999_999}
    assert await store.transfers_holding_bytes(ids) == {rows[s].id for s in ("ready", "delivered", "uploading")}
    assert await store.transfers_holding_bytes(set()) == set()


async def test_file_policy_defaults_roundtrip_and_unknown_queue(store: Store) -> None:
    queue = await make_queue(store)
    assert await store.get_file_policy(queue.id) == FilePolicy()
    wanted = FilePolicy(
        to_visitor=False, from_visitor=True, max_file_bytes=10 << 20, max_files_per_session=7, blocked_extensions=("exe", "bat")
    )
    got = await store.set_file_policy(queue.id, wanted)
    assert got == FilePolicy(False, True, 10 << 20, 7, ("bat", "exe"))
    assert await store.get_file_policy(queue.id) == got
    other = await make_queue(store, "other")
    assert await store.get_file_policy(other.id) == FilePolicy()  # one queue's policy is its own
    with pytest.raises(NotFound):
        await store.get_file_policy(999_999)
    with pytest.raises(NotFound):
        await store.set_file_policy(999_999, wanted)
    with pytest.raises(ValueError):
        await store.set_file_policy(queue.id, FilePolicy(max_file_bytes=-1))
    with pytest.raises(ProtocolError):
        await store.set_file_policy(queue.id, FilePolicy(blocked_extensions=("../x",)))
    assert await store.get_file_policy(queue.id) == got
