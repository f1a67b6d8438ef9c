"""A supervisor's whispers and lines keep the chat's limits (issue 13):
``max_chat_chars`` and ``messages_per_minute``, gone past on a real server.
The sender gets a clear error; nothing reaches anyone and the session is
unharmed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from desklink.testing import ONE_ADDRESS_ENV, AdminAPI, RepClient, ServerProcess, VisitorClient


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    env = {**ONE_ADDRESS_ENV, "DESKLINK_MESSAGES_PER_MINUTE": "5", "DESKLINK_MAX_CHAT_CHARS": "50"}
    with ServerProcess(env=env) as srv:
        yield srv


async def test_whispers_keep_the_chat_length_and_rate(server: ServerProcess, admin: AdminAPI) -> None:
    ((user, pw),) = admin.reps(1, prefix="holder")
    rep = await RepClient.connect(server, user, pw)
    visitor = await VisitorClient.submit(server)
    boss = await RepClient.connect(server, "admin", server.admin_password, online=False)  # hello: before the budget
    try:
        await rep.expect("alert")
        await rep.send({"t": "accept", "request_id": visitor.request_id})
        sid = (await rep.expect("accepted"))["session"]["id"]

        await boss.send({"t": "watch", "session_id": sid})  # 1 of 5
        await boss.expect("watching")
        await boss.send({"t": "whisper", "session_id": sid, "cid": "long", "text": "w" * 51})  # 2
        err = await boss.expect("error")
        assert err["code"] == "too_large" and "50" in err["message"]
        await boss.send({"t": "whisper", "session_id": sid, "cid": "ok", "text": "w" * 50})  # 3
        assert (await rep.expect("whisper"))["cid"] == "ok"
        await boss.send({"t": "whisper", "session_id": sid, "cid": "ok2", "text": "fine"})  # 4
        await rep.expect("whisper", cid="ok2")
        await boss.send({"t": "whisper", "session_id": sid, "cid": "ok3", "text": "last"})  # 5
        await rep.expect("whisper", cid="ok3")
        await boss.send({"t": "whisper", "session_id": sid, "cid": "dropped", "text": "one too many"})  # 6
        assert (await boss.expect("error", code="rate_limited"))["message"]

        # Nothing past a limit reached anyone; the conversation goes on.
        await rep.send({"t": "chat.send", "session_id": sid, "cid": "r1", "text": "still here"})
        await visitor.expect("chat", cid="r1")
        assert not any(m.get("cid") in ("long", "dropped") for m in rep.received if m.get("t") == "whisper")
        assert not any(m.get("t") == "whisper" for m in visitor.received)
        timeline = admin.http.get(f"/api/sessions/{sid}/timeline").json()["items"]
        assert sum("whispered to the rep" in i["text"] for i in timeline) == 3
    finally:
        for c in (boss, rep, visitor):
            await c.close()
