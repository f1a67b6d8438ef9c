"""File control messages have their own per-minute budget: a folder of
files does not use up the chat's, and past the file budget the message is
dropped with ``rate_limited``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from desklink.testing import ONE_ADDRESS_ENV, AdminAPI, ServerProcess

from ._files import Upload, open_chat, wait_state


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    env = {**ONE_ADDRESS_ENV, "DESKLINK_MESSAGES_PER_MINUTE": "3", "DESKLINK_FILE_MESSAGES_PER_MINUTE": "6"}
    with ServerProcess(env=env) as srv:
        yield srv


async def test_files_and_chat_spend_separate_budgets(server: ServerProcess, admin: AdminAPI) -> None:
    chat = await open_chat(server, admin, "budget")
    for i in range(3):  # six file messages: more than the chat budget of three
        up = Upload(chat.visitor, b"x" * 10, f"f{i}.txt")
        await up.run()
        await wait_state(chat.rep, up.id, "ready")
    await chat.visitor.send({"t": "chat.send", "cid": "c1", "text": "one"})
    await chat.visitor.expect("chat", text="one")
    await chat.visitor.send({"t": "file.offer", "cid": "over", "name": "g.txt", "size": 1})
    err = await chat.visitor.expect("error")
    assert err["code"] == "rate_limited" and "file messages" in err["message"]
    for n in range(2):
        await chat.visitor.send({"t": "chat.send", "cid": f"c{n + 2}", "text": f"more {n}"})
        await chat.visitor.expect("chat", text=f"more {n}")
    await chat.visitor.send({"t": "chat.send", "cid": "c9", "text": "too many"})
    err = await chat.visitor.expect("error")
    assert err["code"] == "rate_limited" and "file" not in err["message"]
    await chat.close()
