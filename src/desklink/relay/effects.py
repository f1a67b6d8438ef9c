"""The relay's output: what to deliver to whom, what to close, what to audit.

The relay core is sans-I/O, like python-websockets' ``Protocol``: each entry
point takes a message (already validated by the protocol's decoders) and
returns :class:`Effects`. The socket adapters pump them: deliveries go into
the receiving connection's priority outbox, closes close, audit events are
written to the session's timeline. The relay never calls a socket.

An *endpoint* is the adapter's handle for one socket (its connection
object). The relay only compares and hashes endpoints; it never calls them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from desklink.protocol.events import Actor, EventKind
from desklink.protocol.outbox import Priority

#: How a screen delivery behaves in the receiver's outbox: a frame is
#: bounded by the relay's window, a cursor shape is never dropped, pointer
#: positions replace each other (latest wins).
ScreenKind = Literal["frame", "cursor", "pointer"]


@dataclass(frozen=True, slots=True)
class Deliver:
    """Send ``data`` (an encoded text message, or a binary screen message with
    its channel byte) to ``to``. ``screen`` is set for binary screen data."""

    to: object
    data: str | bytes
    priority: Priority = Priority.CONTROL
    screen: ScreenKind | None = None


@dataclass(frozen=True, slots=True)
class Close:
    """Close ``to``'s socket with ``code`` after what is already queued."""

    to: object
    code: int
    reason: str


@dataclass(frozen=True, slots=True)
class Audit:
    """One event for the timeline of the support request ``request_id``
    (see protocol/events.py)."""

    request_id: str
    kind: EventKind
    actor: Actor
    actor_id: int | None = None
    data: dict[str, Any] = field(default_factory=dict)


#: What a :class:`Record` carries: a screen message as viewers got it
#: (``screen``: frame or video chunk; ``cursor``; ``pointer``), a JSON
#: control message (``event``), or the recording's bounds (``start``,
#: ``stop``: no data).
RecordKind = Literal["screen", "cursor", "pointer", "event", "start", "stop"]


@dataclass(frozen=True, slots=True)
class Record:
    """One item for the session's recording (see protocol/recording.py),
    made only while the session is being recorded; ``at`` is the relay's
    monotonic clock. The adapter hands it to the session's recording writer,
    which never makes the relay wait."""

    session_id: str
    request_id: str
    kind: RecordKind
    data: bytes
    at: float


@dataclass
class Effects:
    deliveries: list[Deliver] = field(default_factory=list)
    closes: list[Close] = field(default_factory=list)
    audits: list[Audit] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)

    def extend(self, other: Effects) -> Effects:
        self.deliveries += other.deliveries
        self.closes += other.closes
        self.audits += other.audits
        self.records += other.records
        return self

    def __bool__(self) -> bool:
        return bool(self.deliveries or self.closes or self.audits or self.records)
