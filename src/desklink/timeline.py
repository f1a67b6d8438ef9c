"""A support session's timeline in words: its chat and its events, in one
order, each a sentence a manager can read.

Pure: stored records in, items out. The API (``GET
/api/sessions/{id}/timeline``) and the admin center show these items; a
later export or replay can use the same ones. Ids and JSON never reach a
sentence: users are named from ``people`` (their display name and role),
the visitor by the name they gave, and anything a peer typed (a chat
message, a file name) stays plain text for the front end to show as text.

Order: by time, and for equal times chat before events and each in the
order it was stored (chat by ``seq``, events by ``id``), so the same records
always give the same timeline.

Every kind of :mod:`desklink.protocol.events` has its words here
(:data:`MARKERS` lists them all; a test checks none is missing).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal

from desklink.protocol.events import EventKind
from desklink.store.records import Event, Message

#: Who acted, as the timeline names them: a user's role, the visitor, or
#: DeskLink itself.
Role = Literal["visitor", "rep", "supervisor", "admin", "system"]
#: What a marker on the admin center's timeline groups an item under.
Marker = Literal["chat", "request", "screen", "control", "annotation", "clipboard", "files", "watcher", "rating", "supervisor", "handoff"]


@dataclass(frozen=True, slots=True)
class Person:
    """A user as the timeline names them."""

    name: str
    role: Role


@dataclass(frozen=True, slots=True)
class Item:
    """One line of the timeline. ``kind`` is ``chat`` or an event kind."""

    at: datetime
    kind: str
    marker: Marker
    actor: Person
    text: str


#: Each event kind's marker (also the list of kinds this module words).
MARKERS: Final[dict[EventKind, Marker]] = {
    "submitted": "request",
    "accepted": "request",
    "abandoned": "request",
    "expired": "request",
    "ended": "request",
    "wrapped_up": "request",
    "screen_requested": "screen",
    "screen_code_renewed": "screen",
    "agent_joined": "screen",
    "agent_resumed": "screen",
    "agent_lost": "screen",
    "privilege_asked": "screen",
    "privilege_granted": "screen",
    "privilege_refused": "screen",
    "privilege_revoked": "screen",
    "privilege_released": "screen",
    "sharing_started": "screen",
    "sharing_stopped": "screen",
    "watcher_joined": "watcher",
    "watcher_left": "watcher",
    "clipboard_crossed": "clipboard",
    "annotated": "annotation",
    "recording_started": "screen",
    "recording_stopped": "screen",
    "recording_failed": "screen",
    "file_offered": "files",
    "file_asked": "files",
    "file_transferred": "files",
    "file_delivered": "files",
    "file_refused": "files",
    "file_cancelled": "files",
    "file_failed": "files",
    "rated": "rating",
    "whispered": "supervisor",
    "joined_chat": "supervisor",
    "taken_over": "supervisor",
    "transfer_offered": "handoff",
    "transferred": "handoff",
    "invited": "handoff",
    "invite_accepted": "handoff",
    "handoff_declined": "handoff",
    "handoff_expired": "handoff",
    "left_chat": "handoff",
}

SYSTEM: Final = Person("DeskLink", "system")

#: How each privilege reads inside a sentence.
_PRIVILEGE_WORDS: Final[dict[str, str]] = {
    "view": "seeing the screen",
    "control": "control",
    "files": "file access",
}
_ASK_WORDS: Final[dict[str, str]] = {
    "view": "asked to see the screen",
    "control": "asked to control the screen",
    "files": "asked for access to files on the visitor's computer",
}
_DISPOSITIONS: Final[dict[str, str]] = {
    "resolved": "resolved",
    "not_resolved": "not resolved",
    "escalated": "escalated",
}
_TOOLS: Final[dict[str, str]] = {"pen": "a pen stroke", "arrow": "an arrow", "rect": "a box", "highlighter": "a highlight"}


def build(
    messages: Sequence[Message],
    events: Sequence[Event],
    *,
    visitor_name: str,
    rep: Person,
    people: Mapping[int, Person],
) -> list[Item]:
    """The timeline of one support request: ``rep`` holds the session,
    ``people`` names every user an event or message mentions by id (one
    missing is named "a former user", never by its id)."""
    words = _Words(visitor_name, rep, people)
    keyed: list[tuple[datetime, int, int, Item]] = []
    for m in messages:
        keyed.append((m.created_at, 0, m.seq, words.message(m)))
    for e in events:
        keyed.append((e.created_at, 1, e.id, words.event(e)))
    keyed.sort(key=lambda k: (k[0], k[1], k[2]))
    return [k[3] for k in keyed]


def as_json(item: Item) -> dict[str, Any]:
    """An item as the API sends it (time as ISO 8601 UTC with a ``Z``)."""
    return {
        "at": item.at.isoformat().replace("+00:00", "Z"),
        "kind": item.kind,
        "marker": item.marker,
        "actor": {"name": item.actor.name, "role": item.actor.role},
        "text": item.text,
    }


def size_words(size: int) -> str:
    """``1 byte``, ``512 bytes``, ``12 KB``, ``3.4 MB``, ``1.2 GB``."""
    if size == 1:
        return "1 byte"
    if size < 1024:
        return f"{size} bytes"
    for unit, scale in (("KB", 1024), ("MB", 1024**2), ("GB", 1024**3)):
        if size < scale * 1024 or unit == "GB":
            value = size / scale
            return f"{value:.0f} {unit}" if value >= 10 else f"{value:.1f} {unit}"
    raise AssertionError("unreachable")


def _watched(e: Event) -> str:
    """What a watcher watched: the chat (``{"what": "chat"}``) or the screen."""
    return "chat" if e.data.get("what") == "chat" else "screen"


def _target(e: Event) -> str:
    """Whom a transfer or invitation went to: a rep, or "the queue Billing"."""
    name = str(e.data.get("to_name") or "a colleague")[:100]
    return f"the queue {name}" if e.data.get("to_queue_id") is not None else name


def _note(e: Event) -> str:
    note = str(e.data.get("note") or "")[:500]
    return f": {note}" if note else ""


def _offer(e: Event) -> str:
    return "invitation" if e.data.get("kind") == "invite" else "transfer"


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


class _Words:
    def __init__(self, visitor_name: str, rep: Person, people: Mapping[int, Person]) -> None:
        self.visitor = Person(visitor_name or "The visitor", "visitor")
        self.rep = rep
        self.people = people
        self._kinds: dict[str, Callable[[Event, Person, str], str]] = {
            "submitted": self._submitted,
            "accepted": lambda e, a, who: f"{who} accepted the request",
            "abandoned": self._abandoned,
            "expired": lambda e, a, who: "The request expired before anyone answered",
            "ended": self._ended,
            "wrapped_up": self._wrapped_up,
            "screen_requested": lambda e, a, who: f"{who} offered screen sharing (a join code for the agent)",
            "screen_code_renewed": lambda e, a, who: "The visitor asked for a new join code",
            "agent_joined": lambda e, a, who: "The visitor's DeskLink agent joined",
            "agent_resumed": lambda e, a, who: "The visitor's DeskLink agent came back after its link dropped",
            "agent_lost": self._agent_lost,
            "privilege_asked": self._asked,
            "privilege_granted": self._granted,
            "privilege_refused": lambda e, a, who: f"The visitor refused {self._privilege(e)}",
            "privilege_revoked": self._revoked,
            "privilege_released": self._released,
            "sharing_started": self._sharing_started,
            "sharing_stopped": self._sharing_stopped,
            "watcher_joined": lambda e, a, who: f"{who} started watching the {_watched(e)}",
            "watcher_left": lambda e, a, who: f"{who} stopped watching the {_watched(e)}",
            "clipboard_crossed": self._clipboard,
            "annotated": self._annotated,
            "recording_started": self._recording_started,
            "recording_stopped": lambda e, a, who: f"{who} stopped recording the screen" if a.role in ("rep", "supervisor", "admin")
            else "Recording of the screen stopped",
            "recording_failed": lambda e, a, who: f"Recording of the screen failed: {str(e.data.get('error') or 'storage failed')[:200]}",
            "file_offered": self._file_offered,
            "file_asked": self._file_asked,
            "file_transferred": self._file_transferred,
            "file_delivered": lambda e, a, who: f"The visitor's computer received {self._file(e)}",
            "file_refused": lambda e, a, who: f"The visitor refused {self._file(e)}",
            "file_cancelled": self._file_cancelled,
            "file_failed": lambda e, a, who: f"{_cap(self._file(e))} failed{self._reason(e)}",
            "rated": self._rated,
            "whispered": lambda e, a, who: f"{who} whispered to the rep: {str(e.data.get('text') or '')[:500]}",
            "joined_chat": lambda e, a, who: f"{who} joined the chat",
            "taken_over": lambda e, a, who: f"{who} took the session over"
            + (f" from {str(e.data.get('from_name'))[:100]}" if e.data.get("from_name") else ""),
            "transfer_offered": lambda e, a, who: f"{who} offered the session to {_target(e)}" + _note(e),
            "transferred": lambda e, a, who: f"{who} accepted the transfer"
            + (f" from {str(e.data.get('from_name'))[:100]}" if e.data.get("from_name") else ""),
            "invited": lambda e, a, who: f"{who} invited {_target(e)} into the chat" + _note(e),
            "invite_accepted": lambda e, a, who: f"{who} joined the chat at an invitation",
            "handoff_declined": lambda e, a, who: f"{who} declined the {_offer(e)}",
            "handoff_expired": lambda e, a, who: f"Nobody accepted the {_offer(e)} in time",
            "left_chat": lambda e, a, who: f"{who} left the chat",
        }

    def _rated(self, e: Event, a: Person, who: str) -> str:
        rating = e.data.get("rating")
        stars = f"{rating} out of 5" if isinstance(rating, int) else "the session"
        comment = str(e.data.get("comment") or "")[:1000]
        return f"{who} rated the session {stars}" + (f": {comment}" if comment else "")

    # ------------------------------------------------------------ people
    def person(self, user_id: int | None, fallback: str = "") -> Person:
        if user_id is not None and user_id in self.people:
            return self.people[user_id]
        if fallback:
            return Person(fallback, "rep")
        return Person("a former user", "rep")

    @staticmethod
    def phrase(p: Person) -> str:
        """``Ann (rep)``, ``Sue (supervisor)``; the visitor and DeskLink bare."""
        if p.role in ("visitor", "system"):
            return "The visitor" if p.role == "visitor" else "DeskLink"
        return f"{p.name} ({p.role})"

    def actor_of(self, e: Event) -> Person:
        if e.actor == "visitor":
            return self.visitor
        if e.actor == "system":
            return SYSTEM
        if e.actor == "rep" and e.actor_id is None:
            return self.rep
        return self.person(e.actor_id, str(e.data.get("name") or ""))

    # ----------------------------------------------------------- records
    def message(self, m: Message) -> Item:
        if m.sender == "visitor":
            actor = Person(m.sender_name or self.visitor.name, "visitor")
            who = f"{actor.name} (visitor)" if m.sender_name else "The visitor"
        elif m.sender == "system":  # DeskLink's own lines are already sentences
            return Item(m.created_at, "chat", "chat", SYSTEM, m.body)
        else:
            actor = self.person(m.user_id, m.sender_name)
            who = self.phrase(actor)
        return Item(m.created_at, "chat", "chat", actor, f"{who} wrote: {m.body}")

    def event(self, e: Event) -> Item:
        actor = self.actor_of(e)
        words = self._kinds.get(e.kind)
        text = words(e, actor, self.phrase(actor)) if words is not None else f"{self.phrase(actor)}: {e.kind}"
        marker = MARKERS.get(e.kind, "request")
        if marker == "screen" and e.data.get("privilege") == "control":
            marker = "control"  # control hand-offs get their own marker
        return Item(e.created_at, e.kind, marker, actor, text)

    # ------------------------------------------------------------- kinds
    def _submitted(self, e: Event, a: Person, who: str) -> str:
        queue = str(e.data.get("queue") or "")
        where = f" in the {queue} queue" if queue else ""
        return f"{self.visitor.name} (visitor) asked for help{where}"

    def _abandoned(self, e: Event, a: Person, who: str) -> str:
        if e.actor == "visitor":
            return "The visitor left before anyone answered"
        return "The request was closed before anyone answered"

    def _ended(self, e: Event, a: Person, who: str) -> str:
        disposition = _DISPOSITIONS.get(str(e.data.get("disposition") or ""))
        outcome = f" ({disposition})" if disposition else ""
        if e.actor == "system":
            return f"The session ended{outcome}"
        return f"{who} ended the session{outcome}"

    def _wrapped_up(self, e: Event, a: Person, who: str) -> str:
        disposition = _DISPOSITIONS.get(str(e.data.get("disposition") or ""), "recorded")
        return f"{who} recorded the outcome: {disposition}"

    def _agent_lost(self, e: Event, a: Person, who: str) -> str:
        reason = " (no answer)" if e.data.get("reason") == "no answer" else ""
        return f"The visitor's DeskLink agent lost its connection{reason}"

    def _privilege(self, e: Event) -> str:
        return _PRIVILEGE_WORDS.get(str(e.data.get("privilege")), "a privilege")

    def _asked(self, e: Event, a: Person, who: str) -> str:
        return f"{who} {_ASK_WORDS.get(str(e.data.get('privilege')), 'asked for a privilege')}"

    def _granted(self, e: Event, a: Person, who: str) -> str:
        if e.data.get("because") == "resume":
            return f"{_cap(self._privilege(e))} carried on after the agent came back"
        if e.data.get("privilege") == "control":
            return f"The visitor allowed control: {self.phrase(self.rep)} has the mouse and keyboard"
        return f"The visitor allowed {self._privilege(e)}"

    def _revoked(self, e: Event, a: Person, who: str) -> str:
        what = self._privilege(e)
        because = e.data.get("because")
        if because == "drop":
            return f"{_cap(what)} ended: the agent's link dropped"
        if because == "stop":
            return f"{_cap(what)} ended with the sharing"
        if e.data.get("privilege") == "control":
            return "The visitor took control back"
        return f"The visitor took back {what}"

    def _released(self, e: Event, a: Person, who: str) -> str:
        if e.data.get("privilege") == "control":
            return f"{who} handed control back to the visitor"
        return f"{who} gave up {self._privilege(e)}"

    def _sharing_started(self, e: Event, a: Person, who: str) -> str:
        return f"The visitor started sharing the screen with {self.phrase(self.rep)}"

    def _sharing_stopped(self, e: Event, a: Person, who: str) -> str:
        by = e.data.get("by")
        if by == "visitor":
            return "The visitor stopped sharing the screen"
        if by == "rep":
            return f"{who} stopped sharing the screen"
        if by == "session_ended":
            return "Sharing stopped: the session ended"
        if by == "agent_lost":
            return "Sharing stopped: the visitor's agent did not come back"
        if e.data.get("reason"):
            return f"Sharing stopped: {str(e.data['reason'])[:300]}"
        return "Sharing stopped (DeskLink)"

    def _recording_started(self, e: Event, a: Person, who: str) -> str:
        if e.data.get("policy") == "always":
            return "Recording of the screen started (this help desk records every shared screen)"
        return f"{who} started recording the screen"

    def _clipboard(self, e: Event, a: Person, who: str) -> str:
        chars = _count(int(e.data.get("chars") or 0), "character", "characters")
        if e.data.get("direction") == "from_visitor":
            return f"Clipboard: {chars} went from the visitor to {self.rep.name}"
        return f"Clipboard: {chars} went from {a.name} to the visitor"

    def _annotated(self, e: Event, a: Person, who: str) -> str:
        op = e.data.get("op")
        if op == "clear":
            return f"{who} cleared the drawings on the screen"
        if op == "undo":
            return f"{who} took back a drawing"
        return f"{who} drew {_TOOLS.get(str(e.data.get('tool')), 'a stroke')} on the screen"

    @staticmethod
    def _file(e: Event) -> str:
        name = str(e.data.get("name") or "")
        size = e.data.get("size")
        sized = f" ({size_words(size)})" if isinstance(size, int) and size >= 0 else ""
        return f"the file {name}{sized}" if name else "a file"

    @staticmethod
    def _reason(e: Event) -> str:
        reason = str(e.data.get("reason") or "")
        return f": {reason}" if reason else ""

    def _towards(self, e: Event) -> str:
        if e.data.get("direction") == "from_visitor":
            return f" to {self.rep.name}"
        return " to the visitor's computer" if e.data.get("to") == "computer" else " to the visitor"

    def _file_offered(self, e: Event, a: Person, who: str) -> str:
        return f"{who} sent {self._file(e)}{self._towards(e)}"

    def _file_asked(self, e: Event, a: Person, who: str) -> str:
        return f"{who} asked the visitor for a file from their computer"

    def _file_transferred(self, e: Event, a: Person, who: str) -> str:
        sender = "the visitor" if a.role == "visitor" else a.name
        return f"{_cap(self._file(e))} arrived whole on the server (from {sender})"

    def _file_cancelled(self, e: Event, a: Person, who: str) -> str:
        if e.actor == "system":
            return f"{_cap(self._file(e))} was cancelled{self._reason(e)}"
        return f"{who} cancelled {self._file(e)}"
