"""Files in the chat leave their trace on the session's timeline, in words
and with names: a real server, the scripted help box and console moving a
file each way, one whose whole-file hash is wrong and one the rep cancels
halfway. The agent's kinds (asked, delivered, refused) are in
tests/agent_files/test_timeline_agent_files.py."""

from __future__ import annotations

import os

from desklink.testing import AdminAPI, ServerProcess, wait_until

from ._files import Upload, open_chat, wait_state


def _timeline(admin: AdminAPI, session_id: str) -> list[dict[str, object]]:
    r = admin.http.get(f"/api/sessions/{session_id}/timeline")
    r.raise_for_status()
    return list(r.json()["items"])


async def test_chat_files_are_on_the_timeline_in_words(server: ServerProcess, admin: AdminAPI) -> None:
    chat = await open_chat(server, admin)
    try:
        # The visitor sends one, the rep another: both arrive whole.
        report = Upload(chat.visitor, os.urandom(3000), "report.txt")
        await report.run()
        await wait_state(chat.rep, report.id, "ready")
        fix = Upload(chat.rep, os.urandom(2 * 1024 * 1024), "fix.sh", session_id=chat.session_id)
        await fix.run()
        await wait_state(chat.visitor, fix.id, "ready")

        # One arrives with a hash that is not its bytes'.
        bad = Upload(chat.visitor, os.urandom(5000), "photo.jpg")
        await bad.offer()
        await bad.send_all()
        await bad.end("0" * 64)
        await wait_state(chat.rep, bad.id, "failed")

        # The rep cancels one halfway.
        big = Upload(chat.visitor, os.urandom(2 * 1024 * 1024), "big.iso")
        await big.offer()
        await big.send_until(512 * 1024)
        await chat.rep.send({"t": "file.cancel", "id": big.id, "reason": "wrong file"})
        await wait_state(chat.visitor, big.id, "cancelled")
    finally:
        await chat.close()

    def said() -> list[str]:
        return [str(i["text"]) for i in _timeline(admin, chat.session_id)]

    await wait_until(lambda: any(t.startswith("Rep 0 (rep) cancelled") for t in said()), what="the cancel logged")
    items = _timeline(admin, chat.session_id)
    texts = [str(i["text"]) for i in items]
    expected = [
        "The visitor sent the file report.txt (2.9 KB) to Rep 0",
        "The file report.txt (2.9 KB) arrived whole on the server (from the visitor)",
        "Rep 0 (rep) sent the file fix.sh (2.0 MB) to the visitor",
        "The file fix.sh (2.0 MB) arrived whole on the server (from Rep 0)",
        "The visitor sent the file photo.jpg (4.9 KB) to Rep 0",
        "The file photo.jpg (4.9 KB) failed: ",
        "The visitor sent the file big.iso (2.0 MB) to Rep 0",
        "Rep 0 (rep) cancelled the file big.iso (2.0 MB)",
    ]
    found = [next((n for n, t in enumerate(texts) if t.startswith(e)), -1) for e in expected]
    missing = [e for e, n in zip(expected, found, strict=True) if n < 0]
    assert not missing, f"not on the timeline: {missing}\n" + "\n".join(texts)
    assert found == sorted(found), "out of order:\n" + "\n".join(texts)
    assert {"file_offered", "file_transferred", "file_cancelled", "file_failed"} <= {str(i["kind"]) for i in items}
    assert all(i["marker"] == "files" for i in items if str(i["kind"]).startswith("file_"))
    assert all(chat.session_id not in t and "{" not in t for t in texts)
