"""``/ws/viewer?session=<id>``: the rep's view of the visitor's screen. The
rep holding the session is the primary viewer; a supervisor of the
session's queue, or an admin, may watch. When a supervisor takes the session
over (``taken_over`` note), they become the primary viewer and the old rep's
viewers close; the same when a colleague accepts the rep's transfer, and a
colleague the rep invited into the chat may watch. Cookie and Origin are checked before the socket is accepted
(with a relay token, ``?token=``, the token's user instead: see
:func:`granted_login`); every
message then goes through the relay core (``relay/session.py``), which
decides what a viewer may do."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from starlette.websockets import WebSocket

from desklink.dispatch import channels as ch
from desklink.dispatch.handoff import in_chat_by_invitation
from desklink.protocol import codes
from desklink.protocol.relay_token import RelayGrant
from desklink.protocol.messages import (
    Annotate,
    Clipboard,
    ControlRelease,
    ControlRequest,
    FilesRelease,
    FilesRequest,
    Input,
    Ping,
    ScreenAck,
    ScreenRecord,
    ScreenRefresh,
    ScreenSelect,
    StopSharing,
    decode_viewer,
)
from desklink.protocol.server_messages import Pong
from desklink.relay import ScreenSession, Viewer
from desklink.server import auth as authmod
from desklink.server.connection import SIGNED_OUT, Connection, socket_login
from desklink.server.context import Context
from desklink.server.relay_admission import admit, grant_of
from desklink.server.deliveries import FILES_ENDED
from desklink.server.relay_io import pump
from desklink.server.session_access import may_supervise
from desklink.store.records import AuthSession

RELAYED = (
    ScreenAck,
    ScreenRefresh,
    ScreenSelect,
    StopSharing,
    ControlRequest,
    ControlRelease,
    Input,
    Annotate,
    Clipboard,
    FilesRequest,
    FilesRelease,
    ScreenRecord,
    Ping,
)


class ViewerConnection(Connection):
    kind = "W"  # forwards nothing from the broker; acts on control notes only

    def __init__(
        self, ws: WebSocket, ctx: Context, login: authmod.Login, screen: ScreenSession, *, granted: bool = False
    ) -> None:
        super().__init__(ws, ctx)
        self.login = login
        self.screen = screen
        self.viewer: Viewer | None = None
        #: Let in by a relay token (the user from its grant), not a login cookie.
        self.granted = granted

    async def recheck_access(self) -> bool:
        """A viewer let in by a relay token has no cookie to re-read: the
        user is read again from the store (disabled: signed out)."""
        if not self.granted:
            return await super().recheck_access()
        user = await self.ctx.store.get_user(self.login.user.id)
        if user is None or user.disabled:
            self.close_soon(codes.CLOSE_AUTH, SIGNED_OUT)
            return False
        self.login = authmod.Login(user, self.login.auth)
        refusal = await self.apply_access(self.login)
        if refusal is not None:
            self.close_soon(*refusal)
            return False
        return True

    async def reader(self) -> None:
        await self.watch_sign_out(self.login.user.id)
        await self.join(ch.request_channel(self.screen.request_id))
        user = self.login.user
        self.viewer, fx = self.screen.add_viewer(self, user.id, user.display_name, time.monotonic(), user.role)
        pump(fx, self.ctx.audits, self.ctx.recordings)
        await self.message_loop(decode_viewer, dict.fromkeys(RELAYED, self._relay))

    async def _relay(self, msg: Any) -> None:
        assert self.viewer is not None
        if isinstance(msg, Clipboard):
            self.take_token()
        before = self.screen.privileges["files"]
        pump(self.screen.receive_viewer(self.viewer, msg, time.monotonic()), self.ctx.audits, self.ctx.recordings)
        if isinstance(msg, Ping):
            self.send_out(Pong())
        if before in ("granted", "suspended") and self.screen.privileges["files"] == "off":
            deliveries = self.ctx.transfers.deliveries
            if deliveries is not None:
                await deliveries.files_ended(self.screen, FILES_ENDED)

    def check_rate(self) -> None:
        """Acks come once per frame and input has its own rate, so the chat
        limit is spent only by clipboard (``take_token``); annotation has its
        own budget in the relay."""

    async def on_control(self, channel: str, note: dict[str, Any]) -> None:
        if note.get("op") == "signed_out":
            self.close_soon(codes.CLOSE_AUTH, SIGNED_OUT)
        elif note.get("op") == "taken_over" and isinstance(note.get("to_rep_id"), int):
            hand_over(self.ctx, self.screen, int(note["to_rep_id"]), note.get("how"), str(note.get("to_name") or ""))
            if self.login.user.id == note.get("from_rep_id"):
                self.close_soon(codes.CLOSE_FORBIDDEN, TRANSFERRED if note.get("how") == "transfer" else TAKEN_OVER)
        elif (note.get("op") == "ended" and channel.startswith("r:")) or (
            note.get("op") == "resync" and await self._session_over()
        ):
            pump(self.ctx.relay.end_session(self.screen.session_id, time.monotonic()), self.ctx.audits, self.ctx.recordings)
            self.close_soon(codes.CLOSE_ENDED, "the support session ended")

    async def _session_over(self) -> bool:
        """After a broker outage: did the support session end meanwhile (its
        ``ended`` note may have been lost)?"""
        session = await self.ctx.store.get_session(self.screen.session_id)
        return session is None or not session.open

    async def apply_access(self, login: authmod.Login) -> tuple[int, str] | None:
        """Re-checked when the user's access changes: the rep holding the
        session, or a supervisor of its queue or an admin, may go on watching."""
        if not await may_view(self.ctx, login, self.screen.rep_id, self.screen.request_id):
            return codes.CLOSE_FORBIDDEN, "you may no longer watch this screen"
        return None

    async def on_close(self) -> None:
        if self.viewer is not None:
            pump(self.screen.remove_viewer(self.viewer, time.monotonic()), self.ctx.audits, self.ctx.recordings)


TAKEN_OVER = "a supervisor took the session over"
TRANSFERRED = "the session was transferred to a colleague"


def hand_over(ctx: Context, screen: ScreenSession, rep_id: int, how: object = None, rep_name: str = "") -> None:
    """Make ``rep_id`` (named ``rep_name``, for the agent) the primary viewer
    of ``screen`` and close the old rep's viewers (idempotent). ``how`` is
    the note's: ``transfer`` or a take-over."""
    gone, fx = screen.hand_over(rep_id, time.monotonic(), rep_name)
    pump(fx, ctx.audits, ctx.recordings)
    for endpoint in gone:
        if isinstance(endpoint, Connection):
            endpoint.close_soon(codes.CLOSE_FORBIDDEN, TRANSFERRED if how == "transfer" else TAKEN_OVER)


