"""The console socket's transfer and invite messages (docs/protocol.md,
"Transfer and invite"): a thin adapter over :mod:`desklink.dispatch.handoff`
that keeps ``server/ws_rep.py`` small. It acts on the console's own state
(which sessions it holds, watches and chats in) through the connection.

An accepted transfer opens the session as held (``accepted``), as a
take-over does; the relay's primary viewer on this node becomes the new rep
(viewers on other nodes follow the ``taken_over`` note). An accepted
invitation opens the session as watched with the chat joined (``watching``
with ``chat_joined`` and ``invited``); ``leave_chat`` ends it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from desklink.dispatch import channels as ch
from desklink.errors import Conflict, Forbidden, NotFound
from desklink.protocol.messages import HandoffAccept, HandoffDecline, HandoffList, Invite, LeaveChat, Transfer
from desklink.server.catchup import SeqsSent
from desklink.server.ws_viewer import hand_over
from desklink.store.records import Session

if TYPE_CHECKING:
    from desklink.server.ws_rep import RepConnection


class RepHandoff:
    def __init__(self, conn: RepConnection) -> None:
        self.conn = conn
        #: Sessions this console chats in by invitation (a subset of ``conn.watching``).
        self.invited: set[str] = set()

    def handlers(self) -> dict[type, Any]:
        return {
            HandoffList: self._targets,
            Transfer: self._transfer,
            Invite: self._invite,
            HandoffAccept: self._accept,
            HandoffDecline: self._decline,
            LeaveChat: self._leave_chat,
        }

    def _queue_ids(self) -> frozenset[int]:
        """Queues where this console may take a transfer: those it is online in."""
        return frozenset(q.id for q in self.conn.queues) if self.conn.online else frozenset()

    async def _targets(self, msg: HandoffList) -> None:
        self.conn.send(await self.conn.ctx.handoffs.targets(self.conn.user))

    async def _held_now(self, session_id: str) -> Session:
        """The session as stored, if it is open and this console holds it."""
        session = await self.conn.ctx.store.get_session(session_id)
        if session is None:
            raise NotFound("no such session")
        if not session.open:
            raise Conflict("the session has ended", code="conflict_closed")
        if session_id not in self.conn.sessions or session.rep_id != self.conn.user.id:
            raise Forbidden("you do not hold that session")
        return session

    async def _transfer(self, msg: Transfer) -> None:
        session = await self._held_now(msg.session_id)
        alert = await self.conn.ctx.handoffs.offer(
            self.conn.user, session, "transfer", to_rep_id=msg.to_rep_id, to_queue_id=msg.to_queue_id, note=msg.note
        )
        self.conn.send({"t": "handoff.result", "id": alert["id"], "kind": "transfer", "session_id": session.id,
                        "outcome": "offered", "by": None, "to_name": alert.get("to_name", "")})

    async def _invite(self, msg: Invite) -> None:
        session = await self._held_now(msg.session_id)
        alert = await self.conn.ctx.handoffs.offer(
            self.conn.user, session, "invite", to_rep_id=msg.to_rep_id, to_queue_id=None, note=msg.note
        )
        self.conn.send({"t": "handoff.result", "id": alert["id"], "kind": "invite", "session_id": session.id,
                        "outcome": "offered", "by": None, "to_name": alert.get("to_name", "")})

    async def _accept(self, msg: HandoffAccept) -> None:
        conn = self.conn
        if msg.session_id in conn.sessions:
            raise Conflict("you already hold this session", code="bad_state")
        session, kind = await conn.ctx.handoffs.accept(conn.user, msg.session_id, msg.id, self._queue_ids())
        if kind == "transfer":
            screen = conn.ctx.relay.get(session.id)
            if screen is not None:  # the relay's primary viewer is now this rep
                hand_over(conn.ctx, screen, conn.user.id, "transfer", conn.user.display_name)
            self.invited.discard(session.id)
            await conn._now_held(session)
            return
        self.invited.add(session.id)
        conn.watching[session.id] = session
        conn.chatting.add(session.id)
        conn.sent.setdefault(session.request_id, SeqsSent())
        view = await conn.ctx.dispatcher.session_view(session)
        view["rep"] = {"id": session.rep_id, "name": await conn.ctx.dispatcher.rep_name(session.rep_id)}
        # Before joining: a line the channel delivers meanwhile finds the chat open (the backlog has the rest).
        conn.send({"t": "watching", "session": view, "chat_joined": True, "invited": True})
        await conn.join(ch.request_channel(session.request_id))
        await conn._backlog(session, 0)

    async def _decline(self, msg: HandoffDecline) -> None:
        ended = await self.conn.ctx.handoffs.decline(self.conn.user, msg.session_id, msg.id, self._queue_ids())
        if not ended:  # offered to a queue: only this console's alert goes
            self.conn.send({"t": "handoff.withdrawn", "id": msg.id, "session_id": msg.session_id,
                            "reason": "declined", "taken_by": None})

    async def _leave_chat(self, msg: LeaveChat) -> None:
        conn = self.conn
        if msg.session_id not in self.invited or msg.session_id not in conn.watching:
            raise Forbidden("you are not in that chat by invitation")
        session = conn.watching[msg.session_id]
        await conn._stop_watching(session)
        self.invited.discard(session.id)
        fresh = await conn.ctx.store.get_session(session.id) or session
        await conn.ctx.handoffs.leave_chat(conn.user, fresh)
        conn.send({"t": "unwatched", "session_id": session.id, "reason": "left"})

    def may_take_over(self, session_id: str) -> bool:
        """An invited rep is a guest in the chat: taking the session over is a supervisor's act."""
        return session_id not in self.invited
