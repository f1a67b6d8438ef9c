"""Every file limit, one step past it, through a real server: server
settings, the queue's policy, the decoder's bounds. Each refusal is a clear
error to the sender and leaves nothing behind."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from desklink.protocol.filepolicy import FilePolicy
from desklink.protocol.files import encode_chunk
from desklink.protocol.framing import Channel, split_frame
from desklink.protocol.limits import FILE_CHUNK_BYTES, MAX_FILE_NAME_CHARS, MAX_MESSAGE_BYTES
from desklink.store import Store
from desklink.testing import ONE_ADDRESS_ENV, AdminAPI, ServerProcess

from ._files import Chat, Upload, open_chat, wait_state

MAX_FILE = 2_000_000
MAX_FILES = 4
MAX_ACTIVE = 2


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    env = {
        **ONE_ADDRESS_ENV,
        "DESKLINK_MAX_FILE_BYTES": str(MAX_FILE),
        "DESKLINK_MAX_FILES_PER_SESSION": str(MAX_FILES),
        "DESKLINK_MAX_ACTIVE_TRANSFERS": str(MAX_ACTIVE),
    }
    with ServerProcess(env=env) as srv:
        yield srv


@pytest.fixture
async def chat(server: ServerProcess, admin: AdminAPI) -> AsyncIterator[Chat]:
    c = await open_chat(server, admin, "lim")
    yield c
    await c.close()


async def set_policy(server: ServerProcess, queue_id: int, policy: FilePolicy) -> None:
    """The queue's policy as an admin sets it (the same database the server reads per offer)."""
    store = await Store.open(f"sqlite+aiosqlite:///{server.data_dir / 'desklink.db'}")
    try:
        await store.set_file_policy(queue_id, policy)
    finally:
        await store.close()


async def refused(client: Any, offer: dict[str, Any]) -> dict[str, Any]:
    await client.send({"t": "file.offer", "mime": "", **offer})
    err = await client.expect("error")
    assert not [m for m in client._unclaimed if m.get("t") == "file.state" and m.get("cid") == offer["cid"]]
    return err


async def test_a_file_over_the_server_setting(chat: Chat) -> None:
    err = await refused(chat.visitor, {"cid": "big", "name": "big.iso", "size": MAX_FILE + 1})
    assert err["code"] == "too_large" and "largest allowed" in err["message"]
    up = Upload(chat.visitor, b"z" * 1000, "ok.txt")
    await up.run()
    await wait_state(chat.rep, up.id, "ready")


async def test_the_queue_policy(server: ServerProcess, chat: Chat) -> None:
    qid = chat.queue["id"]
    await set_policy(server, qid, FilePolicy(max_file_bytes=1000, blocked_extensions=("exe",)))
    assert (await refused(chat.visitor, {"cid": "q1", "name": "a.bin", "size": 1001}))["code"] == "too_large"
    err = await refused(chat.visitor, {"cid": "q2", "name": "setup.EXE", "size": 10})
    assert err["code"] == "forbidden" and ".exe" in err["message"]
    await set_policy(server, qid, FilePolicy(from_visitor=False))
    err = await refused(chat.visitor, {"cid": "q3", "name": "log.txt", "size": 10})
    assert err["code"] == "forbidden" and "from the visitor" in err["message"]
    # The other direction is still open.
    up = Upload(chat.rep, b"fix", "fix.txt", session_id=chat.session_id)
    await up.run()
    await wait_state(chat.visitor, up.id, "ready")
    await set_policy(server, qid, FilePolicy(to_visitor=False))
    err = await refused(chat.rep, {"cid": "q4", "name": "fix2.txt", "size": 3, "session_id": chat.session_id})
    assert err["code"] == "forbidden" and "to the visitor" in err["message"]
    await set_policy(server, qid, FilePolicy(max_files_per_session=1))
    err = await refused(chat.visitor, {"cid": "q5", "name": "second.txt", "size": 3})
    assert err["code"] == "too_many_files"


async def test_too_many_files_per_session_and_too_many_at_once(chat: Chat) -> None:
    ups = [Upload(chat.visitor, b"a" * 100, f"f{i}.txt") for i in range(MAX_ACTIVE)]
    for up in ups:
        await up.offer()
    err = await refused(chat.visitor, {"cid": "third", "name": "f9.txt", "size": 100})
    assert err["code"] == "too_many_files" and "at once" in err["message"]
    for up in ups:
        await up.send_all()
        await up.end()
        await wait_state(chat.rep, up.id, "ready")
    for i in range(MAX_FILES - MAX_ACTIVE):
        await Upload(chat.visitor, b"b", f"g{i}.txt").run()
    err = await refused(chat.visitor, {"cid": "over", "name": "h.txt", "size": 1})
    assert err["code"] == "too_many_files" and "the most allowed" in err["message"]


async def test_a_chunk_larger_than_the_chunk_size(chat: Chat) -> None:
    up = Upload(chat.visitor, b"q" * (FILE_CHUNK_BYTES + 10), "c.bin")
    await up.offer()
    for part in split_frame(Channel.FILE, encode_chunk(up.id, 0, up.data), MAX_MESSAGE_BYTES):
        await chat.visitor.ws.send(part)
    err = await chat.visitor.expect("error")
    assert err["code"] == "too_large"
    # Nothing was kept, and the socket goes on: the file can be sent properly.
    await up.send_all()
    await up.end()
    await wait_state(chat.rep, up.id, "ready")


async def test_a_name_too_long_is_refused_by_the_decoder(chat: Chat) -> None:
    err = await refused(chat.visitor, {"cid": "long", "name": "n" * (MAX_FILE_NAME_CHARS + 1), "size": 1})
    assert err["code"] in ("bad_message", "too_large")
