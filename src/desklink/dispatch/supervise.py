"""Supervisors in a live conversation: watch, whisper, join the chat, take over.

Like the rest of the dispatcher this knows nothing of sockets: the console's
adapter (``server/ws_rep.py``) decides who may
(:func:`desklink.server.session_access.may_supervise`) and
calls these; they store an event first, then publish the news on the
conversation's channel (``r:<request_id>``):

* who watches the chat goes to everyone (target ``A``) as ``watchers``, so
  the help box and the rep's console both name them;
* a whisper goes to rep sockets only (target ``R``): the rep holding the
  session and every watcher. It is stored as a ``whispered`` event, never as
  a chat message, so no visitor history, catch-up or transcript can hold it;
* joining the chat and taking over are announced as system chat lines (the
  visitor reads "Sue (supervisor) joined the chat"), and a take-over also
  as ``taken_over`` (target ``A``) and a control note ``X`` that the old
  rep's consoles and viewers act on.

Who watches the chat is folded from the stored ``watcher_joined`` and
``watcher_left`` events with ``{"what": "chat"}`` (screen watching logs the
same kinds without ``what``), so every node agrees without the broker.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from desklink.dispatch import channels as ch
from desklink.dispatch.dispatcher import Dispatcher, iso
from desklink.errors import Conflict
from desklink.protocol import system_lines
from desklink.protocol.events import Actor
from desklink.protocol.messages import check_text
from desklink.store.records import Event, Request, Session, User

CHAT = "chat"


def chat_watchers(events: Sequence[Event]) -> list[dict[str, Any]]:
    """Who watches the chat now, from the events in order: each person once,
    by the order they came, as ``{"id", "name", "role"}``."""
    seen: dict[int, dict[str, Any]] = {}
    for e in events:
        if e.data.get("what") != CHAT or e.actor_id is None:
            continue
        if e.kind == "watcher_joined":
            seen.setdefault(e.actor_id, {"id": e.actor_id, "name": e.data.get("name", ""), "role": e.data.get("role", "")})
        elif e.kind == "watcher_left":
            seen.pop(e.actor_id, None)
    return list(seen.values())


def whispers(events: Sequence[Event], session_id: str) -> list[dict[str, Any]]:
    """The stored whispers of a conversation, as the console shows them."""
    return [whisper_view(e, session_id) for e in events if e.kind == "whispered"]


def whisper_view(e: Event, session_id: str) -> dict[str, Any]:
    return {
        "t": "whisper",
        "session_id": session_id,
        "request_id": e.request_id,
        "cid": e.data.get("cid", ""),
        "from": {"id": e.actor_id, "name": e.data.get("name", "")},
        "text": e.data.get("text", ""),
        "ts": iso(e.created_at),
    }


class Supervision:
    """The four acts, over a :class:`Dispatcher`'s store and publish."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.d = dispatcher

    async def _request(self, session: Session) -> Request:
        req = await self.d.store.get_request(session.request_id)
        assert req is not None
        return req

    async def watchers(self, request_id: str) -> list[dict[str, Any]]:
        return chat_watchers(await self.d.store.events_for(request_id))

    async def _tell_watchers(self, session: Session) -> list[dict[str, Any]]:
        watching = await self.watchers(session.request_id)
        msg = {"t": "watchers", "session_id": session.id, "watchers": watching}
        await self.d.publish(ch.request_channel(session.request_id), "A", msg)
        return watching

    async def watch(self, user: User, session: Session) -> list[dict[str, Any]]:
        """Log that ``user`` watches the chat and tell everyone; returns who watches."""
        if not session.open:
            raise Conflict("the session has ended", code="conflict_closed")
        data = {"what": CHAT, "name": user.display_name, "role": user.role}
        await self.d.store.add_event(
            request_id=session.request_id, kind="watcher_joined", actor="watcher", actor_id=user.id, data=data, now=self.d.now()
        )
        return await self._tell_watchers(session)

    async def unwatch(self, user: User, session: Session) -> None:
        data = {"what": CHAT, "name": user.display_name}
        await self.d.store.add_event(
            request_id=session.request_id, kind="watcher_left", actor="watcher", actor_id=user.id, data=data, now=self.d.now()
        )
        if session.open:
            await self._tell_watchers(session)

    async def whisper(self, user: User, session: Session, cid: str, text: str) -> dict[str, Any]:
        """Store a whisper (once per ``cid``) and send it to rep sockets only."""
        if not session.open:
            raise Conflict("the session has ended", code="conflict_closed")
        text = check_text("whisper", text, self.d.settings.max_chat_chars)
        events = await self.d.store.events_for(session.request_id)
        stored = next((e for e in events if e.kind == "whispered" and e.data.get("cid") == cid and e.actor_id == user.id), None)
        if stored is None:
            await self.d.store.add_event(
                request_id=session.request_id, kind="whispered", actor="watcher", actor_id=user.id,
                data={"text": text, "cid": cid, "name": user.display_name}, now=self.d.now(),
            )
            events = await self.d.store.events_for(session.request_id)
            stored = next(e for e in reversed(events) if e.kind == "whispered" and e.data.get("cid") == cid)
        view = whisper_view(stored, session.id)
        await self.d.publish(ch.request_channel(session.request_id), "R", view)
        return view

    async def join_chat(self, user: User, session: Session) -> None:
        """From now on ``user``'s lines reach the visitor; the visitor reads
        that they joined (once per person and session)."""
        if not session.open:
            raise Conflict("the session has ended", code="conflict_closed")
        req = await self._request(session)
        events = await self.d.store.events_for(session.request_id)
        if not any(e.kind == "joined_chat" and e.actor_id == user.id for e in events):
            await self.d.store.add_event(
                request_id=req.id, kind="joined_chat", actor="watcher", actor_id=user.id,
                data={"name": user.display_name, "role": user.role}, now=self.d.now(),
            )
        await self.d.post_system(
            req, session.id, system_lines.text("joined_chat", name=user.display_name, role=user.role), f"joined-chat:{user.id}"
        )

    async def take_over(self, user: User, session: Session) -> Session:
        """Make ``user`` the rep holding ``session``, log it, and tell
        everyone. Raises ``Conflict`` if it ended or changed hands meanwhile,
        or is theirs."""
        if session.rep_id == user.id:
            raise Conflict("you already hold this session", code="bad_state")
        return await move_session(self.d, session, user, kind="taken_over", actor="watcher")


