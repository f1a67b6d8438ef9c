"""``/ws/viewer?session=<id>``: the rep's view of the visitor's screen. The
rep holding the session is the primary viewer; supervisors and admins may
watch. Cookie and Origin are checked before the socket is accepted."""

from __future__ import annotations

import time
from typing import Any

from starlette.websockets import WebSocket

from desklink.dispatch import channels as ch
from desklink.errors import Forbidden
from desklink.protocol import codes
from desklink.protocol.messages import (
    Annotate,
    Clipboard,
    ControlRelease,
    ControlRequest,
    Input,
    Ping,
    ScreenAck,
    ScreenRefresh,
    ScreenSelect,
    StopSharing,
    decode_viewer,
)
from desklink.relay.screen import ScreenSession, Viewer
from desklink.server import auth as authmod
from desklink.server.connection import SIGNED_OUT, Connection, socket_login
from desklink.server.context import Context


class ViewerConnection(Connection):
    kind = "W"  # forwards nothing from the broker; acts on control notes only

    def __init__(self, ws: WebSocket, ctx: Context, login: authmod.Login, screen: ScreenSession, request_id: str) -> None:
        super().__init__(ws, ctx)
        self.login = login
        self.screen = screen
        self.request_id = request_id
        self.viewer: Viewer | None = None

    async def reader(self) -> None:
        await self.watch_sign_out(self.login.user.id)
        await self.join(ch.request_channel(self.request_id))
        self.viewer = self.screen.add_viewer(self, self.login.user.id, self.login.user.display_name)
        handlers = {
            ScreenAck: self._ack,
            ScreenRefresh: self._refresh,
            ScreenSelect: self._select,
            StopSharing: self._stop,
            ControlRequest: self._control_request,
            ControlRelease: self._control_release,
            Input: self._input,
            Annotate: self._annotate,
            Clipboard: self._clipboard,
            Ping: self._ping,
        }
        await self.message_loop(decode_viewer, handlers)

    async def _ack(self, msg: ScreenAck) -> None:
        assert self.viewer is not None
        self.screen.ack(self.viewer, msg.seq)

    async def _refresh(self, msg: ScreenRefresh) -> None:
        self.screen.request_key()

    async def _select(self, msg: ScreenSelect) -> None:
        if not self.screen.select(msg.monitor):
            raise Forbidden(f"there is no monitor {msg.monitor}")

    async def _stop(self, msg: StopSharing) -> None:
        assert self.viewer is not None
        if not self.viewer.primary:
            raise Forbidden("only the rep holding the session can stop sharing")
        self.screen.stop("rep")

    def _primary(self) -> Viewer:
        assert self.viewer is not None
        if not self.viewer.primary:
            raise Forbidden("watchers can look but not act; the rep holding the session can")
        return self.viewer

    async def _control_request(self, msg: ControlRequest) -> None:
        self.screen.request_control(self._primary())

    async def _control_release(self, msg: ControlRelease) -> None:
        self._primary()
        self.screen.end_control("rep")

    async def _input(self, msg: Input) -> None:
        assert self.viewer is not None
        self.screen.input(self.viewer, self.last_raw, len(msg.events), time.monotonic())

    async def _annotate(self, msg: Annotate) -> None:
        self._primary()
        self.screen.annotate(self.last_raw, msg.op, msg.id, from_agent=False, source=self)

    async def _clipboard(self, msg: Clipboard) -> None:
        self._primary()
        self.take_token()
        self.screen.clipboard(msg.text, from_agent=False)

    async def _ping(self, msg: Ping) -> None:
        self.send({"t": "pong"})

    def check_rate(self) -> None:
        """Acks come once per frame and input has its own rate, so the chat
        limit is spent only by clipboard (``take_token``); annotation has its
        own budget in the relay."""

    async def on_control(self, channel: str, note: dict[str, Any]) -> None:
        if note.get("op") == "signed_out":
            self.close_soon(codes.CLOSE_AUTH, SIGNED_OUT)
        elif note.get("op") == "ended" and channel.startswith("r:"):
            self.screen.stop("session_ended")
            self.close_soon(codes.CLOSE_ENDED, "the support session ended")

    async def apply_access(self, login: authmod.Login) -> tuple[int, str] | None:
        """Re-checked when the user's access changes: the rep holding the
        session, or a supervisor or admin, may go on watching."""
        if self.screen.rep_id != login.user.id and not login.user.at_least("supervisor"):
            return codes.CLOSE_FORBIDDEN, "you may no longer watch this screen"
        return None

    async def on_close(self) -> None:
        if self.viewer is not None:
            self.screen.remove_viewer(self.viewer)


async def viewer_endpoint(ws: WebSocket) -> None:
    ctx: Context = ws.app.state.ctx
    login = await socket_login(ws, ctx)
    if login is None:
        return
    session = await ctx.store.get_session(ws.query_params.get("session", "")[:64])
    if session is None or not session.open:
        await ws.close(codes.CLOSE_NOT_FOUND)
        return
    if session.rep_id != login.user.id and not login.user.at_least("supervisor"):
        await ws.close(codes.CLOSE_FORBIDDEN)
        return
    screen = ctx.relay.open(session.id, session.rep_id)
    await ws.accept()
    await ViewerConnection(ws, ctx, login, screen, session.request_id).serve()
