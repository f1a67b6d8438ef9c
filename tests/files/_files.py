"""Helpers for the file tests: a chat session; the scripted uploader
(``Upload``) and its helpers live in ``desklink.testing_files`` (benches use
them too) and are re-exported here."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

import httpx

from desklink.testing import AdminAPI, RepClient, ServerProcess, VisitorClient
from desklink.testing_files import Refused, Upload, expect_where, send_chunk, sha, wait_state

__all__ = ["Chat", "Refused", "Upload", "download", "dumps", "expect_where", "open_chat", "send_chunk", "sha", "states",
           "wait_state"]

_n = iter(range(10**6))


@dataclass
class Chat:
    rep: RepClient
    visitor: VisitorClient
    session_id: str
    username: str
    password: str
    queue: dict[str, Any]

    async def close(self) -> None:
        await self.rep.close()
        await self.visitor.close()


async def open_chat(server: ServerProcess, admin: AdminAPI, prefix: str = "f") -> Chat:
    name = f"{prefix}{next(_n)}{secrets.token_hex(2)}"
    queue = admin.queue(name)
    ((user, pw),) = admin.reps(1, queue_slug=name, prefix=name)
    rep = await RepClient.connect(server, user, pw)
    visitor = await VisitorClient.submit(server, queue=name, name="Vic")
    await rep.expect("alert")
    await rep.send({"t": "accept", "request_id": visitor.request_id})
    sid = (await rep.expect("accepted"))["session"]["id"]
    await visitor.expect("joined")
    return Chat(rep, visitor, sid, user, pw, queue)


def download(server: ServerProcess, path: str) -> httpx.Response:
    return httpx.get(server.url + path, timeout=30)


def states(client: Any, tid: int) -> list[dict[str, Any]]:
    return [m for m in client.received if m.get("t") == "file.state" and m.get("id") == tid]


def dumps(msg: dict[str, Any]) -> str:
    return json.dumps(msg)


