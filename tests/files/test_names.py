"""Hostile file names are stored sanitized, and the download is a safe
attachment whatever the sender called the file."""

from __future__ import annotations

import pytest

from desklink.protocol.limits import MAX_FILE_NAME_CHARS
from desklink.testing import AdminAPI, ServerProcess

from ._files import Upload, download, open_chat, wait_state

HOSTILE = [
    "../../etc/passwd",
    "/etc/shadow",
    "C:\\Windows\\system32\\evil.dll",
    "CON",
    "nul.txt",
    "a\x00b\x07c\x1b[31m.txt",
    "invoice\u202egpj.exe",
    "x" * MAX_FILE_NAME_CHARS,
    "..",
]


@pytest.mark.parametrize("name", HOSTILE, ids=range(len(HOSTILE)))
async def test_a_hostile_name_is_neutralized(server: ServerProcess, admin: AdminAPI, name: str) -> None:
    chat = await open_chat(server, admin, "names")
    up = Upload(chat.visitor, b"content", name)
    await up.run()
    ready = await wait_state(chat.rep, up.id, "ready")
    stored = ready["name"]
    parts = stored.split("/")
    assert not stored.startswith("/") and "\\" not in stored and ".." not in parts and ":" not in stored
    assert all(ord(c) >= 32 and c not in "\u202e\u202d\u2066\u2067\u2068\u2069" for c in stored)
    assert parts[-1].split(".")[0].upper() not in {"CON", "NUL", "PRN", "AUX"}
    r = download(server, ready["download"])
    assert r.status_code == 200 and r.content == b"content"
    disposition = r.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert all(32 <= ord(c) < 127 for c in disposition) and "/" not in disposition.split("filename=")[1].split(";")[0]
    assert r.headers["x-content-type-options"] == "nosniff"
    await chat.close()
