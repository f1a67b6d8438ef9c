"""What the store hands out: frozen records, never live ORM objects.

Callers (dispatch, server) never see SQLAlchemy; they get these plain values,
so nothing lazy-loads outside a transaction and the records can be passed
between tasks freely. All datetimes are timezone-aware UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from desklink.protocol.events import Actor, EventKind
from desklink.protocol.files import Status as FileStatus
from desklink.protocol.lifecycle import RequestStatus

Role = Literal["rep", "supervisor", "admin"]
ROLES: tuple[Role, ...] = ("rep", "supervisor", "admin")
#: Each role may do everything the roles before it may.
ROLE_RANK: dict[str, int] = {"rep": 1, "supervisor": 2, "admin": 3}


@dataclass(frozen=True, slots=True)
class User:
    id: int
    username: str
    display_name: str
    role: Role
    password_hash: str
    disabled: bool
    created_at: datetime

    def at_least(self, role: Role) -> bool:
        return ROLE_RANK[self.role] >= ROLE_RANK[role]


@dataclass(frozen=True, slots=True)
class AuthSession:
    token_hash: str
    user_id: int
    csrf_token: str
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Queue:
    id: int
    slug: str
    name: str
    #: Origins (scheme://host[:port]) of sites allowed to embed this queue's
    #: help box: CORS and the visitor WebSocket's Origin check use this list.
    allowed_origins: tuple[str, ...]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Branding:
    """A queue's help box branding (protocol/branding.py); empty text, no
    fields and no logo look as the help box always did."""

    title: str = ""
    #: ``#rrggbb`` or empty.
    color: str = ""
    welcome: str = ""
    #: ``{name, label, required, kind, options?}`` each, in the form's order.
    fields: tuple[dict[str, Any], ...] = ()
    #: The logo's SHA-256 (hex) and media type; empty without a logo.
    logo_sha256: str = ""
    logo_type: str = ""


@dataclass(frozen=True, slots=True)
class Logo:
    content_type: str
    sha256: str
    data: bytes


@dataclass(frozen=True, slots=True)
class Request:
    id: str
    queue_id: int
    visitor_name: str
    visitor_email: str
    question: str
    ip: str
    origin: str
    status: RequestStatus
    rep_id: int | None
    created_at: datetime
    accepted_at: datetime | None
    closed_at: datetime | None
    #: The visitor's system and browser as the help box summarized them.
    visitor_client: str = ""
    #: Page, referrer, languages, time zone and the provider's fields
    #: (protocol/visitor_context.py); ``{}`` from older help boxes.
    visitor_context: dict[str, Any] = field(default_factory=dict)


#: The scale of the visitor's rating: 1 (poor) to 5 (excellent).
RATING_MIN = 1
RATING_MAX = 5


@dataclass(frozen=True, slots=True)
class Session:
    id: str
    request_id: str
    rep_id: int
    started_at: datetime
    ended_at: datetime | None
    ended_by: str | None  # "rep", "visitor", "system"
    disposition: str | None  # "resolved", "not_resolved", "escalated"
    note: str
    #: The visitor's rating, 1 to 5 (None until rated), its comment and when.
    rating: int | None = None
    rating_comment: str = ""
    rated_at: datetime | None = None

    @property
    def open(self) -> bool:
        return self.ended_at is None


@dataclass(frozen=True, slots=True)
class SessionSummary:
    """A session with what the history shows beside it."""

    session: Session
    request: Request
    queue: Queue
    rep_name: str


@dataclass(frozen=True, slots=True)
class Message:
    request_id: str
    seq: int
    client_id: str
    sender: Literal["visitor", "rep", "system"]
    sender_name: str
    user_id: int | None
    body: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Event:
    id: int
    request_id: str | None
    kind: EventKind
    actor: Actor
    actor_id: int | None
    data: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One admin action: ``actor`` in words, ``action`` (e.g. ``user.role``),
    ``target`` (e.g. ``user alice``), details in ``data``."""

    id: int
    actor_id: int | None
    actor: str
    action: str
    target: str
    data: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class AccessChange:
    id: int
    user_id: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class SecondFactor:
    """A user's TOTP second factor: ``secret`` (base32, RFC 6238) is kept
    readable because checking a code needs it. ``confirmed_at`` is None while
    the user enrols (the secret was shown but no code proved it yet)."""

    user_id: int
    secret: str
    confirmed_at: datetime | None

    @property
    def confirmed(self) -> bool:
        return self.confirmed_at is not None


@dataclass(frozen=True, slots=True)
class Transfer:
    """One file in transit (``transfers``; see :mod:`desklink.protocol.files`).
    ``received``: bytes the server holds; ``delivered``: bytes the visitor's
    agent acknowledged; ``download_key``: the capability in the download URL."""

    id: int
    request_id: str
    session_id: str
    sender: Literal["visitor", "rep"]
    sender_name: str
    user_id: int | None
    via: Literal["browser", "agent"]
    target: Literal["chat", "computer"]
    client_id: str
    name: str
    mime: str
    size: int
    received: int
    delivered: int
    sha256: str
    status: FileStatus
    reason: str
    download_key: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Recording:
    """One recorded screen session (``recordings``; see
    :mod:`desklink.protocol.recording`). ``head_hash``: SHA-256 hex of the
    newest stored segment; ``status``: recording | done | failed."""

    session_id: str
    request_id: str
    started_at: datetime
    ended_at: datetime | None
    segments: int
    bytes: int
    duration_ms: int
    head_hash: str
    status: Literal["recording", "done", "failed"]
    error: str


@dataclass(frozen=True, slots=True)
class BoardSession:
    """An open session as the live board lists it (store/_board.py)."""

    session_id: str
    request_id: str
    queue_id: int
    visitor_name: str
    rep_id: int
    rep_name: str
    started_at: datetime


@dataclass(frozen=True, slots=True)
class PresenceStretch:
    """One stretch of a rep's console being online (``presence_log``).
    ``ended_at`` is None while it is open; an open stretch counts up to
    ``seen_at``, its last sign of life."""

    id: int
    user_id: int
    node: str
    started_at: datetime
    seen_at: datetime
    ended_at: datetime | None


@dataclass(frozen=True, slots=True)
class CannedReply:
    """A canned reply (store/_canned.py): a queue's (``queue_id``) or one
    rep's own (``owner_id``); exactly one of the two is set."""

    id: int
    queue_id: int | None
    owner_id: int | None
    name: str
    title: str
    body: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class SessionNote:
    """An internal note on a session: for reps, supervisors and admins only."""

    id: int
    session_id: str
    author_id: int | None
    author_name: str
    body: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class OfflineMessage:
    """A visitor's offline message (store/_offline.py)."""

    id: str
    queue_id: int
    visitor_name: str
    visitor_email: str
    body: str
    ip: str
    origin: str
    created_at: datetime
    copy_sent_at: datetime | None
    answered_at: datetime | None
    answered_by: int | None
    answered_by_name: str
    answer: str
