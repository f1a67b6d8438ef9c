"""The request queue: submit, broadcast, first-accept-wins, chat, end, sweep.

Theory of operation
-------------------
Everything that must survive is written to the store first; the broker only
carries the news to whichever node holds the sockets. A submit stores the
request and publishes one pre-encoded ``alert`` on the queue's channel; each
node forwards those bytes to its online reps of that queue, so fan-out costs
one publish plus one socket write per rep and nothing is encoded twice.

Accepting is decided twice, cheaply then surely: a broker claim turns away
the losers of a race without touching the database, and the store's
conditional update (``waiting`` -> ``accepted``) is the single source of
truth. The winner is told through its user channel; every other rep gets
``alert.withdrawn`` on the queue channel.

The dispatcher knows nothing of sockets or HTTP; adapters call it and route
what it publishes.

Broker outages
--------------
Once something is stored it has happened: nothing after the store write may
fail the call because the broker is down. News goes out through ``publish``
(on a node, the hub's, which hands news the broker does not take to the
node's own sockets and has every other socket on the channel catch up from
the store once the broker is back: see ``server/outage.py``). Presence
writes after a store write are best effort (heartbeats renew them). What
needs the broker *before* anything is stored (the accept claim) fails with
``unavailable`` and changes nothing. Abandoning absent visitors needs
presence that can be trusted: :meth:`Dispatcher.sweep` skips it while the
node knows the broker was unreachable and until presence has been kept for a
full ``visitor_grace_s`` since its last gap.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from desklink.broker.base import BROKER_ERRORS, Broker
from desklink.config import Settings
from desklink.dispatch import channels as ch
from desklink.dispatch.wait import expected_wait
from desklink.errors import Conflict, Forbidden, LimitExceeded, NotFound, ProtocolError
from desklink.protocol.events import Actor, EventKind
from desklink.protocol import joincode, system_lines
from desklink.protocol.lifecycle import CHAT_ALLOWED
from desklink.protocol.messages import Sender, check_text
from desklink.protocol.visitor_context import ContextBody, ContextLimits, check_context
from desklink.store import Store
from desklink.store.records import Message, Queue, Request, Session, User

#: Bits of randomness in a visitor token (the architecture asks for >= 128).
VISITOR_TOKEN_BYTES = 24
#: A broker claim outlives any accept's database write by far.
CLAIM_TTL_S = 30.0
#: Request -> queue entries a node remembers (a cleared cache only costs reads).
QUEUE_CACHE_SIZE = 100_000
#: Presence group of connected visitors (for abandonment).
VISITOR_PRESENCE = "visitors"


log = logging.getLogger("desklink.dispatch")

Publish = Callable[[str, bytes], Awaitable[object]]


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def iso(dt: datetime | None) -> str | None:
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z") if dt else None


def rep_presence_group(queue_id: int) -> str:
    """Reps online (taking requests) in the queue."""
    return f"reps:{queue_id}"


def console_presence_group(queue_id: int) -> str:
    """Reps of the queue with a console connected, online or away (the live board)."""
    return f"consoles:{queue_id}"


class Dispatcher:
    def __init__(
        self,
        store: Store,
        broker: Broker,
        settings: Settings,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        *,
        publish: Publish | None = None,
        on_broker_error: Callable[[str, BaseException], None] | None = None,
        agent_wheel: Callable[[], str | None] | None = None,
    ) -> None:
        """``publish`` carries the news (default: the broker's own, which
        raises while it is down; a node passes its hub's, which does not).
        ``on_broker_error`` hears of every best-effort broker call that
        failed (a node passes its watch's ``report``). ``agent_wheel`` names
        the agent wheel the node serves on /download, if any (for the offer's
        install command)."""
        self.store = store
        self._agent_wheel = agent_wheel or (lambda: None)
        self.broker = broker
        self.settings = settings
        self.now = clock
        self._publish = publish or broker.publish
        #: On a web node (role ``web``): the relay node and agent token for a
        #: session (server/relay_handout.py), put in every ``screen.offer``.
        self.relay_ticket: Callable[[str], Awaitable[tuple[str, str]]] | None = None
        self._broker_error = on_broker_error or (lambda what, exc: log.warning("%s failed: %s", what, exc))
        self._names: dict[int, str] = {}
        #: request id -> queue id: a request never changes queue, so losers of
        #: an accept race need no database read at all.
        self._queue_of: dict[str, int] = {}
        #: queue id -> online reps last counted, shown while presence cannot be read.
        self._online: dict[int, int] = {}
        #: Sweeper rounds, and those that checked for absent visitors (metrics).
        self.sweeps = 0
        self.presence_sweeps = 0

    # ------------------------------------------------------------------ views
    async def rep_name(self, user_id: int | None) -> str:
        if user_id is None:
            return ""
        name = self._names.get(user_id)
        if name is None:
            user = await self.store.get_user(user_id)
            name = user.display_name if user else "a colleague"
            self._names[user_id] = name
        return name

    def forget_name(self, user_id: int) -> None:
        self._names.pop(user_id, None)

    async def publish(self, channel: str, target: ch.Target, message: dict[str, Any]) -> None:
        """Send ``message`` to the sockets ``target`` names on ``channel``."""
        await self._publish(channel, ch.envelope(target, message))

    async def sign_out(self, user_id: int) -> None:
        """Close the user's open sockets on every node (consoles, viewers):
        the account was disabled or its password changed, and its login
        sessions are already deleted, so a reconnect asks for a login."""
        await self._publish(ch.user_channel(user_id), ch.envelope("X", {"op": "signed_out"}))

    @staticmethod
    def alert_view(req: Request, queue: Queue) -> dict[str, Any]:
        return {
            "id": req.id,
            "queue": {"id": queue.id, "slug": queue.slug, "name": queue.name},
            "name": req.visitor_name,
            "email": req.visitor_email,
            "client": req.visitor_client,
            "context": req.visitor_context,
            "question": req.question,
            "created_at": iso(req.created_at),
        }

    @staticmethod
    def message_view(msg: Message, session_id: str) -> dict[str, Any]:
        view = {
            "t": "chat",
            "session_id": session_id,
            "request_id": msg.request_id,
            "seq": msg.seq,
            "cid": msg.client_id,
            "from": msg.sender,
            "name": msg.sender_name,
            "text": msg.body,
            "ts": iso(msg.created_at),
        }
        # A line DeskLink wrote: its code and vars, so the help box can say it in the visitor's language.
        known = system_lines.recognise(msg.client_id, msg.body) if msg.sender == "system" else None
        if known is not None:
            view["code"], view["vars"] = known
        return view

    async def session_view(self, session: Session, req: Request | None = None) -> dict[str, Any]:
        req = req or await self.store.get_request(session.request_id)
        assert req is not None
        return self.session_view_of(session, req, await self.store.get_queue(req.queue_id))

    @staticmethod
    def session_view_of(session: Session, req: Request, queue: Queue | None) -> dict[str, Any]:
        return {
            "id": session.id,
            "request_id": req.id,
            "visitor": {"name": req.visitor_name, "email": req.visitor_email, "client": req.visitor_client,
                        "context": req.visitor_context},
            "question": req.question,
            "queue": {"id": queue.id, "slug": queue.slug, "name": queue.name} if queue else None,
            "started_at": iso(session.started_at),
            "ended_at": iso(session.ended_at),
            "disposition": session.disposition,
            "rating": (
                {"value": session.rating, "comment": session.rating_comment, "at": iso(session.rated_at)}
                if session.rating is not None
                else None
            ),
        }

    async def online_reps(self, queue_id: int) -> int:
        """Reps online in the queue; while presence cannot be read, the
        count this node saw last (0 if it never saw one)."""
        try:
            online = len(await self.broker.presence_members(rep_presence_group(queue_id)))
        except BROKER_ERRORS as exc:
            self._broker_error("counting online reps", exc)
            return self._online.get(queue_id, 0)
        if len(self._online) >= QUEUE_CACHE_SIZE:
            self._online.clear()
        self._online[queue_id] = online
        return online

    async def visitor_present(self, request_id: str) -> None:
        """Mark a waiting visitor present for ``visitor_grace_s`` (best
        effort: the next heartbeat tries again)."""
        try:
            await self.broker.presence_set(VISITOR_PRESENCE, request_id, self.settings.visitor_grace_s)
        except BROKER_ERRORS as exc:
            self._broker_error("marking a visitor present", exc)

    async def position(self, req: Request) -> dict[str, Any]:
        position = await self.store.queue_position(req.id)
        online = await self.online_reps(req.queue_id)
        waits = await self.store.recent_accept_waits(req.queue_id, since=self.now() - timedelta(days=1))
        return {"position": position, "expected_wait_s": expected_wait(position, waits, online), "online_reps": online}

    async def waiting_alerts(self, queues: Sequence[Queue]) -> list[dict[str, Any]]:
        by_id = {q.id: q for q in queues}
        waiting = await self.store.waiting_requests(list(by_id))
        return [self.alert_view(r, by_id[r.queue_id]) for r in waiting]

    async def board_changed(self, queue_ids: Sequence[int]) -> None:
        """Tell the live boards of the queues to recompute. Best effort: a
        board also refreshes every ``board_refresh_s``, so a note the broker
        did not take is late, never lost for good."""
        for queue_id in queue_ids:
            try:
                await self._publish(ch.board_channel(queue_id), ch.BOARD_NOTE)
            except BROKER_ERRORS as exc:
                self._broker_error("telling the live board", exc)

    async def board_changed_for(self, request_id: str) -> None:
        """:meth:`board_changed` for the queue of ``request_id``."""
        queue_id = self._queue_of.get(request_id)
        if queue_id is None:
            req = await self.store.get_request(request_id)
            if req is None:
                return
            queue_id = self._remember_queue(req)
        await self.board_changed([queue_id])

    # ----------------------------------------------------------------- submit
    async def submit(
        self,
        *,
        queue: Queue,
        name: str,
        email: str,
        question: str,
        ip: str,
        origin: str,
        client: str = "",
        context: ContextBody | None = None,
        prechat: list[dict[str, str]] | None = None,
    ) -> tuple[Request, str]:
        """Store a new request and alert every online rep of its queue.
        Returns the request and the visitor's token (shown once, stored hashed).
        ``prechat``: the answers to the queue's pre-chat fields, already
        checked (protocol/branding.py), kept in the visitor context."""
        s = self.settings
        name = check_text("name", name, s.max_name_chars)
        email = check_text("email", email, s.max_email_chars, required=False)
        question = check_text("question", question, s.max_question_chars)
        client = check_text("client", client, s.max_client_chars, required=False)
        visitor_context = check_context(
            context,
            ContextLimits(
                fields=s.max_context_fields,
                key_chars=s.max_context_key_chars,
                value_chars=s.max_context_value_chars,
                url_chars=s.max_context_url_chars,
                languages=s.max_context_languages,
            ),
        )
        if prechat:
            visitor_context["prechat"] = prechat
        if email and ("@" not in email or any(c.isspace() for c in email)):
            raise ProtocolError("email does not look like an e-mail address")
        open_now = await self.store.count_open_requests_by_ip(ip)
        if open_now >= s.max_open_requests_per_ip:
            raise LimitExceeded(
                f"this address already has {open_now} open requests (limit {s.max_open_requests_per_ip})",
                code="too_many_requests",
            )
        token = secrets.token_urlsafe(VISITOR_TOKEN_BYTES)
        now = self.now()
        req = await self.store.create_request(
            queue_id=queue.id,
            visitor_name=name,
            visitor_email=email,
            visitor_client=client,
            visitor_context=visitor_context,
            question=question,
            token_hash=hash_token(token),
            ip=ip,
            origin=origin,
            now=now,
        )
        await self.store.add_event(
            request_id=req.id, kind="submitted", actor="visitor", data={"queue": queue.slug, "origin": origin}, now=now
        )
        await self.visitor_present(req.id)
        self._remember_queue(req)
        await self._publish(
            ch.queue_channel(queue.id), ch.envelope("R", {"t": "alert", "request": self.alert_view(req, queue)})
        )
        await self._queue_changed(queue.id)
        return req, token

    async def _queue_changed(self, queue_id: int) -> None:
        await self._publish(ch.position_channel(queue_id), ch.envelope("X", {"op": "positions"}))

    async def _withdraw(self, req: Request, reason: str, taken_by: dict[str, Any] | None = None) -> None:
        msg = {"t": "alert.withdrawn", "request_id": req.id, "reason": reason, "taken_by": taken_by}
        await self._publish(ch.queue_channel(req.queue_id), ch.envelope("R", msg))
        await self._queue_changed(req.queue_id)

    # ----------------------------------------------------------------- accept
    async def accept(self, rep: User, request_id: str, rep_queue_ids: frozenset[int]) -> Session:
        """First accept wins. Raises ``Conflict`` (``conflict_taken`` with the
        winner's name, or ``conflict_closed``) for everyone else.

        ``rep_queue_ids`` are the queues the rep's console joined. The broker
        claim comes before any database work, so of a hundred reps accepting
        at once, only the winner touches the database."""
        queue_id = self._queue_of.get(request_id)
        req = None
        if queue_id is None:
            req = await self.store.get_request(request_id)
            if req is None:
                raise NotFound("no such request")
            queue_id = self._remember_queue(req)
        if queue_id not in rep_queue_ids:
            raise Forbidden("you are not a member of this request's queue")
        owner = await self.broker.claim(f"claim:{request_id}", str(rep.id), CLAIM_TTL_S)
        if owner != str(rep.id):
            raise Conflict(f"already taken by {await self.rep_name(int(owner))}", code="conflict_taken")
        req = req or await self.store.get_request(request_id)
        if req is None:
            raise NotFound("no such request")
        if req.status != "waiting":
            raise await self._lost(req)
        now = self.now()
        session = await self.store.accept_request(request_id, rep.id, now)
        if session is None:
            raise await self._lost(await self.store.get_request(request_id) or req)
        await self.store.add_event(request_id=req.id, kind="accepted", actor="rep", actor_id=rep.id, data={}, now=now)
        taken_by = {"id": rep.id, "name": rep.display_name}
        await self._withdraw(req, "taken", taken_by)
        await self._publish(ch.request_channel(req.id), ch.envelope("V", {"t": "joined", "rep": {"name": rep.display_name}}))
        await self._publish(ch.request_channel(req.id), ch.envelope("X", {"op": "accepted", "session_id": session.id}))
        # Stored before the rep's consoles hear of the session, so they get it
        # once, in the backlog they read after joining the conversation.
        await self.post_system(req, session.id, system_lines.text("joined", name=rep.display_name), f"joined:{rep.id}")
        await self._publish(ch.user_channel(rep.id), ch.envelope("X", {"op": "accepted", "session_id": session.id}))
        return session

    def _remember_queue(self, req: Request) -> int:
        if len(self._queue_of) >= QUEUE_CACHE_SIZE:
            self._queue_of.clear()
        self._queue_of[req.id] = req.queue_id
        return req.queue_id

    async def _lost(self, req: Request) -> Conflict:
        if req.status == "accepted" and req.rep_id is not None:
            return Conflict(f"already taken by {await self.rep_name(req.rep_id)}", code="conflict_taken")
        return Conflict(f"the request is {req.status}", code="conflict_closed")

    # ------------------------------------------------------------------ close
    async def close_waiting(self, req: Request, event: str, actor: Actor) -> bool:
        """Cancel, abandon or expire a waiting request; False if it was not waiting."""
        now = self.now()
        closed = await self.store.close_request(req.id, event, now)  # type: ignore[arg-type]
        if closed is None:
            return False
        await self._announce_closed(closed, actor)
        return True

    async def _announce_closed(self, req: Request, actor: Actor) -> None:
        kind: EventKind = "expired" if req.status == "expired" else "abandoned"
        await self.store.add_event(request_id=req.id, kind=kind, actor=actor, data={}, now=self.now())
        try:
            await self.broker.presence_remove(VISITOR_PRESENCE, req.id)
        except BROKER_ERRORS as exc:  # it expires by itself; only waiting requests look at it
            self._broker_error("removing a visitor's presence", exc)
        await self._withdraw(req, req.status)
        await self._publish(ch.request_channel(req.id), ch.envelope("V", {"t": "closed", "status": req.status}))
        await self._publish(ch.request_channel(req.id), ch.envelope("X", {"op": "ended"}))

    async def end(
        self, session: Session, *, by: str, actor: Actor, disposition: str | None, note: str, actor_id: int | None = None
    ) -> Session:
        note = check_text("note", note, self.settings.max_note_chars, required=False)
        ended = await self.store.end_session(session.id, ended_by=by, disposition=disposition, note=note, now=self.now())
        if ended is None:
            raise Conflict("the session has already ended", code="conflict_closed")
        await self.store.add_event(
            request_id=session.request_id,
            kind="ended",
            actor=actor,
            actor_id=actor_id,
            data={"by": by, "disposition": disposition},
            now=self.now(),
        )
        channel = ch.request_channel(session.request_id)
        await self._publish(channel, ch.envelope("V", {"t": "ended", "session_id": session.id, "by": by}))
        await self._publish(
            channel, ch.envelope("R", {"t": "ended", "session_id": session.id, "by": by, "disposition": disposition})
        )
        await self._publish(channel, ch.envelope("X", {"op": "ended", "by": by}))
        await self.board_changed_for(session.request_id)
        return ended

    async def wrap_up(
        self, session: Session, *, actor: Actor, disposition: str, note: str, actor_id: int | None = None
    ) -> Session:
        """Record the disposition of a session the visitor ended first."""
        note = check_text("note", note, self.settings.max_note_chars, required=False)
        done = await self.store.wrap_up_session(session.id, disposition=disposition, note=note)
        if done is None:
            raise Conflict("the session already has a disposition", code="conflict_closed")
        await self.store.add_event(
            request_id=session.request_id,
            kind="wrapped_up",
            actor=actor,
            actor_id=actor_id,
            data={"disposition": disposition},
            now=self.now(),
        )
        return done

    # ------------------------------------------------------------------- chat
    async def chat(
        self, req: Request, *, sender: Sender, name: str, user_id: int | None, cid: str, text: str, session_id: str | None = None
    ) -> tuple[Message, bool]:
        """Store a chat line (idempotent per ``cid``) and publish it, also
        when the ``cid`` was stored before: a client resends only what it got
        no echo for, so the first publish may have been lost (clients drop
        repeats by ``seq``). ``req`` may be stale: the store checks the
        lifecycle atomically, so a closed conversation is refused whatever
        the caller last saw."""
        if req.status not in CHAT_ALLOWED:
            raise Conflict(f"the conversation is {req.status}", code="conflict_closed")
        text = check_text("message", text, self.settings.max_chat_chars)
        msg, created = await self.store.add_message(
            request_id=req.id, client_id=cid, sender=sender, sender_name=name, user_id=user_id, body=text, now=self.now()
        )
        if session_id is None:
            session = await self.store.get_session_by_request(req.id)
            session_id = session.id if session else ""
        view = self.message_view(msg, session_id)
        await self._publish(ch.request_channel(req.id), ch.envelope("A", view))
        return msg, created

    async def post_system(self, req: Request, session_id: str, text: str, cid: str) -> None:
        msg, created = await self.store.add_message(
            request_id=req.id, client_id=cid, sender="system", sender_name="", user_id=None, body=text, now=self.now()
        )
        if created:
            await self._publish(ch.request_channel(req.id), ch.envelope("A", self.message_view(msg, session_id)))

    async def typing(self, req: Request, session_id: str, sender: str, on: bool) -> None:
        target = "R" if sender == "visitor" else "V"
        msg = {"t": "typing", "session_id": session_id, "from": sender, "on": on}
        await self._publish(ch.request_channel(req.id), ch.envelope(target, msg))  # type: ignore[arg-type]

    # ------------------------------------------------------------ screen
    async def request_screen(self, session: Session, rep: User, server_url: str) -> dict[str, Any]:
        """Make a join code for the session and show the visitor how to run
        the agent. Returns the ``screen.offer`` sent to both sides."""
        if not session.open:
            raise Conflict("the session has ended", code="conflict_closed")
        req = await self.store.get_request(session.request_id)
        assert req is not None
        now = self.now()
        offer, code = await self._offer(session, server_url, now)
        await self.store.add_event(
            request_id=req.id, kind="screen_requested", actor="rep", actor_id=rep.id, data={}, now=now
        )
        await self._publish(ch.request_channel(req.id), ch.envelope("A", offer))
        await self.post_system(
            req,
            session.id,
            system_lines.text(
                "screen_offer", name=rep.display_name, code=code.spoken, minutes=int(self.settings.join_code_ttl_s // 60)
            ),
            f"screen-offer:{code.slot}:{int(now.timestamp())}",
        )
        return offer

    async def renew_screen_code(self, req: Request, server_url: str) -> dict[str, Any]:
        """A fresh join code for the visitor, without the rep: while the
        rep's screen request is outstanding (asked within ``join_code_ttl_s``
        and no agent joined since), at most ``join_code_renewals`` times per
        request. The old code stops working. Returns the new ``screen.offer``,
        which also goes to both sides."""
        s = self.settings
        session = await self.store.get_session_by_request(req.id)
        if session is None or not session.open:
            raise Conflict("there is no open conversation with a rep", code="conflict_closed")
        now = self.now()
        asked: datetime | None = None
        for event in await self.store.events_for(req.id):
            if event.kind == "screen_requested":
                asked = event.created_at
            elif event.kind in ("agent_joined", "agent_resumed"):
                asked = None
        if asked is None or now - asked > timedelta(seconds=s.join_code_ttl_s):
            raise Conflict("no screen-sharing request is waiting; ask the rep to request your screen again")
        key = f"join:renew:{session.id}:{int(asked.timestamp() * 1000)}"
        if await self.broker.hit(key, s.join_code_ttl_s) > s.join_code_renewals:
            raise LimitExceeded(
                f"you have had {s.join_code_renewals} new codes for this request; ask the rep to request your screen again",
                code="too_many_requests",
            )
        offer, code = await self._offer(session, server_url, now)
        await self.store.add_event(request_id=req.id, kind="screen_code_renewed", actor="visitor", data={}, now=now)
        await self._publish(ch.request_channel(req.id), ch.envelope("A", offer))
        await self.post_system(
            req, session.id, system_lines.text("screen_renew", code=code.spoken),
            f"screen-renew:{code.slot}:{int(now.timestamp() * 1000)}",
        )
        return offer

    async def _offer(self, session: Session, server_url: str, now: datetime) -> tuple[dict[str, Any], joincode.JoinCode]:
        """A new join code for the session (replacing its older one) and the
        ``screen.offer`` that shows it."""
        secret = joincode.new_secret()
        expires = now + timedelta(seconds=self.settings.join_code_ttl_s)
        slot = await self.store.create_join_code(
            session_id=session.id, secret_hash=joincode.secret_hash(secret), now=now, expires_at=expires
        )
        code = joincode.make(slot, secret)
        offer: dict[str, Any] = {
            "t": "screen.offer",
            "session_id": session.id,
            "code": code.spoken,
            "expires_at": iso(expires),
            # Only what this server really serves: its own agent wheel, if built.
            "install": f"pip install {server_url}/download/{wheel}" if (wheel := self._agent_wheel()) else None,
            "command": f"desklink agent --server {server_url} --code {code.digits}",
            # The server's own agent download page, the code carried along.
            "download": f"{server_url}/download?code={code.digits}",
        }
        if self.relay_ticket is not None:
            # The session's relay node and the agent's token for it
            # (docs/protocol.md, *Relay nodes and relay tokens*).
            # The command stays on this server: the agent asks it for its
            # ticket (POST /api/relay/ticket) and again if its relay dies.
            relay_url, token = await self.relay_ticket(session.id)
            offer["relay"] = {"url": relay_url, "token": token}
        # The queue's recording policy, for the help box's consent wording
        # (left out under "never", as on the agent's welcome).
        recording = await self.store.recording_policy_of_request(session.request_id)
        if recording != "never":
            offer["recording"] = recording
        return offer, code

    # ------------------------------------------------------------------ sweep
    async def sweep(self, *, broker_ok: bool = True) -> int:
        """Expire requests nobody accepted in time and abandon waiting ones
        whose visitor has been gone past the grace period. Safe on every node
        at once: each transition is a conditional update, announced only by
        the node that made it. Returns how many requests it closed.

        Absence is judged only when presence can be trusted: ``broker_ok``
        (the node has not seen the broker fail since it last recovered) and
        presence kept for a full ``visitor_grace_s`` since its last gap
        (a broker restart that lost it, or a node that could not renew it),
        so every connected visitor's heartbeat had time to refill it."""
        s = self.settings
        now = self.now()
        count = 0
        self.sweeps += 1
        for req in await self.store.expire_waiting(now - timedelta(seconds=s.request_expiry_s), now):
            await self._announce_closed(req, "system")
            count += 1
        if not broker_ok or await self.broker.presence_age() < s.visitor_grace_s:
            return count
        present = set(await self.broker.presence_members(VISITOR_PRESENCE))
        cutoff = now - timedelta(seconds=s.visitor_grace_s)
        queues = await self.store.list_queues()
        for req in await self.store.waiting_requests([q.id for q in queues]):
            if req.created_at < cutoff and req.id not in present:
                if await self.close_waiting(req, "abandon", "system"):
                    count += 1
        self.presence_sweeps += 1
        return count
