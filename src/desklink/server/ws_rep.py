"""``/ws/rep``: the console's socket. A thin adapter: cookie login and Origin
are checked before the socket is accepted; presence joins the rep's queue
channels; accept, chat and end go to the dispatcher.

When an admin changes the rep's access (``apply_access``), the console
re-reads its user and queues: it leaves the channels of queues it lost and
withdraws their alerts from the page (reason ``queue_left``), joins queues it
gained and shows their waiting requests, and tells the page with ``access``.
Accepting uses the queues as re-read, so a lost queue's requests are refused.

While online, a heartbeat renews the rep's presence every third of
``presence_ttl_s``; it outlives broker outages and refills presence by itself
when the broker is back. Going online also opens a presence-log stretch
(:mod:`desklink.store._presence`) that the heartbeat renews at most every
``presence_log_renew_s`` and going away or disconnecting closes; a store
failure there is logged and never breaks the console. After an outage the socket catches up from the store
(:meth:`RepConnection._catch_up`): chat lines, sessions that ended or were
accepted, alerts that came or went, and a sign-out."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import Any

from starlette.websockets import WebSocket

from desklink.broker.base import BROKER_ERRORS
from desklink.dispatch import channels as ch
from desklink.dispatch.dispatcher import console_presence_group, rep_presence_group
from desklink.dispatch.handoff import in_chat_by_invitation
from desklink.dispatch.supervise import Supervision, whispers
from desklink.errors import Closing, Conflict, Forbidden, NotFound, ProtocolError
from desklink.protocol import codes
from desklink.protocol.framing import Channel
from desklink.protocol.messages import (
    Accept,
    ChatSend,
    End,
    FileAsk,
    FileCancel,
    FileEnd,
    FileOffer,
    FilePause,
    FileResume,
    JoinChat,
    Ping,
    RHello,
    ScreenRequest,
    SetPresence,
    TakeOver,
    Typing,
    Unwatch,
    Watch,
    Whisper,
    decode_rep,
)
from desklink.server import auth as authmod
from desklink.server.catchup import ALERT_PREFIX, CHAT_PREFIX, WITHDRAWN_PREFIX, SeqsSent, chat_head, quoted_id
from desklink.server.connection import HELLO_TIMEOUT_S, SIGNED_OUT, Connection, socket_login
from desklink.server.context import Context
from desklink.server.outage import keep_beating
from desklink.server.rep_handoff import RepHandoff
from desklink.server.session_access import may_supervise
from desklink.server.ws_viewer import hand_over
from desklink.server.transfers import Party, file_parts
from desklink.store.records import Queue, Session

log = logging.getLogger(__name__)


class RepConnection(Connection):
    kind = "R"
    forwards = frozenset({"R", "A"})
    file_messages = (FileOffer, FileResume, FileEnd, FilePause, FileCancel, FileAsk)

    def __init__(self, ws: WebSocket, ctx: Context, login: authmod.Login) -> None:
        super().__init__(ws, ctx)
        self.user = login.user
        self.online = False
        self.queues: list[Queue] = []
        self.sessions: dict[str, Session] = {}
        #: Sessions the visitor ended before the rep gave a disposition.
        self.wrapup: dict[str, Session] = {}
        self._heartbeat: asyncio.Task[None] | None = None
        #: Keeps the console in its queues' console groups (the live board's
        #: "away") for as long as the socket is open.
        self._console_beat: asyncio.Task[None] | None = None
        #: Held while the queue list and the channels joined for it change
        #: (going online or away, an access change), so they always agree.
        self._queues_lock = asyncio.Lock()
        #: Per conversation (request id): the chat seqs passed on to the console.
        self.sent: dict[str, SeqsSent] = {}
        #: Ids of the alerts this console was sent and not told are withdrawn.
        self.alerted: set[str] = set()
        #: Welcome sent: until then a catch-up waits (the hello reads the store itself).
        self._welcomed = False
        self._catch_up_later = False
        self.file_parts = file_parts(ctx.settings)
        #: Sessions this console watches (a supervisor's or admin's), and
        #: those of them whose chat it joined.
        self.watching: dict[str, Session] = {}
        self.chatting: set[str] = set()
        self.supervision = Supervision(ctx.dispatcher)
        #: Transfer and invite (server/rep_handoff.py).
        self.handoff = RepHandoff(self)
        #: The presence-log stretch open while online (None if the store failed).
        self._stretch: int | None = None
        #: ``time.monotonic()`` of the stretch's last write.
        self._stretch_written = 0.0

    def log_ids(self) -> dict[str, Any]:
        ids = super().log_ids()
        if self.sessions:
            ids["session_ids"] = sorted(self.sessions)
        return ids

    async def reader(self) -> None:
        log.info("console socket of %s opened", self.user.username)
        await self.watch_sign_out(self.user.id)
        text = await self.receive_text(HELLO_TIMEOUT_S)
        if text is None:
            return
        try:
            hello = decode_rep(text, self.ctx.settings.max_message_bytes)
        except ProtocolError:
            raise Closing(codes.CLOSE_AUTH, "first message must be hello") from None
        if not isinstance(hello, RHello):
            raise Closing(codes.CLOSE_AUTH, "first message must be hello")
        await self._welcome(hello)
        files = self.ctx.transfers
        handlers = {
            SetPresence: self._presence,
            Accept: self._accept,
            ChatSend: self._chat,
            Typing: self._typing,
            End: self._end,
            ScreenRequest: self._screen_request,
            Ping: self._ping,
            FileOffer: self._file_offer,
            FileAsk: self._file_ask,
            FileResume: lambda msg: files.resume(self.party(), msg),
            FileEnd: lambda msg: files.end(self.party(), msg),
            FilePause: lambda msg: files.pause(self.party(), msg),
            FileCancel: lambda msg: files.cancel(self.party(), msg),
            Watch: self._watch,
            Unwatch: self._unwatch,
            Whisper: self._whisper,
            JoinChat: self._join_chat,
            TakeOver: self._take_over,
            **self.handoff.handlers(),
        }
        await self.message_loop(decode_rep, handlers)

    async def _welcome(self, hello: RHello) -> None:
        store, d = self.ctx.store, self.ctx.dispatcher
        views = []
        for session in await store.open_sessions_for_rep(self.user.id):
            self.sessions[session.id] = session
            self.sent[session.request_id] = SeqsSent(hello.resume.get(session.id, 0))
            await self.join(ch.request_channel(session.request_id))
            views.append(await d.session_view(session))
        async with self._queues_lock:  # an access change waits: `access` never precedes `welcome`
            self.queues = await store.queues_of_user(self.user.id)
            self._welcomed = True
            self.send(
                {
                    "t": "welcome",
                    "user": {
                        "id": self.user.id,
                        "username": self.user.username,
                        "display_name": self.user.display_name,
                        "role": self.user.role,
                    },
                    "status": "away",
                    "queues": _queue_views(self.queues),
                    "alerts": [],
                    "sessions": views,
                    # how the console cuts an upload (protocol/files.py)
                    "limits": {
                        "file_chunk_bytes": self.ctx.settings.file_chunk_bytes,
                        "max_message_bytes": self.ctx.settings.max_message_bytes,
                    },
                }
            )
        await self._announce_console()
        self._console_beat = asyncio.create_task(
            keep_beating(self.ctx.settings.presence_ttl_s / 3, self._refresh_console, self.ctx.hub.watch, "console presence")
        )
        await self.ctx.dispatcher.board_changed([q.id for q in self.queues])
        for session in self.sessions.values():
            await self._backlog(session, hello.resume.get(session.id, 0))
            await self.ctx.transfers.replay(self, session.request_id)
            await self._supervision_state(session)
        self._welcomed = True
        if self._catch_up_later:
            await self._catch_up()

    async def _backlog(self, session: Session, after: int | None = None) -> None:
        """Chat lines after ``after`` (default: the last one passed on without
        a gap) that this console has not had (at most ``max_resume_backlog``)."""
        sent = self.sent.setdefault(session.request_id, SeqsSent(after or 0))
        limit = self.ctx.settings.max_resume_backlog
        for m in await self.ctx.store.messages_after(session.request_id, sent.floor if after is None else after, limit):
            if m.seq not in sent:
                self.send(self.ctx.dispatcher.message_view(m, session.id))
                sent.add(m.seq)

    def deliver(self, channel: str, text: str) -> None:
        if text.startswith(CHAT_PREFIX):
            head = chat_head(text)
            if head is not None and head[0] in self.sent:
                self.sent[head[0]].add(head[1])
        elif text.startswith(ALERT_PREFIX):
            self.alerted.add(quoted_id(text, ALERT_PREFIX))
            t0 = self.ctx.metrics.alert_submitted_at(text)
            if t0 is not None:
                self.send_stamped(text[1:], t0)  # the alert's fan-out time, to this socket
                return
        elif text.startswith(WITHDRAWN_PREFIX):
            self.alerted.discard(quoted_id(text, WITHDRAWN_PREFIX))
        super().deliver(channel, text)

    # ---------------------------------------------------------------- presence
    async def _presence(self, msg: SetPresence) -> None:
        async with self._queues_lock:
            await self._set_presence(msg)

    async def _set_presence(self, msg: SetPresence) -> None:
        if msg.status == "online" and not self.online:
            self.online = True
            self.queues = await self.ctx.store.queues_of_user(self.user.id)
            for q in self.queues:
                await self.join(ch.queue_channel(q.id))
            await self._announce_presence()
            await self._open_stretch()
            self._heartbeat = asyncio.create_task(
                keep_beating(self.ctx.settings.presence_ttl_s / 3, self._beat, self.ctx.hub.watch, "rep presence")
            )
            self.send({"t": "presence", "status": "online"})
            await self.ctx.dispatcher.board_changed([q.id for q in self.queues])
            for alert in await self.ctx.dispatcher.waiting_alerts(self.queues):
                self.alerted.add(alert["id"])
                self.send({"t": "alert", "request": alert})
        elif msg.status == "away" and self.online:
            await self._go_away()
            self.send({"t": "presence", "status": "away"})
            await self.ctx.dispatcher.board_changed([q.id for q in self.queues])
        else:
            self.send({"t": "presence", "status": "online" if self.online else "away"})

    async def _go_away(self) -> None:
        """Never raises for the broker: presence it cannot remove expires
        within ``presence_ttl_s``."""
        self.online = False
        self.alerted.clear()
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            self._heartbeat = None
        await self._close_stretch()
        for q in self.queues:
            await self.leave(ch.queue_channel(q.id))
            try:
                await self.ctx.broker.presence_remove(rep_presence_group(q.id), str(self.user.id))
            except BROKER_ERRORS as exc:
                self.ctx.hub.watch.report("removing a rep's presence", exc)

    async def _beat(self) -> None:
        """The heartbeat: the presence log (never raises), then the broker."""
        await self._renew_stretch()
        await self._refresh_presence()

    async def _refresh_presence(self) -> None:
        """Mark the rep present in each queue (raises while the broker is down)."""
        ttl = self.ctx.settings.presence_ttl_s
        for q in self.queues:
            await self.ctx.broker.presence_set(rep_presence_group(q.id), str(self.user.id), ttl)

    async def _refresh_console(self) -> None:
        """Mark the console connected in each queue (raises while the broker is down)."""
        ttl = self.ctx.settings.presence_ttl_s
        for q in self.queues:
            await self.ctx.broker.presence_set(console_presence_group(q.id), str(self.user.id), ttl)

    async def _announce_console(self) -> None:
        """As :meth:`_refresh_console`, best effort: its heartbeat retries."""
        try:
            await self._refresh_console()
        except BROKER_ERRORS as exc:
            self.ctx.hub.watch.report("marking a console connected", exc)

    async def _leave_console(self, queues: list[Queue]) -> None:
        """Best effort: presence not removed expires within ``presence_ttl_s``
        (another console of the same rep refills it meanwhile)."""
        for q in queues:
            try:
                await self.ctx.broker.presence_remove(console_presence_group(q.id), str(self.user.id))
            except BROKER_ERRORS as exc:
                self.ctx.hub.watch.report("removing a console's presence", exc)

    async def _announce_presence(self) -> None:
        """As :meth:`_refresh_presence`, best effort: the heartbeat retries."""
        try:
            await self._refresh_presence()
        except BROKER_ERRORS as exc:
            self.ctx.hub.watch.report("marking a rep present", exc)

    # ------------------------------------------------------------ presence log
    # A store failure here never breaks the console: it is logged, and the
    # heartbeat opens the stretch again later if it could not be opened.
    async def _open_stretch(self) -> None:
        try:
            self._stretch = await self.ctx.store.open_presence(user_id=self.user.id, node=self.ctx.node, now=datetime.now(UTC))
            self._stretch_written = time.monotonic()
        except Exception:
            self._stretch = None
            log.exception("could not open a presence-log stretch for user %d; retrying on the heartbeat", self.user.id)

    async def _renew_stretch(self) -> None:
        """Renew ``seen_at`` at most every ``presence_log_renew_s``; open a
        stretch if there is none (or the sweeper closed ours)."""
        if self._stretch is None:
            await self._open_stretch()
            return
        if time.monotonic() - self._stretch_written < self.ctx.settings.presence_log_renew_s:
            return
        try:
            if await self.ctx.store.renew_presence(self._stretch, datetime.now(UTC)):
                self._stretch_written = time.monotonic()
            else:
                await self._open_stretch()
        except Exception:
            log.exception("could not renew presence-log stretch %d; trying again on the heartbeat", self._stretch)

    async def _close_stretch(self) -> None:
        stretch, self._stretch = self._stretch, None
        if stretch is None:
            return
        try:
            await self.ctx.store.close_presence(stretch, datetime.now(UTC))
        except Exception:
            log.exception("could not close presence-log stretch %d; the sweeper will close it", stretch)

    # ---------------------------------------------------------------- actions
    async def _accept(self, msg: Accept) -> None:
        if not self.online:
            raise ProtocolError("go online before accepting requests", code="bad_state")
        try:
            await self.ctx.dispatcher.accept(self.user, msg.request_id, frozenset(q.id for q in self.queues))
        except Conflict as exc:
            self.send_error(exc, msg.request_id)

    def _held(self, session_id: str) -> Session:
        session = self.sessions.get(session_id)
        if session is None:
            raise Forbidden("you do not hold that session")
        return session

    def _speaking(self, session_id: str) -> Session:
        """A session this console may chat in: held, or watched and joined."""
        if session_id in self.chatting and session_id in self.watching:
            return self.watching[session_id]
        return self._held(session_id)

    async def _chat(self, msg: ChatSend) -> None:
        session = self._speaking(msg.session_id)
        req = await self.ctx.store.get_request(session.request_id)
        assert req is not None
        await self.ctx.dispatcher.chat(
            req, sender="rep", name=self.user.display_name, user_id=self.user.id, cid=msg.cid, text=msg.text,
            session_id=session.id,
        )

    async def _typing(self, msg: Typing) -> None:
        session = self._speaking(msg.session_id)
        req = await self.ctx.store.get_request(session.request_id)
        assert req is not None
        await self.ctx.dispatcher.typing(req, session.id, "rep", msg.on)

    async def _end(self, msg: End) -> None:
        pending = self.wrapup.get(msg.session_id)
        if pending is not None:
            await self.ctx.dispatcher.wrap_up(
                pending, actor="rep", actor_id=self.user.id, disposition=msg.disposition, note=msg.note
            )
            del self.wrapup[msg.session_id]
            self.send({"t": "ended", "session_id": pending.id, "by": "visitor", "disposition": msg.disposition})
            return
        session = self._held(msg.session_id)
        await self.ctx.dispatcher.end(
            session, by="rep", actor="rep", actor_id=self.user.id, disposition=msg.disposition, note=msg.note
        )

    async def _screen_request(self, msg: ScreenRequest) -> None:
        session = self._held(msg.session_id)
        await self.ctx.dispatcher.request_screen(session, self.user, self.ctx.origins.own(self.ws))

    # ------------------------------------------------------------ supervisors
    async def _watch(self, msg: Watch) -> None:
        """Watch a live conversation read-only (docs/protocol.md, "Supervisors")."""
        session = await self.ctx.store.get_session(msg.session_id)
        if session is None:
            raise NotFound("no such session")
        if session.id in self.sessions:
            raise Conflict("you hold this session; there is nothing to watch", code="bad_state")
        req = await self.ctx.store.get_request(session.request_id)
        assert req is not None
        queue_ids = {q.id for q in await self.ctx.store.queues_of_user(self.user.id)}
        if in_chat_by_invitation(await self.ctx.store.events_for(req.id), self.user.id):
            self.handoff.invited.add(session.id)  # a reloaded console of an invited rep
            self.chatting.add(session.id)
        elif not may_supervise(self.user, queue_id=req.queue_id, user_queue_ids=queue_ids):
            raise Forbidden("only a supervisor of this session's queue, or an admin, may watch it")
        if not session.open:
            raise Conflict("the session has ended", code="conflict_closed")
        if session.id not in self.watching:
            self.watching[session.id] = session
            self.sent.setdefault(session.request_id, SeqsSent())
            await self.join(ch.request_channel(session.request_id))
            await self.supervision.watch(self.user, session)
        view = await self.ctx.dispatcher.session_view(session, req)
        view["rep"] = {"id": session.rep_id, "name": await self.ctx.dispatcher.rep_name(session.rep_id)}
        self.send({"t": "watching", "session": view, "chat_joined": session.id in self.chatting,
                   "invited": session.id in self.handoff.invited})
        await self._backlog(session, 0)
        await self._supervision_state(session)

    async def _supervision_state(self, session: Session) -> None:
        """Who watches and the whispers so far (a console reload shows them again)."""
        events = await self.ctx.store.events_for(session.request_id)
        for view in whispers(events, session.id):
            self.send(view)
        watching = await self.supervision.watchers(session.request_id)
        self.send({"t": "watchers", "session_id": session.id, "watchers": watching})

    def _watched(self, session_id: str) -> Session:
        session = self.watching.get(session_id)
        if session is None:
            raise Forbidden("watch the session first")
        return session

    async def _stop_watching(self, session: Session) -> None:
        self.watching.pop(session.id, None)
        self.handoff.invited.discard(session.id)
        self.chatting.discard(session.id)
        if session.id not in self.sessions:
            self.sent.pop(session.request_id, None)
            await self.leave(ch.request_channel(session.request_id))

    async def _unwatch(self, msg: Unwatch) -> None:
        session = self._watched(msg.session_id)
        await self._stop_watching(session)
        await self.supervision.unwatch(self.user, await self.ctx.store.get_session(session.id) or session)
        self.send({"t": "unwatched", "session_id": session.id, "reason": "stopped"})

    async def _whisper(self, msg: Whisper) -> None:
        session = self._watched(msg.session_id)
        await self.supervision.whisper(self.user, session, msg.cid, msg.text)

    async def _join_chat(self, msg: JoinChat) -> None:
        session = self._watched(msg.session_id)
        await self.supervision.join_chat(self.user, session)
        self.chatting.add(session.id)
        self.send({"t": "chat_joined", "session_id": session.id})

    async def _take_over(self, msg: TakeOver) -> None:
        session = self._watched(msg.session_id)
        if not self.handoff.may_take_over(session.id):
            raise Forbidden("you were invited into this chat; only a supervisor takes a session over")
        fresh = await self.ctx.store.get_session(session.id)
        if fresh is None or not fresh.open:
            raise Conflict("the session has ended", code="conflict_closed")
        moved = await self.supervision.take_over(self.user, fresh)
        screen = self.ctx.relay.get(moved.id)
        if screen is not None:  # the relay's primary viewer is now this rep
            hand_over(self.ctx, screen, self.user.id, "take_over", self.user.display_name)
        await self._now_held(moved)

    async def _now_held(self, session: Session) -> None:
        """A watched session this rep took over: it is held from now on."""
        if session.id in self.sessions:
            return
        self.watching.pop(session.id, None)
        self.chatting.discard(session.id)
        await self._take(session)

    async def _taken_over(self, note: dict[str, Any]) -> None:
        session_id = str(note.get("session_id"))
        if note.get("to_rep_id") == self.user.id:
            session = await self.ctx.store.get_session(session_id)
            if session is not None and session.id in self.watching:
                await self._now_held(session)
        elif note.get("from_rep_id") == self.user.id and session_id in self.sessions:
            session = self.sessions.pop(session_id)
            if session_id not in self.watching:
                self.sent.pop(session.request_id, None)
                await self.leave(ch.request_channel(session.request_id))

    # ------------------------------------------------------------ files
    def party(self) -> Party:
        def holds(request_id: str) -> bool:
            return any(s.request_id == request_id for s in self.sessions.values())

        return Party("rep", self.user.display_name, self.user.id, "browser", self, holds)

    async def _file_offer(self, msg: FileOffer) -> None:
        if not msg.session_id:
            raise ProtocolError("file.offer from a rep needs the session_id", code="bad_message")
        session = self._held(msg.session_id)
        req = await self.ctx.store.get_request(session.request_id)
        assert req is not None
        await self.ctx.transfers.offer(self.party(), msg, session.request_id, session.id, req.queue_id)

    async def _file_ask(self, msg: FileAsk) -> None:
        session = self._held(msg.session_id)
        deliveries = self.ctx.transfers.deliveries
        assert deliveries is not None
        deliveries.ask(self.party(), msg, session.request_id)

    async def handle_binary(self, data: bytes) -> None:
        """File chunks (channel FILE, in parts); they spend no chat budget:
        the credit window is their flow control."""
        done = self.file_parts.feed(data)
        if done is not None and done[0] == Channel.FILE:
            await self.ctx.transfers.chunk(self.party(), done[1])

    async def _ping(self, msg: Ping) -> None:
        self.send({"t": "pong"})

    # ------------------------------------------------------------ access
    async def apply_access(self, login: authmod.Login) -> tuple[int, str] | None:
        """Every role may use the console; what changes is who the rep is
        and which queues they serve."""
        async with self._queues_lock:
            self.user = login.user
            if not self._welcomed:
                return None  # the welcome reads the queues itself
            queues = await self.ctx.store.queues_of_user(self.user.id)
            now = {q.id for q in queues}
            lost = [q for q in self.queues if q.id not in now]
            gained = [q for q in queues if q.id not in {o.id for o in self.queues}]
            self.queues = queues
            if self.online:
                for q in lost:
                    await self.leave(ch.queue_channel(q.id))
                    await self.ctx.broker.presence_remove(rep_presence_group(q.id), str(self.user.id))
                for q in gained:
                    await self.join(ch.queue_channel(q.id))
                await self._refresh_presence()
            await self._leave_console(lost)
            await self._announce_console()
            await self.ctx.dispatcher.board_changed([q.id for q in lost + gained])
            if lost:
                for req in await self.ctx.store.waiting_requests([q.id for q in lost]):
                    self.send({"t": "alert.withdrawn", "request_id": req.id, "reason": "queue_left", "taken_by": None})
            user = self.user
            self.send(
                {
                    "t": "access",
                    "user": {"id": user.id, "username": user.username, "display_name": user.display_name, "role": user.role},
                    "queues": _queue_views(queues),
                }
            )
            if self.online and gained:
                for alert in await self.ctx.dispatcher.waiting_alerts(gained):
                    self.send({"t": "alert", "request": alert})
            await self._recheck_watching(now)
        return None

    async def _recheck_watching(self, queue_ids: set[int]) -> None:
        """After an access change: stop watching what the user may no longer supervise."""
        for session in list(self.watching.values()):
            req = await self.ctx.store.get_request(session.request_id)
            if req is not None and may_supervise(self.user, queue_id=req.queue_id, user_queue_ids=queue_ids):
                continue
            if session.id in self.handoff.invited:  # a guest by invitation, not by role
                continue
            await self._stop_watching(session)
            await self.supervision.unwatch(self.user, await self.ctx.store.get_session(session.id) or session)
            self.send({"t": "unwatched", "session_id": session.id, "reason": "access"})

    # ------------------------------------------------------------ broker notes
    async def on_control(self, channel: str, note: dict[str, Any]) -> None:
        op = note.get("op")
        if op == "signed_out":
            self.close_soon(codes.CLOSE_AUTH, SIGNED_OUT)
        elif op == "accepted" and channel.startswith("u:"):
            session = await self.ctx.store.get_session(str(note.get("session_id")))
            if session is None or session.id in self.sessions:
                return
            await self._take(session)
        elif op == "ended" and channel.startswith("r:"):
            request_id = channel[2:]
            await self.ctx.transfers.session_ended(request_id, self)
            for s in list(self.sessions.values()):
                if s.request_id == request_id:
                    self._drop(s, note.get("by"))
            for s in list(self.watching.values()):
                if s.request_id == request_id:
                    self.watching.pop(s.id)
                    self.chatting.discard(s.id)
            await self.leave(channel)
        elif op == "taken_over" and channel.startswith("r:"):
            await self._taken_over(note)
        elif op == "resync":
            await self._catch_up()

    async def _take(self, session: Session) -> None:
        """A session this rep now holds: join it, show it, send its chat."""
        self.sessions[session.id] = session
        log.info("the console holds session %s", session.id)
        self.sent.setdefault(session.request_id, SeqsSent())
        # `accepted` before joining: a line the channel delivers meanwhile
        # must find the session open on the page (the backlog has the rest).
        self.send({"t": "accepted", "session": await self.ctx.dispatcher.session_view(session)})
        await self.join(ch.request_channel(session.request_id))
        await self._backlog(session, 0)
        await self.ctx.transfers.replay(self, session.request_id)

    def _drop(self, session: Session, by: object) -> None:
        del self.sessions[session.id]
        self.sent.pop(session.request_id, None)
        if by == "visitor":
            self.wrapup[session.id] = session

    async def _catch_up(self) -> None:
        """Tell the console, from the store, what a broker outage may have
        kept from it: a sign-out (closes 4001), chat lines it did not pass
        on, sessions that ended (``ended``) or that the rep accepted
        elsewhere (``accepted``), and, while online, alerts that came
        (``alert``) or went (``alert.withdrawn``). Repeats are harmless:
        the console drops chat lines by ``seq`` and known alerts by id."""
        if not self._welcomed:
            self._catch_up_later = True
            return
        self._catch_up_later = False
        store = self.ctx.store
        if await self.ctx.accounts.authenticate(self.ws.cookies.get(authmod.COOKIE_NAME)) is None:
            self.close_soon(codes.CLOSE_AUTH, SIGNED_OUT)
            return
        for held in list(self.sessions.values()):
            session = await store.get_session(held.id) or held
            if session.open and session.rep_id != self.user.id:  # taken over meanwhile
                self.sessions.pop(session.id, None)
                by = {"id": session.rep_id, "name": await self.ctx.dispatcher.rep_name(session.rep_id)}
                self.send({"t": "taken_over", "session_id": session.id, "by": by, "from": {"id": self.user.id, "name": self.user.display_name}})
                if session.id not in self.watching:
                    self.sent.pop(session.request_id, None)
                    await self.leave(ch.request_channel(session.request_id))
                continue
            await self._backlog(session)
            if not session.open:
                self._drop(session, session.ended_by)
                ended = {"t": "ended", "session_id": session.id, "by": session.ended_by, "disposition": session.disposition}
                self.send(ended)
                await self.leave(ch.request_channel(session.request_id))
        for session in await store.open_sessions_for_rep(self.user.id):
            if session.id not in self.sessions:
                await self._now_held(session)
        for watched in list(self.watching.values()):
            await self._backlog(watched)
        if self.online:
            await self._announce_presence()
            await self._catch_up_alerts()

    async def _catch_up_alerts(self) -> None:
        store, d = self.ctx.store, self.ctx.dispatcher
        by_id = {q.id: q for q in self.queues}
        waiting = await store.waiting_requests(list(by_id))
        now = {r.id for r in waiting}
        for request_id in sorted(self.alerted - now):
            req = await store.get_request(request_id)
            reason, taken_by = "abandoned", None
            if req is not None and req.status in ("accepted", "closed"):
                reason, taken_by = "taken", {"id": req.rep_id, "name": await d.rep_name(req.rep_id)}
            elif req is not None and req.status == "expired":
                reason = "expired"
            self.send({"t": "alert.withdrawn", "request_id": request_id, "reason": reason, "taken_by": taken_by})
        for req in waiting:
            if req.id not in self.alerted:
                self.send({"t": "alert", "request": d.alert_view(req, by_id[req.queue_id])})
        self.alerted = now

    async def on_close(self) -> None:
        await self.ctx.transfers.sender_gone(self)
        if self._console_beat is not None:
            self._console_beat.cancel()
            await self._leave_console(self.queues)
        for session in list(self.watching.values()):
            await self.supervision.unwatch(self.user, await self.ctx.store.get_session(session.id) or session)
        if self.online:
            # Another console of the same rep may still be online; its heartbeat
            # restores presence within a third of the TTL.
            await self._go_away()
        if self._console_beat is not None:
            await self.ctx.dispatcher.board_changed([q.id for q in self.queues])


def _queue_views(queues: list[Queue]) -> list[dict[str, Any]]:
    return [{"id": q.id, "slug": q.slug, "name": q.name} for q in queues]


async def rep_endpoint(ws: WebSocket) -> None:
    ctx: Context = ws.app.state.ctx
    login = await socket_login(ws, ctx)
    if login is None:
        return
    await ws.accept()
    await RepConnection(ws, ctx, login).serve()