async def may_view(ctx: Context, login: authmod.Login, rep_id: int, request_id: str) -> bool:
    """The rep holding the session, or whoever may supervise it."""
    if rep_id == login.user.id or login.user.role == "admin":
        return True
    req = await ctx.store.get_request(request_id)
    if req is None:
        return False
    if in_chat_by_invitation(await ctx.store.events_for(request_id), login.user.id):
        return True  # a colleague the rep invited into the chat watches too
    queue_ids = {q.id for q in await ctx.store.queues_of_user(login.user.id)}
    return may_supervise(login.user, queue_id=req.queue_id, user_queue_ids=queue_ids)


async def granted_login(ctx: Context, grant: RelayGrant) -> authmod.Login | None:
    """The viewer a relay token names (its ``subject``), read from the store,
    while that user is not disabled: a relay node takes the identity from
    the token, not from a login cookie (it may be on another host)."""
    user = await ctx.store.get_user(grant.subject)
    if user is None or user.disabled:
        return None
    now = datetime.now(UTC)
    until = datetime.fromtimestamp(grant.expires, UTC)
    return authmod.Login(user, AuthSession(token_hash="", user_id=user.id, csrf_token="", created_at=now, expires_at=until))


async def viewer_endpoint(ws: WebSocket) -> None:
    ctx: Context = ws.app.state.ctx
    if not await admit(ws, ctx.settings, "viewer", ws.query_params.get("session", "")[:64]):
        return
    grant = grant_of(ws)
    if grant is not None:
        login = await granted_login(ctx, grant)
        if login is None:
            await ws.close(codes.CLOSE_AUTH)
            return
    else:
        login = await socket_login(ws, ctx)
        if login is None:
            return
    session = await ctx.store.get_session(ws.query_params.get("session", "")[:64])
    if session is None or not session.open:
        await ws.close(codes.CLOSE_NOT_FOUND)
        return
    if not await may_view(ctx, login, session.rep_id, session.request_id):
        await ws.close(codes.CLOSE_FORBIDDEN)
        return
    policy = await ctx.store.recording_policy_of_request(session.request_id)
    screen, opened = ctx.relay.open(session.id, session.request_id, session.rep_id, time.monotonic())
    if screen.rep_id != session.rep_id:  # taken over while this node's relay did not hear of it
        hand_over(ctx, screen, session.rep_id, None, await ctx.dispatcher.rep_name(session.rep_id))
    if not screen.recording:
        screen.recording_policy = policy
    pump(opened, ctx.audits, ctx.recordings)
    await ws.accept()
    await ViewerConnection(ws, ctx, login, screen, granted=grant is not None).serve()