async def move_session(
    d: Dispatcher,
    session: Session,
    user: User,
    *,
    kind: Literal["taken_over", "transferred"],
    actor: Actor,
    data: dict[str, Any] | None = None,
) -> Session:
    """Move ``session`` from the rep holding it to ``user``: one conditional
    update of the session and its request (it fails with ``Conflict`` if the
    session ended or changed hands meanwhile), the event ``kind``, and the
    news: ``taken_over`` to the visitor and the reps, a control note that
    the old rep's consoles and viewers act on (they let go; the screen's
    primary viewer becomes ``user``), the visitor's system line, and
    ``accepted`` on ``user``'s own channel so their consoles open it. A
    supervisor's take-over and an accepted transfer both come here."""
    moved = await d.store.hand_over_session(session.id, session.rep_id, user.id)
    if moved is None:
        raise Conflict("the session ended or changed hands; look again", code="conflict_closed")
    req = await d.store.get_request(moved.request_id)
    assert req is not None
    from_name = await d.rep_name(session.rep_id)
    logged = {**(data or {}), "from_rep_id": session.rep_id, "from_name": from_name, "to_name": user.display_name}
    await d.store.add_event(request_id=req.id, kind=kind, actor=actor, actor_id=user.id, data=logged, now=d.now())
    channel = ch.request_channel(req.id)
    events = await d.store.events_for(req.id)
    if any(w["id"] == user.id for w in chat_watchers(events)):
        await d.store.add_event(
            request_id=req.id, kind="watcher_left", actor="watcher", actor_id=user.id,
            data={"what": CHAT, "name": user.display_name}, now=d.now(),
        )
    await d.publish(channel, "V", {"t": "taken_over", "session_id": moved.id, "rep": {"name": user.display_name}})
    how = "transfer" if kind == "transferred" else "take_over"
    told = {
        "t": "taken_over",
        "session_id": moved.id,
        "by": {"id": user.id, "name": user.display_name},
        "from": {"id": session.rep_id, "name": from_name},
        "how": how,
    }
    await d.publish(channel, "R", told)
    # The note last: the old rep's consoles leave the channel on it, so
    # the words above must already be on their way (the broker keeps order).
    note = {
        "op": "taken_over", "session_id": moved.id, "from_rep_id": session.rep_id, "to_rep_id": user.id,
        "to_name": user.display_name, "how": how,
    }
    await d.publish(channel, "X", note)
    watching = chat_watchers(await d.store.events_for(req.id))
    await d.publish(channel, "A", {"t": "watchers", "session_id": moved.id, "watchers": watching})
    await d.post_system(
        req, moved.id, system_lines.text("taken_over", name=user.display_name), f"{kind}:{user.id}:{len(events)}"
    )
    # Consoles of the new rep that were not watching open it as if accepted.
    await d.publish(ch.user_channel(user.id), "X", {"op": "accepted", "session_id": moved.id})
    return moved
