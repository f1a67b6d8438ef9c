"""``/ws/board``: the live board's socket (admin center, "Live board").

A thin adapter. Cookie and Origin are checked before the socket is accepted,
as on ``/ws/rep``; a rep's handshake is refused (HTTP 403), and a user past
``board_sockets_per_user`` (on this node) is accepted and closed at once
with 4029 and a reason. The socket then sends a
``board`` snapshot (server/board_view.py) on connect and again whenever
something changes, coalesced to at most one per ``board_min_interval_s``, and
at least every ``board_refresh_s`` in any case (presence that expires is
nobody's news).

"Something changes" is any message on the channels of the queues in scope:
``q:<id>`` (alerts and withdrawals: submits, accepts, cancels, expiry) and
``board:<id>`` (a session ended, a session's modes changed, a rep's status
changed; see dispatch/channels.py). The socket decodes none of it: any
message only marks the board stale. After a broker outage (``resync``) it
recomputes as well. When an admin changes the user, the scope is read again
(a supervisor who lost a queue stops seeing it; one demoted to rep is
closed with 4003).

The page may send ``{"t": "ping"}`` (answered ``pong``); nothing else.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any, ClassVar

from starlette.websockets import WebSocket

from desklink.dispatch import channels as ch
from desklink.errors import Forbidden
from desklink.protocol import codes
from desklink.protocol.messages import Ping, decode_viewer
from desklink.server import auth as authmod
from desklink.server.board_view import board_queues, board_snapshot
from desklink.server.connection import SIGNED_OUT, Connection, log, socket_login
from desklink.server.context import Context
from desklink.store.records import Queue


class BoardConnection(Connection):
    kind = "B"  # forwards nothing: broker news only marks the board stale
    #: Open board sockets per user on this node (``board_sockets_per_user``).
    open_per_user: ClassVar[Counter[int]] = Counter()

    def __init__(self, ws: WebSocket, ctx: Context, login: authmod.Login, queues: list[Queue]) -> None:
        super().__init__(ws, ctx)
        self.login = login
        self.queues = queues
        self._stale = asyncio.Event()
        self._stale.set()  # the first snapshot goes out at once
        self.snapshots = 0

    async def reader(self) -> None:
        await self.watch_sign_out(self.login.user.id)
        await self._join_scope()
        pusher = asyncio.create_task(self._pusher())
        try:
            await self.message_loop(decode_viewer, {Ping: self._ping})
        finally:
            pusher.cancel()

    async def _join_scope(self) -> None:
        wanted = {c for q in self.queues for c in (ch.queue_channel(q.id), ch.board_channel(q.id))}
        for channel in sorted(self.channels - wanted):
            if channel.startswith(("q:", "board:")):
                await self.leave(channel)
        for channel in sorted(wanted - self.channels):
            await self.join(channel)

    async def _pusher(self) -> None:
        """Send a snapshot whenever the board is stale, at most one per
        ``board_min_interval_s``, and at least one per ``board_refresh_s``."""
        s = self.ctx.settings
        while True:
            try:
                await asyncio.wait_for(self._stale.wait(), s.board_refresh_s)
            except TimeoutError:
                pass
            self._stale.clear()
            try:
                self.send(await board_snapshot(self.ctx, self.queues))
                self.snapshots += 1
            except Exception:
                log.exception("building the live board failed; trying again at the next change or refresh")
            await asyncio.sleep(s.board_min_interval_s)

    def deliver(self, channel: str, text: str) -> None:
        if channel.startswith(("q:", "board:")):
            self._stale.set()
        else:
            super().deliver(channel, text)

    async def _ping(self, msg: Ping) -> None:
        self.send({"t": "pong"})

    async def on_control(self, channel: str, note: dict[str, Any]) -> None:
        op = note.get("op")
        if op == "signed_out":
            self.close_soon(codes.CLOSE_AUTH, SIGNED_OUT)
        elif op == "resync":
            self._stale.set()

    async def apply_access(self, login: authmod.Login) -> tuple[int, str] | None:
        """The user as they are now: a rep may no longer look; a supervisor
        sees the queues they belong to now."""
        try:
            queues = await board_queues(self.ctx, login.user)
        except Forbidden as exc:
            return codes.CLOSE_FORBIDDEN, exc.message
        self.login = login
        self.queues = queues
        await self._join_scope()
        self._stale.set()
        return None

    async def on_close(self) -> None:
        user_id = self.login.user.id
        BoardConnection.open_per_user[user_id] -= 1
        if BoardConnection.open_per_user[user_id] <= 0:
            del BoardConnection.open_per_user[user_id]


async def board_endpoint(ws: WebSocket) -> None:
    ctx: Context = ws.app.state.ctx
    login = await socket_login(ws, ctx)
    if login is None:
        return
    try:
        queues = await board_queues(ctx, login.user)
    except Forbidden:
        await ws.close(codes.CLOSE_FORBIDDEN)
        return
    counts = BoardConnection.open_per_user
    limit = ctx.settings.board_sockets_per_user
    if counts[login.user.id] >= limit:
        # Accepted, then closed with a reason the page can show.
        await ws.accept()
        await ws.close(codes.CLOSE_LIMITED, f"at most {limit} live boards open at once; close one first")
        return
    counts[login.user.id] += 1
    try:
        await ws.accept()
    except BaseException:
        counts[login.user.id] -= 1
        raise
    await BoardConnection(ws, ctx, login, queues).serve()
