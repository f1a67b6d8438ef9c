"""``/ws/visitor``: the help box's socket. A thin adapter: it checks the
Origin, authenticates the ``hello`` token, joins the conversation's channels,
and hands each message to the dispatcher.

While the request waits, the socket keeps the visitor present (a heartbeat
every third of ``visitor_grace_s``, and on every ``ping``), so a visitor is
abandoned only once the socket has been gone past the grace period. After a
broker outage it catches up from the store (:meth:`VisitorConnection._catch_up`):
the chat lines it did not pass on, a rep that joined, the end or close
(then it closes with 4010), or its new queue position."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.websockets import WebSocket

from desklink.dispatch import channels as ch
from desklink.dispatch.supervise import chat_watchers
from desklink.dispatch.dispatcher import VISITOR_PRESENCE, hash_token, iso
from desklink.errors import Closing, Conflict
from desklink.protocol import codes
from desklink.protocol.lifecycle import REQUEST_FINAL
from desklink.errors import ProtocolError
from desklink.protocol.framing import Channel
from desklink.protocol.messages import (
    Cancel,
    ChatSend,
    FileCancel,
    FileEnd,
    FileOffer,
    FilePause,
    FileResume,
    Leave,
    Ping,
    Typing,
    VHello,
    decode_visitor,
)
from desklink.server.catchup import CHAT_PREFIX, JOINED_PREFIX, SeqsSent, chat_head
from desklink.server.connection import HELLO_TIMEOUT_S, Connection, log
from desklink.server.context import Context
from desklink.server.outage import keep_beating
from desklink.server.transfers import Party, file_parts
from desklink.store.records import Request

#: Waiting visitors' positions are recomputed at most this often, seconds.
POSITION_DEBOUNCE_S = 0.1


class VisitorConnection(Connection):
    kind = "V"
    forwards = frozenset({"V", "A"})
    file_messages = (FileOffer, FileResume, FileEnd, FilePause, FileCancel)

    def __init__(self, ws: WebSocket, ctx: Context) -> None:
        super().__init__(ws, ctx)
        self.request: Request | None = None
        self.session_id = ""
        self._positions_task: asyncio.Task[None] | None = None
        self._heartbeat: asyncio.Task[None] | None = None
        #: Chat seqs passed on to the client (its hello's last_seq and on).
        self.sent = SeqsSent()
        #: The client knows a rep joined (welcome named one, or ``joined`` went out).
        self._told_joined = False
        #: Welcome sent: until then a catch-up waits (the hello reads the store itself).
        self._welcomed = False
        self._catch_up_later = False
        self.file_parts = file_parts(ctx.settings)

    @property
    def req(self) -> Request:
        assert self.request is not None
        return self.request

    def log_ids(self) -> dict[str, Any]:
        ids = super().log_ids()
        if self.request is not None:
            ids["help_request"] = self.request.id
        if self.session_id:
            ids["session_id"] = self.session_id
        return ids

    async def reader(self) -> None:
        await self._hello()
        files = self.ctx.transfers
        party = self.party

        async def file_offer(msg: FileOffer) -> None:
            if not self.session_id:
                session = await self.ctx.store.get_session_by_request(self.req.id)
                self.session_id = session.id if session else ""
            if not self.session_id:
                raise ProtocolError("files can be sent once a rep has joined", code="bad_state")
            await files.offer(party(), msg, self.req.id, self.session_id, self.req.queue_id)

        handlers = {
            ChatSend: self._chat, Typing: self._typing, Cancel: self._cancel, Leave: self._leave, Ping: self._ping,
            FileOffer: file_offer,
            FileResume: lambda msg: files.resume(party(), msg),
            FileEnd: lambda msg: files.end(party(), msg),
            FilePause: lambda msg: files.pause(party(), msg),
            FileCancel: lambda msg: files.cancel(party(), msg),
        }
        await self.message_loop(decode_visitor, handlers)

    def party(self) -> Party:
        req = self.req
        return Party("visitor", req.visitor_name, None, "browser", self, lambda request_id: request_id == req.id)

    async def handle_binary(self, data: bytes) -> None:
        """File chunks (channel FILE, in parts); they spend no chat budget:
        the credit window is their flow control."""
        done = self.file_parts.feed(data)
        if done is not None and done[0] == Channel.FILE:
            await self.ctx.transfers.chunk(self.party(), done[1])

    async def _hello(self) -> None:
        text = await self.receive_text(HELLO_TIMEOUT_S)
        if text is None:
            raise Closing(codes.CLOSE_NORMAL)
        try:
            msg = decode_visitor(text, self.ctx.settings.max_message_bytes)
        except Exception:
            raise Closing(codes.CLOSE_AUTH, "first message must be hello") from None
        if not isinstance(msg, VHello):
            raise Closing(codes.CLOSE_AUTH, "first message must be hello")
        req = await self.ctx.store.get_request_by_token(hash_token(msg.token))
        wanted = self.ws.query_params.get("request")
        if req is None or (wanted and wanted != req.id):
            raise Closing(codes.CLOSE_AUTH, "unknown visitor token")
        queue = await self.ctx.store.get_queue(req.queue_id)
        if queue is None or not self.ctx.origins.queue_allows(queue, self.ws.headers.get("origin"), self.ws):
            raise Closing(codes.CLOSE_POLICY, "origin not allowed for this queue")
        self.request = req
        self.sent = SeqsSent(msg.last_seq)
        await self.join(ch.request_channel(req.id))
        session = await self.ctx.store.get_session_by_request(req.id)
        self.session_id = session.id if session else ""
        self._told_joined = session is not None
        rep = {"name": await self.ctx.dispatcher.rep_name(session.rep_id)} if session else None
        position = None
        if req.status == "waiting":
            await self.join(ch.position_channel(req.queue_id))
            await self.ctx.dispatcher.visitor_present(req.id)
            self._heartbeat = asyncio.create_task(
                keep_beating(self.ctx.settings.visitor_grace_s / 3, self._beat, self.ctx.hub.watch, "visitor presence")
            )
            position = await self.ctx.dispatcher.position(req)
        self.send(
            {
                "t": "welcome",
                "request": {
                    "id": req.id,
                    "status": req.status,
                    "queue": {"slug": queue.slug, "name": queue.name},
                    "name": req.visitor_name,
                    "question": req.question,
                    "created_at": iso(req.created_at),
                },
                "session_id": self.session_id or None,
                "ended": bool(session and not session.open),
                "rep": rep,
                "queue": position,
                "provider": self.ctx.settings.provider_name,
            }
        )
        await self._backlog(msg.last_seq)
        await self.ctx.transfers.replay(self, req.id)
        if session is not None and session.open:  # who watches the chat (issue 13)
            watching = chat_watchers(await self.ctx.store.events_for(req.id))
            if watching:
                self.send({"t": "watchers", "session_id": session.id, "watchers": watching})
        if req.status in REQUEST_FINAL:
            raise Closing(codes.CLOSE_ENDED, f"conversation {req.status}")
        self._welcomed = True
        if self._catch_up_later:
            await self._catch_up()

    async def _backlog(self, after: int) -> None:
        """Chat lines after ``after`` the client has not had from this socket
        (at most ``max_resume_backlog``)."""
        limit = self.ctx.settings.max_resume_backlog
        for m in await self.ctx.store.messages_after(self.req.id, after, limit):
            if m.seq not in self.sent:
                self.send(self.ctx.dispatcher.message_view(m, self.session_id))
                self.sent.add(m.seq)

    def deliver(self, channel: str, text: str) -> None:
        if text.startswith(CHAT_PREFIX):
            head = chat_head(text)
            if head is not None:
                self.sent.add(head[1])
        elif text.startswith(JOINED_PREFIX):
            self._told_joined = True
        super().deliver(channel, text)

    async def _beat(self) -> None:
        if self.request is not None and self.request.status == "waiting" and not self.session_id:
            await self.ctx.broker.presence_set(VISITOR_PRESENCE, self.request.id, self.ctx.settings.visitor_grace_s)

    def _stop_heartbeat(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            self._heartbeat = None

    async def _catch_up(self) -> None:
        """Tell the client, from the store, what a broker outage may have
        kept from it: a rep who joined, the chat lines it did not pass on,
        then the end (``ended``, or ``closed`` for a request that never got
        a rep) with the socket closed, or else the queue position. Repeats
        are harmless: clients drop chat lines by ``seq``."""
        if not self._welcomed:
            self._catch_up_later = True
            return
        self._catch_up_later = False
        req = await self._fresh()
        store, d = self.ctx.store, self.ctx.dispatcher
        session = await store.get_session_by_request(req.id)
        if session is not None and not self._told_joined:
            self._told_joined = True
            self.session_id = session.id
            self._stop_heartbeat()
            self.send({"t": "joined", "rep": {"name": await d.rep_name(session.rep_id)}})
            await self.leave(ch.position_channel(req.queue_id))
        await self._backlog(self.sent.floor)
        if session is not None and not session.open:
            self.send({"t": "ended", "session_id": session.id, "by": session.ended_by})
            self.close_soon(codes.CLOSE_ENDED, "conversation ended")
        elif req.status in REQUEST_FINAL:
            self.send({"t": "closed", "status": req.status})
            self.close_soon(codes.CLOSE_ENDED, f"conversation {req.status}")
        elif req.status == "waiting":
            await d.visitor_present(req.id)
            self.send({"t": "queue", **await d.position(req)})

    async def _fresh(self) -> Request:
        req = await self.ctx.store.get_request(self.req.id)
        assert req is not None
        self.request = req
        return req

    async def _chat(self, msg: ChatSend) -> None:
        req = self.req  # possibly stale; the store re-checks the lifecycle atomically
        await self.ctx.dispatcher.chat(
            req, sender="visitor", name=req.visitor_name, user_id=None, cid=msg.cid, text=msg.text,
            session_id=self.session_id or None,
        )

    async def _typing(self, msg: Typing) -> None:
        if not self.session_id:
            session = await self.ctx.store.get_session_by_request(self.req.id)
            self.session_id = session.id if session else ""
        await self.ctx.dispatcher.typing(self.req, self.session_id, "visitor", msg.on)

    async def _cancel(self, msg: Cancel) -> None:
        req = await self._fresh()
        if not await self.ctx.dispatcher.close_waiting(req, "cancel", "visitor"):
            raise Conflict(f"the request is {req.status} and can no longer be cancelled", code="bad_state")

    async def _leave(self, msg: Leave) -> None:
        req = await self._fresh()
        if req.status == "waiting":
            await self.ctx.dispatcher.close_waiting(req, "cancel", "visitor")
            return
        session = await self.ctx.store.get_session_by_request(req.id)
        if session is None or not session.open:
            raise Conflict("the conversation has already ended", code="conflict_closed")
        await self.ctx.dispatcher.end(session, by="visitor", actor="visitor", disposition=None, note="")

    async def _ping(self, msg: Ping) -> None:
        if self.req.status == "waiting":
            await self.ctx.dispatcher.visitor_present(self.req.id)
        self.send({"t": "pong"})

    async def _send_position_soon(self) -> None:
        """Coalesce a burst of queue changes into one recomputation. Never
        raises: a failed update is simply skipped (the next change, or a
        catch-up, sends the position again)."""
        try:
            await asyncio.sleep(POSITION_DEBOUNCE_S)
            req = await self._fresh()
            if req.status == "waiting":
                self.send({"t": "queue", **await self.ctx.dispatcher.position(req)})
        except Exception:
            log.exception("sending a visitor its queue position failed")

    async def on_close(self) -> None:
        if self._positions_task is not None:
            self._positions_task.cancel()
        self._stop_heartbeat()
        await self.ctx.transfers.sender_gone(self)

    async def on_control(self, channel: str, note: dict[str, Any]) -> None:
        op = note.get("op")
        if op == "positions":
            if self._positions_task is None or self._positions_task.done():
                self._positions_task = asyncio.create_task(self._send_position_soon())
        elif op == "accepted":
            self.session_id = str(note.get("session_id", ""))
            self._stop_heartbeat()
            await self.leave(ch.position_channel(self.req.queue_id))
        elif op == "ended":
            await self.ctx.transfers.session_ended(self.req.id, self)
            self.close_soon(codes.CLOSE_ENDED, "conversation ended")
        elif op == "resync":
            await self._catch_up()


async def visitor_endpoint(ws: WebSocket) -> None:
    ctx: Context = ws.app.state.ctx
    origin = ws.headers.get("origin")
    wanted = ws.query_params.get("request", "")[:64]
    queue = None
    if wanted:
        req = await ctx.store.get_request(wanted)
        queue = await ctx.store.get_queue(req.queue_id) if req else None
    allowed = (
        ctx.origins.queue_allows(queue, origin, ws) if queue is not None else await ctx.origins.any_queue_allows(origin, ws)
    )
    if not allowed:
        await ws.close(codes.CLOSE_POLICY)
        return
    await ws.accept()
    await VisitorConnection(ws, ctx).serve()
