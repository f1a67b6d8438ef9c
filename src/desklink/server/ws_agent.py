"""``/ws/agent``: the visitor's agent. A thin adapter: join code (or resume
token) in, consent and screen frames through to the relay. Join guessing is
limited per address, and a malformed frame closes only this socket."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from starlette.websockets import WebSocket

from desklink.dispatch import channels as ch
from desklink.dispatch.dispatcher import join_secret_hash
from desklink.errors import ProtocolError
from desklink.protocol import codes, screen
from desklink.protocol.framing import Channel, decode_frame
from desklink.protocol.messages import (
    AHello,
    Annotate,
    Clipboard,
    Consent,
    ControlRevoked,
    Ping,
    ScreenInfo,
    ScreenStats,
    StopSharing,
    decode_agent,
)
from desklink.relay.screen import ScreenSession
from desklink.server.connection import HELLO_TIMEOUT_S, Closing, Connection
from desklink.server.context import Context
from desklink.server.http import client_ip

#: Digits in a join code: a 3-digit slot and a 6-digit secret.
CODE_DIGITS = 9


class AgentConnection(Connection):
    kind = "G"  # forwards nothing from the broker; acts on control notes only

    def __init__(self, ws: WebSocket, ctx: Context) -> None:
        super().__init__(ws, ctx)
        self.screen: ScreenSession | None = None

    async def reader(self) -> None:
        await self._hello()
        handlers = {
            Consent: self._consent,
            ScreenInfo: self._info,
            StopSharing: self._stop,
            ScreenStats: self._stats,
            ControlRevoked: self._revoked,
            Annotate: self._annotate,
            Clipboard: self._clipboard,
            Ping: self._ping,
        }
        await self.message_loop(decode_agent, handlers)

    def max_binary_bytes(self) -> int:
        return self.ctx.settings.max_screen_frame_bytes + 1

    def check_rate(self) -> None:
        """Stats come every second; clipboard spends the per-minute budget
        itself (``take_token``), annotation its own (the relay's)."""

    def on_binary(self, data: bytes) -> None:
        self._frame(data)

    def _frame(self, data: bytes) -> None:
        """Validate a screen message completely, then hand it to the relay."""
        try:
            channel, payload = decode_frame(data, self.ctx.settings.max_screen_frame_bytes + 1)
            if channel is not Channel.SCREEN:
                raise ProtocolError(f"agents send only screen frames, not channel {channel.name}")
            parsed = screen.decode(payload, self.ctx.settings.max_screen_frame_bytes)
        except ProtocolError as exc:
            raise Closing(codes.CLOSE_BAD_DATA, exc.message[:120]) from None
        assert self.screen is not None
        if isinstance(parsed, screen.Frame):
            self.screen.frame(payload, parsed.seq, parsed.key)
        else:
            self.screen.pointer(payload, shape=isinstance(parsed, screen.Cursor))

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
        self.screen = relay.open(session.id, session.rep_id)
        await self.join(ch.request_channel(session.request_id))
        self.send(
            {
                "t": "welcome",
                "session_id": session.id,
                "provider": self.ctx.settings.provider_name,
                "rep": {"name": await self.ctx.dispatcher.rep_name(session.rep_id)},
                "visitor": {"name": req.visitor_name},
                "asks": ["view"],
                "resume": self.screen.resume_token,
                "resumed": resumed and self.screen.state == "sharing",
            }
        )
        self.screen.attach_agent(self, resumed=resumed)
        await store.add_event(
            request_id=session.request_id,
            kind="agent_resumed" if resumed else "agent_joined",
            actor="visitor",
            data={"platform": hello.platform[:64], "version": hello.version[:32]},
            now=datetime.now(UTC),
        )

    async def _redeem(self, code: str) -> str:
        s = self.ctx.settings
        ip = client_ip(self.ws)
        if await self.ctx.broker.hit(f"join:ip:{ip}", 60.0) > s.join_attempts_per_minute:
            raise Closing(codes.CLOSE_LIMITED, "too many join attempts; wait a minute")
        digits = "".join(c for c in code if c.isdigit())
        if len(digits) != CODE_DIGITS or len(code) > 32:
            raise Closing(codes.CLOSE_AUTH, "a join code has 9 digits")
        session_id = await self.ctx.store.redeem_join_code(
            slot=int(digits[:3]), secret_hash=join_secret_hash(digits[3:]), now=datetime.now(UTC), max_tries=s.join_code_max_tries
        )
        if session_id is None:
            raise Closing(codes.CLOSE_AUTH, "wrong or expired join code")
        return session_id

    async def _consent(self, msg: Consent) -> None:
        assert self.screen is not None
        if msg.control is not None:
            if self.screen.control != "asking":
                raise ProtocolError("control was not asked for", code="bad_state")
            self.screen.control_consent(msg.control)
            await self._event("control_allowed" if msg.control else "control_denied")
            return
        if msg.view is None:
            raise ProtocolError("consent needs view or control")
        if self.screen.state != "asking":
            raise ProtocolError("consent was already given or refused", code="bad_state")
        self.screen.consent(msg.view)
        await self._event("screen_allowed" if msg.view else "screen_denied")
        if not msg.view:
            self.close_soon(codes.CLOSE_NORMAL, "visitor declined")

    async def _event(self, kind: str) -> None:
        assert self.screen is not None
        session = await self.ctx.store.get_session(self.screen.session_id)
        if session is not None:
            await self.ctx.store.add_event(
                request_id=session.request_id, kind=kind, actor="visitor", data={}, now=datetime.now(UTC)
            )

    async def _revoked(self, msg: ControlRevoked) -> None:
        assert self.screen is not None
        if self.screen.control != "view":
            self.screen.end_control("visitor")
            await self._event("control_revoked")

    async def _annotate(self, msg: Annotate) -> None:
        assert self.screen is not None
        self.screen.annotate(self.last_raw, msg.op, msg.id, from_agent=True)

    async def _clipboard(self, msg: Clipboard) -> None:
        assert self.screen is not None
        self.take_token()
        self.screen.clipboard(msg.text, from_agent=True)

    async def _info(self, msg: ScreenInfo) -> None:
        assert self.screen is not None
        monitors = [{"index": m.index, "width": m.width, "height": m.height, "primary": m.primary} for m in msg.monitors]
        self.screen.set_monitors(monitors, msg.selected)

    async def _stop(self, msg: StopSharing) -> None:
        assert self.screen is not None
        self.screen.stop("visitor")
        self.close_soon(codes.CLOSE_NORMAL, "visitor stopped sharing")

    async def _stats(self, msg: ScreenStats) -> None:
        assert self.screen is not None
        self.screen.agent_stats(msg.rtt_ms)

    async def _ping(self, msg: Ping) -> None:
        self.send({"t": "pong"})

    async def on_control(self, channel: str, note: dict[str, Any]) -> None:
        if note.get("op") == "ended" and self.screen is not None:
            self.screen.stop("session_ended")
            self.close_soon(codes.CLOSE_ENDED, "the support session ended")

    async def on_close(self) -> None:
        if self.screen is not None:
            self.screen.detach_agent(self, time.monotonic())


async def agent_endpoint(ws: WebSocket) -> None:
    """Agents are programs, not pages: there is no Origin to check. They
    prove themselves with a join code before anything else happens."""
    ctx: Context = ws.app.state.ctx
    if ws.headers.get("origin") is not None and not ctx.origins.same_site(ws.headers.get("origin"), ws):
        await ws.close(codes.CLOSE_POLICY)
        return
    await ws.accept()
    await AgentConnection(ws, ctx).serve()
