"""``/ws/agent``: the visitor's agent. A thin adapter: the join code (or the
resume token) in, then every message through the relay core
(``relay/session.py``) and its effects out. Join guessing is limited per
address, and a malformed frame closes only this socket.

Every message this socket receives is bounded by ``max_message_bytes`` at the
transport; screen frames larger than that arrive in parts
(``protocol/framing.py``) and are joined here, up to
``max_screen_frame_bytes``, only once the agent has joined.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from starlette.websockets import WebSocket

from desklink.dispatch import channels as ch
from desklink.errors import Closing, ProtocolError
from desklink.protocol import codes, joincode, screen
from desklink.errors import Forbidden
from desklink.protocol.framing import MORE, Channel, Reassembler
from desklink.protocol.messages import (
    AHello,
    Annotate,
    Clipboard,
    ClipboardAllow,
    Consent,
    ControlRevoked,
    FileAccept,
    FileAck,
    FileCancel,
    FileDone,
    FileEnd,
    FileFailed,
    FileNak,
    FileOffer,
    FilePause,
    FileRefuse,
    FileResume,
    FilesRevoked,
    Ping,
    ScreenInfo,
    ScreenStats,
    StopSharing,
    decode_agent,
)
from desklink.protocol.server_messages import AgentLimits, Pong, Source
from desklink.relay import AgentIntro, ScreenSession
from desklink.relay.moved import carry_over
from desklink.server.connection import HELLO_TIMEOUT_S, Connection
from desklink.server.deliveries import Deliveries, files_allowed
from desklink.server.context import Context
from desklink.server.relay_admission import REFUSALS, admit, grant_of
from desklink.server.http import client_ip
from desklink.server.relay_io import pump
from desklink.server.transfers import Party, file_parts
from desklink.store.records import Request

RELAYED = (
    Consent, ScreenInfo, StopSharing, ScreenStats, ControlRevoked, Annotate, Clipboard, ClipboardAllow, FilesRevoked, Ping,
)
#: Files need the files privilege (see :func:`~desklink.server.deliveries.files_allowed`).
NEEDS_FILES = "file access is not allowed on this computer: the rep asks for it, the visitor allows it in the agent"


class AgentConnection(Connection):
    kind = "G"  # forwards nothing from the broker; acts on control notes only
    #: Who shares through this socket (``ws_share.py`` is the browser's).
    source: Source = "agent"
    #: The control messages this socket passes to the relay (any other is refused).
    relayed: tuple[type, ...] = RELAYED

    def __init__(self, ws: WebSocket, ctx: Context) -> None:
        super().__init__(ws, ctx)
        self.screen: ScreenSession | None = None
        self.parts = Reassembler({Channel.SCREEN: ctx.settings.max_screen_frame_bytes})
        self.file_parts = file_parts(ctx.settings)
        self.visitor_name = ""

    async def reader(self) -> None:
        await self._hello()
        handlers: dict[Any, Any] = dict.fromkeys(self.relayed, self._relay)
        if self.source == "agent":
            d = self.deliveries
            files = self.ctx.transfers
            handlers |= {
                FileOffer: self._file_offer,
                FileResume: lambda msg: files.resume(self.party(), msg),
                FileEnd: lambda msg: files.end(self.party(), msg),
                FilePause: lambda msg: files.pause(self.party(), msg),
                FileCancel: lambda msg: files.cancel(self.party(), msg),
                FileAccept: lambda msg: d.accept(self.party(), msg),
                FileAck: lambda msg: d.ack(self.party(), msg),
                FileNak: lambda msg: d.nak(self.party(), msg),
                FileRefuse: lambda msg: d.refuse(self.party(), msg),
                FileDone: lambda msg: d.done(self.party(), msg),
                FileFailed: lambda msg: d.failed(self.party(), msg),
            }
        await self.message_loop(decode_agent, handlers)

    def log_ids(self) -> dict[str, Any]:
        ids = super().log_ids()
        if self.screen is not None:
            ids["session_id"] = self.screen.session_id
        return ids

    # ------------------------------------------------------------ files
    @property
    def deliveries(self) -> Deliveries:
        d = self.ctx.transfers.deliveries
        assert d is not None
        return d

    def party(self) -> Party:
        screen = self.screen
        assert screen is not None
        if not files_allowed(screen) or screen.agent is not self:
            raise Forbidden(NEEDS_FILES)
        return Party("visitor", self.visitor_name, None, "agent", self, lambda request_id: request_id == screen.request_id)

    async def _file_offer(self, msg: FileOffer) -> None:
        assert self.screen is not None
        party = self.party()
        if msg.to != "chat":
            raise Forbidden("the visitor's computer sends files to the chat only")
        if msg.ask:
            self.deliveries.answer(party, msg.ask)
        req = await self.ctx.store.get_request(self.screen.request_id)
        assert req is not None
        await self.ctx.transfers.offer(party, msg, req.id, self.screen.session_id, req.queue_id)

    async def _files_news(self, before: str) -> None:
        """After the relay handled a message: the files privilege became
        granted (offer what waits for this computer) or ended (fail what
        was crossing)."""
        assert self.screen is not None
        after = self.screen.privileges["files"]
        if after == before:
            return
        if after == "granted":
            await self.deliveries.agent_ready(self.screen)
        elif after == "off" and before in ("granted", "suspended"):
            await self.deliveries.files_ended(self.screen)

    async def handle_binary(self, data: bytes) -> None:
        """File chunks (channel FILE, in parts) go to the transfer hub;
        screen messages to :meth:`on_binary`."""
        if data and self.source == "agent" and (data[0] & ~MORE) == Channel.FILE:
            if self.screen is None:
                raise Closing(codes.CLOSE_BAD_DATA, "join before sending files")
            done = self.file_parts.feed(data)
            if done is not None:
                await self.ctx.transfers.chunk(self.party(), done[1])
            return
        self.on_binary(data)

    def check_rate(self) -> None:
        """Pings and stats come every few seconds; clipboard spends the
        per-minute budget itself (``take_token``), annotation its own (the
        relay's)."""

    async def _relay(self, msg: Any) -> None:
        assert self.screen is not None
        if isinstance(msg, Clipboard):
            self.take_token()
        before = self.screen.privileges["files"]
        self.pump(self.screen.receive_agent(msg, time.monotonic()))
        if isinstance(msg, Ping):
            self.send_out(Pong())
        await self._files_news(before)

    def pump(self, fx: Any) -> None:
        pump(fx, self.ctx.audits, self.ctx.recordings)

    def on_binary(self, data: bytes) -> None:
        """Validate a screen message completely, then hand it to the relay."""
        if self.screen is None:
            raise Closing(codes.CLOSE_BAD_DATA, "join before sending frames")
        try:
            done = self.parts.feed(data)
            if done is None:
                return
            _, payload = done
            parsed = screen.decode(payload, self.ctx.settings.max_screen_frame_bytes)
        except ProtocolError as exc:
            code = codes.CLOSE_TOO_BIG if exc.code == "too_large" else codes.CLOSE_BAD_DATA
            raise Closing(code, exc.message[:120]) from None
        now = time.monotonic()
        self.ctx.metrics.relay_in(len(payload))
        if isinstance(parsed, screen.Frame):
            before = self.ctx.metrics.screen_drops(self.screen)
            fx = self.screen.receive_agent_frame(payload, parsed.seq, parsed.key, now)
            self.ctx.metrics.relay_dropped_since(self.screen, before)
            self.pump(fx)
        else:
            self.pump(self.screen.receive_agent_pointer(payload, shape=isinstance(parsed, screen.Cursor), now=now))

    async def _hello(self) -> None:
        text = await self.receive_text(HELLO_TIMEOUT_S)
        if text is None:
            raise Closing(codes.CLOSE_NORMAL)
        try:
            hello = decode_agent(text, self.ctx.settings.max_message_bytes)
        except ProtocolError:
            raise Closing(codes.CLOSE_AUTH, "first message must be hello") from None
        if not isinstance(hello, AHello):
            raise Closing(codes.CLOSE_AUTH, "first message must be hello")
        relay, store = self.ctx.relay, self.ctx.store
        resumed = moved = False
        if hello.resume and self.source == "browser":
            raise Closing(codes.CLOSE_AUTH, "a share from the browser cannot resume; share again")
        grant = grant_of(self.ws)
        found = relay.by_resume_token(hello.resume) if hello.resume else None
        if found is not None:
            session = await store.get_session(found.session_id)
            resumed = True
        elif grant is not None and not hello.code:
            # The relay token names the session (a ticket from a web node,
            # which took the join code or the client's older token): a new
            # join, or the agent of a session whose relay node died.
            session = await store.get_session(grant.session)
            moved = bool(hello.resume)
        elif hello.resume:
            raise Closing(codes.CLOSE_AUTH, "that screen-sharing session is over; ask for a new code")
        else:
            session_id = await self._redeem(hello.code)
            session = await store.get_session(session_id)
        if session is None or not session.open:
            raise Closing(codes.CLOSE_ENDED, "the support session has ended")
        if grant is not None and grant.session != session.id:
            raise Closing(*REFUSALS["other_session"])
        req = await store.get_request(session.request_id)
        assert req is not None
        await self.check_request(req)
        self.visitor_name = req.visitor_name
        now = time.monotonic()
        policy = await store.recording_policy_of_request(session.request_id)
        self.screen, opened = relay.open(session.id, session.request_id, session.rep_id, now)
        if not self.screen.recording:
            self.screen.recording_policy = policy
        self.pump(opened)
        if moved and carry_over(self.screen, hello.kept):
            resumed = True  # the same agent process, still holding the visitor's yes
        await self.join(ch.request_channel(session.request_id))
        s = self.ctx.settings
        intro = AgentIntro(
            provider=s.provider_name,
            rep_name=await self.ctx.dispatcher.rep_name(session.rep_id),
            visitor_name=req.visitor_name,
            source=self.source,
            limits=AgentLimits(
                max_message_bytes=s.max_message_bytes,
                max_screen_frame_bytes=s.max_screen_frame_bytes,
                max_clipboard_chars=s.max_clipboard_chars,
                max_stroke_points=self.ctx.relay.policy.max_stroke_points,
                screen_window=s.screen_window,
                ping_interval_s=s.agent_ping_interval_s,
                link_timeout_s=s.agent_link_timeout_s,
                browser_max_chunk_bytes=s.browser_share_max_chunk_bytes,
                browser_chunks_per_s=s.browser_share_chunks_per_s,
                file_chunk_bytes=s.file_chunk_bytes,
                file_window_bytes=s.file_window_bytes,
            ),
        )
        self.pump(self.screen.attach_agent(self, intro, time.monotonic(), resumed=resumed))
        if self.source == "agent" and files_allowed(self.screen):
            await self.deliveries.agent_ready(self.screen)

    async def check_request(self, req: Request) -> None:
        """May this socket share the screen of ``req``? (Agents: yes, the code
        proved it; a browser must also come from the queue's site.)"""

    async def _redeem(self, code: str) -> str:
        s = self.ctx.settings
        ip = client_ip(self.ws)
        if await self.ctx.broker.hit(f"join:ip:{ip}", 60.0) > s.join_attempts_per_minute:
            raise Closing(codes.CLOSE_LIMITED, "too many join attempts; wait a minute")
        try:
            parsed = joincode.parse(code)
        except ProtocolError as exc:
            raise Closing(codes.CLOSE_AUTH, exc.message) from None
        session_id = await self.ctx.store.redeem_join_code(
            slot=parsed.slot, secret_hash=parsed.secret_hash, now=datetime.now(UTC), max_tries=s.join_code_max_tries
        )
        if session_id is None:
            raise Closing(codes.CLOSE_AUTH, joincode.WRONG_CODE)
        return session_id

    async def on_control(self, channel: str, note: dict[str, Any]) -> None:
        if self.screen is None:
            return
        op = note.get("op")
        if op == "ended" or (op == "resync" and await self._session_over()):
            if self.source == "agent":
                await self.ctx.transfers.session_ended(self.screen.request_id)
            self.pump(self.ctx.relay.end_session(self.screen.session_id, time.monotonic()))

    async def _session_over(self) -> bool:
        """After a broker outage: did the support session end meanwhile (its
        ``ended`` note may have been lost)?"""
        assert self.screen is not None
        session = await self.ctx.store.get_session(self.screen.session_id)
        return session is None or not session.open

    async def on_close(self) -> None:
        if self.screen is not None:
            before = self.screen.privileges["files"]
            self.pump(self.screen.detach_agent(self, time.monotonic()))
            if self.source == "agent":
                self.deliveries.agent_gone(self)
                await self.ctx.transfers.sender_gone(self)
                await self._files_news(before)


async def agent_endpoint(ws: WebSocket) -> None:
    """Agents are programs, not pages: there is no Origin to check. They
    prove themselves with a join code before anything else happens."""
    ctx: Context = ws.app.state.ctx
    if not await admit(ws, ctx.settings, "agent"):
        return
    if ws.headers.get("origin") is not None and not ctx.origins.same_site(ws.headers.get("origin"), ws):
        await ws.close(codes.CLOSE_POLICY)
        return
    await ws.accept()
    await AgentConnection(ws, ctx).serve()
