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
from desklink.protocol.framing import Channel, Reassembler
from desklink.protocol.messages import (
    AHello,
    Annotate,
    Clipboard,
    ClipboardAllow,
    Consent,
    ControlRevoked,
    Ping,
    ScreenInfo,
    ScreenStats,
    StopSharing,
    decode_agent,
)
from desklink.protocol.server_messages import AgentLimits, Pong, Source
from desklink.relay import AgentIntro, ScreenSession
from desklink.server.connection import HELLO_TIMEOUT_S, Connection
from desklink.server.context import Context
from desklink.server.http import client_ip
from desklink.server.relay_io import pump
from desklink.store.records import Request

RELAYED = (Consent, ScreenInfo, StopSharing, ScreenStats, ControlRevoked, Annotate, Clipboard, ClipboardAllow, Ping)


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

    async def reader(self) -> None:
        await self._hello()
        await self.message_loop(decode_agent, dict.fromkeys(self.relayed, self._relay))

    def check_rate(self) -> None:
        """Pings and stats come every few seconds; clipboard spends the
        per-minute budget itself (``take_token``), annotation its own (the
        relay's)."""

    async def _relay(self, msg: Any) -> None:
        assert self.screen is not None
        if isinstance(msg, Clipboard):
            self.take_token()
        self.pump(self.screen.receive_agent(msg, time.monotonic()))
        if isinstance(msg, Ping):
            self.send_out(Pong())

    def pump(self, fx: Any) -> None:
        pump(fx, self.ctx.audits)

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
        if isinstance(parsed, screen.Frame):
            self.pump(self.screen.receive_agent_frame(payload, parsed.seq, parsed.key, now))
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
        resumed = False
        if hello.resume and self.source == "browser":
            raise Closing(codes.CLOSE_AUTH, "a share from the browser cannot resume; share again")
        if hello.resume:
            found = relay.by_resume_token(hello.resume)
            if found is None:
                raise Closing(codes.CLOSE_AUTH, "that screen-sharing session is over; ask for a new code")
            session = await store.get_session(found.session_id)
            resumed = True
        else:
            session_id = await self._redeem(hello.code)
            session = await store.get_session(session_id)
        if session is None or not session.open:
            raise Closing(codes.CLOSE_ENDED, "the support session has ended")
        req = await store.get_request(session.request_id)
        assert req is not None
        await self.check_request(req)
        now = time.monotonic()
        self.screen, opened = relay.open(session.id, session.request_id, session.rep_id, now)
        self.pump(opened)
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
            ),
        )
        self.pump(self.screen.attach_agent(self, intro, time.monotonic(), resumed=resumed))

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
            self.pump(self.ctx.relay.end_session(self.screen.session_id, time.monotonic()))

    async def _session_over(self) -> bool:
        """After a broker outage: did the support session end meanwhile (its
        ``ended`` note may have been lost)?"""
        assert self.screen is not None
        session = await self.ctx.store.get_session(self.screen.session_id)
        return session is None or not session.open

    async def on_close(self) -> None:
        if self.screen is not None:
            self.pump(self.screen.detach_agent(self, time.monotonic()))


async def agent_endpoint(ws: WebSocket) -> None:
    """Agents are programs, not pages: there is no Origin to check. They
    prove themselves with a join code before anything else happens."""
    ctx: Context = ws.app.state.ctx
    if ws.headers.get("origin") is not None and not ctx.origins.same_site(ws.headers.get("origin"), ws):
        await ws.close(codes.CLOSE_POLICY)
        return
    await ws.accept()
    await AgentConnection(ws, ctx).serve()
