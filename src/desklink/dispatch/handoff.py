"""Transfer and invite (issue 14, "For reps"): a rep hands a live session to
a colleague or to a queue, or asks a colleague into its chat.

Theory of operation
-------------------
An *offer* is a stored event (``transfer_offered`` or ``invited``) with an
id; it is open until one outcome event names that id: ``transferred`` or
``invite_accepted`` (someone took it), ``handoff_declined`` (the rep it was
offered to said no) or ``handoff_expired`` (nobody took it within
``transfer_timeout_s``); the session ending or a supervisor's take-over
voids every open offer. Every node agrees on what is open by reading the
events, without the broker.

Exactly one outcome is decided by a broker claim on ``handoff:<id>``, like
first-accept-wins for requests: an accept claims it for the rep, a decline
for ``declined``, the timer for ``expired``; the losers change nothing. A
transfer then moves the session with the same conditional update as a
supervisor's take-over (:func:`desklink.dispatch.supervise.move_session`),
which fails if the session ended or changed hands meanwhile.

The news:

* the alert ``handoff.alert`` (with the note and the newest
  ``transfer_history_lines`` chat lines) goes to the rep's user channel, or
  for a transfer to a queue to its queue channel (its online reps; the
  offering rep's console ignores its own);
* ``handoff.withdrawn`` on the same channel once it is decided;
* ``handoff.result`` to the offering rep's consoles;
* the visitor never sees the note: it lives in the event and the alert only.
  A transfer reaches them as the take-over does ("Bob took over the
  conversation."), an invitation as "Bob joined the chat." and the
  watchers list (no silent presence).

The timer runs on the node that stored the offer. If that node stops, the
offer stays open until someone accepts or declines it (a later accept still
needs the session held by the offering rep).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Sequence
from typing import Any, Literal

from desklink.dispatch import channels as ch
from desklink.dispatch.dispatcher import CLAIM_TTL_S, Dispatcher, iso, rep_presence_group
from desklink.dispatch.supervise import CHAT, Supervision, move_session
from desklink.errors import Conflict, Forbidden, NotFound, ProtocolError
from desklink.protocol import system_lines
from desklink.protocol.messages import check_text
from desklink.store.records import Event, Session, User

OfferKind = Literal["transfer", "invite"]
OFFERED = ("transfer_offered", "invited")
OUTCOMES = ("transferred", "invite_accepted", "handoff_declined", "handoff_expired")


#: Events after which no earlier offer can be taken: the session ended, or a
#: supervisor took it from the rep who offered it.
VOIDING = ("ended", "taken_over")


def open_offers(events: Sequence[Event]) -> dict[str, Event]:
    """The offers of a conversation nobody has decided yet, by id."""
    offers: dict[str, Event] = {}
    for e in events:
        if e.kind in OFFERED:
            offers[str(e.data.get("id"))] = e
        elif e.kind in OUTCOMES:
            offers.pop(str(e.data.get("id")), None)
        elif e.kind in VOIDING:
            offers.clear()
    return offers


def in_chat_by_invitation(events: Sequence[Event], user_id: int) -> bool:
    """Did ``user_id`` accept an invitation into this chat and not leave it since?"""
    inside = False
    for e in events:
        if e.actor_id == user_id and e.kind == "invite_accepted":
            inside = True
        elif e.actor_id == user_id and e.kind == "left_chat":
            inside = False
    return inside


def kind_of(offer: Event) -> OfferKind:
    return "invite" if offer.kind == "invited" else "transfer"


class Handoffs:
    """Offers, accepts, declines and the timers of one node."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.d = dispatcher
        self.supervision = Supervision(dispatcher)
        self._timers: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------ who is there
    async def online_rep_ids(self) -> set[int]:
        """Users online (taking requests) in any queue now."""
        ids: set[int] = set()
        for q in await self.d.store.list_queues():
            ids |= {int(m) for m in await self.d.broker.presence_members(rep_presence_group(q.id)) if m.isdigit()}
        return ids

    async def targets(self, user: User) -> dict[str, Any]:
        """The console's dialog: online reps and every queue with how many
        reps are online in it, ``user`` left out of both."""
        online: set[int] = set()
        queues = []
        for q in await self.d.store.list_queues():
            members = {int(m) for m in await self.d.broker.presence_members(rep_presence_group(q.id)) if m.isdigit()}
            online |= members
            queues.append({"id": q.id, "slug": q.slug, "name": q.name, "online": len(members - {user.id})})
        reps = []
        for rep_id in sorted(online - {user.id}):
            rep = await self.d.store.get_user(rep_id)
            if rep is not None and not rep.disabled:
                reps.append({"id": rep.id, "name": rep.display_name, "role": rep.role})
        return {"t": "handoff.targets", "reps": reps, "queues": queues}

    # ------------------------------------------------------------ offering
    async def offer(
        self, user: User, session: Session, kind: OfferKind, *, to_rep_id: int | None, to_queue_id: int | None, note: str
    ) -> dict[str, Any]:
        """Store an offer of ``session`` (held by ``user``) and alert whom it
        goes to; returns the alert. Refuses a session not held by ``user``
        (``forbidden``), an ended one (``conflict_closed``), yourself, an
        offline rep or an empty queue, or a second open offer (``bad_state``),
        an unknown rep or queue (``not_found``)."""
        if session.rep_id != user.id:
            raise Forbidden("you do not hold that session")
        if not session.open:
            raise Conflict("the session has ended", code="conflict_closed")
        note = check_text("note", note, self.d.settings.max_note_chars, required=False)
        if (to_rep_id is None) == (to_queue_id is None):
            raise ProtocolError("name either a rep (to_rep_id) or a queue (to_queue_id)", code="bad_message")
        events = await self.d.store.events_for(session.request_id)
        if open_offers(events):
            raise Conflict("a transfer or invitation of this session is already waiting for an answer", code="bad_state")
        target: dict[str, Any]
        if to_rep_id is not None:
            if to_rep_id == user.id:
                raise Conflict("you cannot hand a session to yourself", code="bad_state")
            rep = await self.d.store.get_user(to_rep_id)
            if rep is None or rep.disabled:
                raise NotFound("no such rep")
            if to_rep_id not in await self.online_rep_ids():
                raise Conflict(f"{rep.display_name} is not online", code="bad_state")
            if kind == "invite" and in_chat_by_invitation(events, to_rep_id):
                raise Conflict(f"{rep.display_name} is already in the chat", code="bad_state")
            target = {"to_rep_id": rep.id, "to_name": rep.display_name}
            channel = ch.user_channel(rep.id)
        else:
            assert to_queue_id is not None
            if kind == "invite":
                raise ProtocolError("an invitation goes to a rep", code="bad_message")
            queue = await self.d.store.get_queue(to_queue_id)
            if queue is None:
                raise NotFound("no such queue")
            members = await self.d.broker.presence_members(rep_presence_group(queue.id))
            if not set(members) - {str(user.id)}:
                raise Conflict(f"nobody else is online in {queue.name}", code="bad_state")
            target = {"to_queue_id": queue.id, "to_name": queue.name}
            channel = ch.queue_channel(queue.id)
        offer_id = secrets.token_urlsafe(9)
        data = {"id": offer_id, "kind": kind, **target, "note": note}
        await self.d.store.add_event(
            request_id=session.request_id, kind="invited" if kind == "invite" else "transfer_offered",
            actor="rep", actor_id=user.id, data=data, now=self.d.now(),
        )
        view = await self.d.session_view(session)
        history = (await self.d.store.all_messages(session.request_id))[-self.d.settings.transfer_history_lines :]
        alert = {
            "t": "handoff.alert",
            "id": offer_id,
            "kind": kind,
            "session": view,
            "from": {"id": user.id, "name": user.display_name},
            "note": note,
            **target,
            "history": [self.d.message_view(m, session.id) for m in history],
            "expires_in_s": self.d.settings.transfer_timeout_s,
            "ts": iso(self.d.now()),
        }
        await self.d.publish(channel, "R", alert)
        timer = asyncio.create_task(self._expire_later(session.id, offer_id), name=f"desklink-handoff-{offer_id}")
        self._timers.add(timer)
        timer.add_done_callback(self._timers.discard)
        return alert

    async def _expire_later(self, session_id: str, offer_id: str) -> None:
        await asyncio.sleep(self.d.settings.transfer_timeout_s)
        await self.expire(session_id, offer_id)

    def close(self) -> None:
        """Stop this node's timers (shutdown)."""
        for timer in self._timers:
            timer.cancel()

    # ------------------------------------------------------------ deciding
    async def _open_offer(self, session_id: str, offer_id: str) -> tuple[Session, Event]:
        session = await self.d.store.get_session(session_id)
        if session is None:
            raise NotFound("no such session")
        offer = open_offers(await self.d.store.events_for(session.request_id)).get(offer_id)
        if offer is None:
            raise Conflict("this transfer or invitation is no longer open", code="conflict_closed")
        return session, offer

    async def _claim(self, offer: Event, owner: str) -> None:
        """Decide the offer for ``owner``, or raise ``Conflict`` naming who did."""
        holder = await self.d.broker.claim(f"handoff:{offer.data.get('id')}", owner, CLAIM_TTL_S)
        if holder == owner:
            return
        if holder.isdigit():
            raise Conflict(f"already taken by {await self.d.rep_name(int(holder))}", code="conflict_taken")
        raise Conflict(f"this transfer or invitation was {holder}", code="conflict_closed")

    def _may_take(self, user: User, offer: Event, queue_ids: frozenset[int]) -> bool:
        if offer.data.get("to_rep_id") is not None:
            return offer.data.get("to_rep_id") == user.id
        return offer.data.get("to_queue_id") in queue_ids and offer.actor_id != user.id

    async def accept(self, user: User, session_id: str, offer_id: str, queue_ids: frozenset[int]) -> tuple[Session, OfferKind]:
        """Take an offer made to ``user`` (or to a queue they are online in:
        ``queue_ids``). A transfer moves the session to them; an invitation
        lets them into its chat (the adapter opens it as watched and joined)."""
        session, offer = await self._open_offer(session_id, offer_id)
        if not self._may_take(user, offer, queue_ids):
            raise Forbidden("this was not offered to you")
        if not session.open:
            raise Conflict("the session has ended", code="conflict_closed")
        if session.rep_id != offer.actor_id:
            raise Conflict("the session changed hands since it was offered", code="conflict_closed")
        await self._claim(offer, str(user.id))
        kind = kind_of(offer)
        if kind == "transfer":
            try:
                session = await move_session(
                    self.d, session, user, kind="transferred", actor="rep", data={"id": offer_id, "note": offer.data.get("note", "")}
                )
            except Conflict:  # ended or taken over meanwhile: the offer may still lapse
                await self.d.broker.release(f"handoff:{offer_id}", str(user.id))
                raise
        else:
            await self.d.store.add_event(
                request_id=session.request_id, kind="invite_accepted", actor="watcher", actor_id=user.id,
                data={"id": offer_id, "name": user.display_name}, now=self.d.now(),
            )
            await self.supervision.watch(user, session)
            req = await self.d.store.get_request(session.request_id)
            assert req is not None
            events = await self.d.store.events_for(session.request_id)
            await self.d.post_system(
                req, session.id, system_lines.text("invited", name=user.display_name), f"invited:{user.id}:{len(events)}"
            )
        await self._decided(offer, session, "accepted", user)
        return session, kind

    async def decline(self, user: User, session_id: str, offer_id: str, queue_ids: frozenset[int]) -> bool:
        """Say no to an offer. Made to ``user`` alone, it ends (the offering
        rep keeps the session and is told); to a queue, only this rep's alert
        goes (others may still take it). Returns whether the offer ended."""
        session, offer = await self._open_offer(session_id, offer_id)
        if not self._may_take(user, offer, queue_ids):
            raise Forbidden("this was not offered to you")
        if offer.data.get("to_rep_id") is None:
            return False
        await self._claim(offer, "declined")
        await self.d.store.add_event(
            request_id=session.request_id, kind="handoff_declined", actor="watcher", actor_id=user.id,
            data={"id": offer_id, "kind": kind_of(offer), "name": user.display_name}, now=self.d.now(),
        )
        await self._decided(offer, session, "declined", user)
        return True

    async def expire(self, session_id: str, offer_id: str) -> bool:
        """Lapse an offer nobody took (the timer's end); False if it was decided already."""
        try:
            session, offer = await self._open_offer(session_id, offer_id)
            await self._claim(offer, "expired")
        except (Conflict, NotFound):
            return False
        await self.d.store.add_event(
            request_id=session.request_id, kind="handoff_expired", actor="system",
            data={"id": offer_id, "kind": kind_of(offer)}, now=self.d.now(),
        )
        await self._decided(offer, session, "expired", None)
        return True

    async def _decided(self, offer: Event, session: Session, outcome: str, by: User | None) -> None:
        offer_id = str(offer.data.get("id"))
        to_rep = offer.data.get("to_rep_id")
        channel = ch.user_channel(int(to_rep)) if to_rep is not None else ch.queue_channel(int(offer.data["to_queue_id"]))
        who = {"id": by.id, "name": by.display_name} if by is not None else None
        reason = "taken" if outcome == "accepted" else outcome
        withdrawn = {"t": "handoff.withdrawn", "id": offer_id, "session_id": session.id, "reason": reason, "taken_by": who}
        await self.d.publish(channel, "R", withdrawn)
        if offer.actor_id is not None:
            result = {
                "t": "handoff.result", "id": offer_id, "kind": kind_of(offer), "session_id": session.id,
                "outcome": outcome, "by": who, "to_name": offer.data.get("to_name", ""),
            }
            await self.d.publish(ch.user_channel(offer.actor_id), "R", result)

    # ------------------------------------------------------------ leaving
    async def leave_chat(self, user: User, session: Session) -> None:
        """An invited rep leaves: logged, the visitor reads it, the watchers list shrinks."""
        await self.d.store.add_event(
            request_id=session.request_id, kind="left_chat", actor="watcher", actor_id=user.id,
            data={"name": user.display_name}, now=self.d.now(),
        )
        await self.supervision.unwatch(user, session)
        if session.open:
            req = await self.d.store.get_request(session.request_id)
            assert req is not None
            events = await self.d.store.events_for(session.request_id)
            await self.d.post_system(
                req, session.id, system_lines.text("left_chat", name=user.display_name), f"left:{user.id}:{len(events)}"
            )


__all__ = ["CHAT", "Handoffs", "in_chat_by_invitation", "open_offers"]
