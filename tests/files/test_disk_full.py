"""A full disk through the whole server: the files root on a 4 MB tmpfs.
The sender gets ``storage_full`` in words, both parties see the transfer
failed, no partial file is left, and the server goes on serving chat."""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from desklink.testing import ONE_ADDRESS_ENV, AdminAPI, ServerProcess

from ._files import Refused, Upload, open_chat, wait_state

MB = 1024 * 1024


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    with tempfile.TemporaryDirectory(prefix="desklink-full-") as tmp:
        data_dir = Path(tmp)
        files = data_dir / "files"
        files.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(files)], check=True)
        try:
            env = {**ONE_ADDRESS_ENV, "DESKLINK_MIN_FREE_DISK_BYTES": "1"}
            with ServerProcess(data_dir=data_dir, env=env) as srv:
                yield srv
        finally:
            subprocess.run(["umount", str(files)], check=True)


async def test_disk_full_is_a_clear_error_and_leaves_nothing(server: ServerProcess, admin: AdminAPI) -> None:
    chat = await open_chat(server, admin, "full")
    up = Upload(chat.visitor, os.urandom(6 * MB), "huge.bin")
    await up.offer()
    with pytest.raises(Refused) as refused:
        await up.send_all()
    err = refused.value.error
    assert err["code"] == "storage_full" and "no room" in err["message"]
    failed = await wait_state(chat.rep, up.id, "failed")
    assert "no room" in failed["reason"] and failed["download"] == ""
    await wait_state(chat.visitor, up.id, "failed")
    assert list((server.data_dir / "files").iterdir()) == []
    # Everything else goes on: chat, and a small file that fits.
    await chat.rep.send({"t": "chat.send", "session_id": chat.session_id, "cid": "r1", "text": "still here"})
    assert (await chat.visitor.expect("chat", text="still here"))["from"] == "rep"
    small = Upload(chat.rep, b"s" * 1000, "small.txt", session_id=chat.session_id)
    await small.run()
    await wait_state(chat.visitor, small.id, "ready")
    await chat.close()
