"""``/ws/share``: the visitor's browser sharing its screen from the help box.

The same adapter as ``/ws/agent`` (:class:`~.ws_agent.AgentConnection`: a
join code in, every message through the same relay core), with what differs
for a page:

- the Origin must be a site the request's queue allows (as for the help
  box's own socket), and there is no resume: a page that goes away ends
  its share (``relay/session.py``);
- the relay learns the source is ``browser``: view only, so the rep is
  never offered control or drawing on the visitor's screen;
- what it may send is bounded by its own settings: a chunk (video chunk or
  fallback still frame) of at most ``browser_share_max_chunk_bytes``, at
  most ``browser_share_chunks_per_s`` a second, and no cursor messages;
  control messages are only those a view-only share needs (consent, stop,
  stats, ping: no clipboard, annotation or control answers), within the
  per-connection ``messages_per_minute`` like the help box's own socket.
  Anything else stops this share with the reason for the rep and closes
  the socket with it for the visitor; the support session and its chat go
  on.
"""

from __future__ import annotations

import time

from starlette.websockets import WebSocket

from desklink.errors import Closing, ProtocolError
from desklink.protocol import codes, screen
from desklink.protocol.framing import Channel, Reassembler
from desklink.protocol.messages import Consent, Ping, ScreenStats, StopSharing
from desklink.protocol.ratelimit import TokenBucket
from desklink.server.context import Context
from desklink.server.relay_admission import admit, grant_of
from desklink.server.ws_agent import AgentConnection
from desklink.store.records import Request

BAD_CHUNK = "the visitor's browser sent a screen chunk DeskLink could not read"
TOO_FAST = "the visitor's browser sent screen chunks faster than allowed"


class ShareConnection(AgentConnection):
    source = "browser"
    relayed = (Consent, StopSharing, ScreenStats, Ping)

    def __init__(self, ws: WebSocket, ctx: Context) -> None:
        super().__init__(ws, ctx)
        s = ctx.settings
        self.parts = Reassembler({Channel.SCREEN: s.browser_share_max_chunk_bytes})
        self.chunks = TokenBucket(s.browser_share_chunks_per_s, 1.0)

    def check_rate(self) -> None:
        """A page is not a program the visitor ran: its text messages spend the
        connection's per-minute budget (the help box sends a ping every 2 s
        and its statistics every 2 s)."""
        self.take_token()

    async def check_request(self, req: Request) -> None:
        queue = await self.ctx.store.get_queue(req.queue_id)
        if queue is None or not self.ctx.origins.queue_allows(queue, self.ws.headers.get("origin"), self.ws):
            raise Closing(codes.CLOSE_POLICY, "this site may not share a screen with this help desk")

    def on_binary(self, data: bytes) -> None:
        if self.screen is None:
            raise Closing(codes.CLOSE_BAD_DATA, "join before sending frames")
        s = self.ctx.settings
        now = time.monotonic()
        try:
            done = self.parts.feed(data)
            if done is None:
                return
            _, payload = done
            parsed = screen.decode(payload, s.browser_share_max_chunk_bytes)
            if not isinstance(parsed, screen.VideoChunk | screen.Frame):
                raise ProtocolError("a browser share sends video chunks and frames only")
        except ProtocolError as exc:
            code = codes.CLOSE_TOO_BIG if exc.code == "too_large" else codes.CLOSE_BAD_DATA
            raise self._end(code, exc.message, f"{BAD_CHUNK} ({exc.message})", now) from None
        if not self.chunks.take(now):
            message = f"more than {s.browser_share_chunks_per_s} screen chunks a second"
            raise self._end(codes.CLOSE_LIMITED, message, f"{TOO_FAST} ({message})", now)
        self.ctx.metrics.relay_in(len(payload))
        before = self.ctx.metrics.screen_drops(self.screen)
        fx = self.screen.receive_agent_frame(payload, parsed.seq, parsed.key, now)
        self.ctx.metrics.relay_dropped_since(self.screen, before)
        self.pump(fx)

    def _end(self, code: int, message: str, reason: str, now: float) -> Closing:
        """Stop this share (only it): ``reason`` for the rep, the close code
        and ``message`` for the visitor's browser."""
        assert self.screen is not None
        self.close_soon(code, message[:120])  # before the relay's own close (first one wins)
        self.pump(self.screen.stop("system", now, reason=reason))
        return Closing(code, message[:120])


async def share_endpoint(ws: WebSocket) -> None:
    """Pages of a site some queue allows may open it; the join code (and the
    request's own queue, checked after it) decide the rest. On a relay node
    the share's relay token is the admission: the web node that handed it
    out checked the page's origin (and this node's cache of queue origins
    may not know a queue created a moment ago)."""
    ctx: Context = ws.app.state.ctx
    if not await admit(ws, ctx.settings, "share"):
        return
    if grant_of(ws) is None and not await ctx.origins.any_queue_allows(ws.headers.get("origin"), ws):
        await ws.close(codes.CLOSE_POLICY)
        return
    await ws.accept()
    await ShareConnection(ws, ctx).serve()
