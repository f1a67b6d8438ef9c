"""Chat through a balancer, as the help box and the console do it: every line
carries a ``cid`` and stays pending until its echo; a dropped socket comes
back through the balancer with its last ``seq`` and sends what is pending
again. What each side got is kept, so a test can say no line was lost or
doubled."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import httpx
import websockets

from desklink.testing import AdminAPI, RepClient, ServerProcess, VisitorClient, login_retrying, wait_until

DEADLINE = 30.0


async def sockets_on(node: ServerProcess, kind: str) -> int:
    """Open sockets of a kind (``visitor``, ``rep``) on one node, from its
    metrics (read on the node itself, not through the balancer)."""
    async with httpx.AsyncClient(base_url=node.url, timeout=30) as http:
        r = await http.get("/metrics", headers=node.metrics_headers)  # as a scraper reads it
        r.raise_for_status()
        text = r.text
    m = re.search(r'^desklink_connections\{kind="' + kind + r'"[^}]*\}\s+(\d+(?:\.\d+)?)', text, re.M)
    return int(float(m.group(1))) if m else 0


async def until_open(connect: Any, what: str) -> Any:
    """Connect, trying again (as the clients' backoff does) while the
    balancer has no node for it yet."""
    deadline = time.monotonic() + DEADLINE
    while True:
        try:
            return await connect()
        except (OSError, websockets.InvalidStatus, websockets.InvalidHandshake, websockets.ConnectionClosed, TimeoutError, httpx.HTTPError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


class Party:
    """One side of the chat (the visitor, or the rep holding the session)."""

    def __init__(self, client: Any, session_id: str, *, rep: tuple[str, str] | None = None) -> None:
        self.clients = [client]
        self.session_id = session_id
        self.rep = rep
        self.pending: dict[str, str] = {}
        self.reconnects = 0

    @property
    def client(self) -> Any:
        return self.clients[-1]

    def chats(self) -> list[dict[str, Any]]:
        return [m for c in self.clients for m in c.received if m.get("t") == "chat"]

    def last_seq(self) -> int:
        return max((m["seq"] for m in self.chats()), default=0)

    def seqs_by_cid(self) -> dict[str, set[int]]:
        out: dict[str, set[int]] = {}
        for m in self.chats():
            out.setdefault(m["cid"], set()).add(m["seq"])
        return out

    async def say(self, cid: str, text: str) -> None:
        """Send a line; it stays pending until echoed (a send into a dead
        socket is not an error: the line goes again after the reconnect)."""
        self.pending[cid] = text
        msg: dict[str, Any] = {"t": "chat.send", "cid": cid, "text": text}
        if self.rep:
            msg["session_id"] = self.session_id
        try:
            await self.client.send(msg)
        except websockets.ConnectionClosed:
            pass

    async def echoed(self, cid: str) -> dict[str, Any]:
        got: dict[str, Any] = await self.client.expect("chat", cid=cid, timeout=DEADLINE)
        self.pending.pop(cid, None)
        return got

    async def wait_closed(self) -> int | None:
        """The close code once the server (or the balancer) drops the socket."""
        ws = self.client.ws
        try:
            async with asyncio.timeout(DEADLINE):
                while True:
                    await self.client.recv(DEADLINE)
        except websockets.ConnectionClosed:
            pass
        return ws.close_code  # type: ignore[no-any-return]

    async def reconnect(self, via: ServerProcess) -> None:
        """Come back through the balancer, resume from the last seq, and
        send every pending line again."""
        last = self.last_seq()
        if self.rep is None:
            old = self.client

            async def visitor() -> VisitorClient:
                return await VisitorClient.open(via, old.request_id, old.token, last_seq=last)

            client = await until_open(visitor, "the visitor's socket")
        else:
            username, password = self.rep

            async def rep() -> RepClient:
                return await rep_socket(via, username, password, {self.session_id: last})

            client = await until_open(rep, "the rep's socket")
        self.clients.append(client)
        self.reconnects += 1
        for cid, text in list(self.pending.items()):
            await self.say(cid, text)

    async def close(self) -> None:
        for c in self.clients:
            try:
                await c.close()
            except websockets.ConnectionClosed:
                pass


async def rep_socket(via: ServerProcess, username: str, password: str, resume: dict[str, int]) -> RepClient:
    """A console socket that resumes its sessions from the given seqs."""
    async with httpx.AsyncClient(base_url=via.url, timeout=30) as http:
        r = await login_retrying(http, username, password)
        cookie = r.cookies["dl_session"]
    ws = await websockets.connect(via.ws_url + "/ws/rep", origin=via.url, additional_headers={"Cookie": f"dl_session={cookie}"})
    client = RepClient(ws)
    await client.send({"t": "hello", "resume": resume})
    client.welcome = await client.expect("welcome")
    await client.send({"t": "presence", "status": "online"})
    await client.expect("presence", status="online")
    return client


async def chat_through(via: ServerProcess, setup: ServerProcess, *, reps: int = 3) -> tuple[Party, Party, list[RepClient]]:
    """A visitor and ``reps`` reps, all through the balancer: every rep is
    alerted, all accept at once, exactly one wins. Returns the visitor, the
    winner (as Parties) and the losers' consoles."""
    admin = AdminAPI(setup)
    creds = admin.reps(reps, prefix="lb")
    admin.close()
    consoles = [await RepClient.connect(via, u, p) for u, p in creds]
    visitor = await VisitorClient.submit(via, name="Ann", question="through the balancer")
    assert visitor.welcome["queue"]["online_reps"] == reps
    alerts = await asyncio.gather(*(c.expect("alert") for c in consoles))
    assert {a["request"]["id"] for a in alerts} == {visitor.request_id}
    await asyncio.gather(*(c.send({"t": "accept", "request_id": visitor.request_id}) for c in consoles))
    withdrawn = await asyncio.gather(*(c.expect("alert.withdrawn") for c in consoles))
    winner_ids = {w["taken_by"]["id"] for w in withdrawn}
    assert len(winner_ids) == 1
    (winner_id,) = winner_ids
    index = next(i for i, c in enumerate(consoles) if c.welcome["user"]["id"] == winner_id)
    winner = consoles[index]
    sid = (await winner.expect("accepted"))["session"]["id"]
    losers = [c for c in consoles if c is not winner]
    for loser in losers:
        assert (await loser.expect("error"))["code"] == "conflict_taken"
    await visitor.expect("joined")
    return Party(visitor, sid), Party(winner, sid, rep=creds[index]), losers


async def wait_node_gone(node: ServerProcess) -> int:
    """The node's exit status once its process ended."""
    assert node.proc is not None
    proc = node.proc
    await wait_until(lambda: proc.poll() is not None, timeout=DEADLINE, what="the node to exit")
    return proc.returncode
