"""The database schema as SQLAlchemy 2 declarative models.

These classes define tables (and feed Alembic autogenerate); the store talks
to the database with Core statements over them and hands out the frozen
records of :mod:`desklink.store.records`, never these rows.

Portability rules, so SQLite and PostgreSQL behave alike:

* Every timestamp column is :class:`UTCDateTime`: it refuses naive datetimes,
  stores UTC and always loads a timezone-aware UTC value.
* Free text a person typed (questions, chat bodies, names, notes) is ``Text``:
  PostgreSQL would refuse an over-long ``VARCHAR`` where SQLite would not, so
  length limits belong to the protocol layer, not the schema. Neither backend
  is asked to store NUL characters (PostgreSQL refuses them in text).
* Identifiers and hashes are ``String(n)`` with room to spare.
* Constraint and index names follow :data:`NAMING_CONVENTION`, so migrations
  can name what they alter.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    LargeBinary,
    Boolean,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql.expression import text, true
from sqlalchemy.types import TypeDecorator

#: Deterministic constraint names (Alembic's recommended convention).
NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: Length of the random ids of requests and sessions:
#: ``secrets.token_urlsafe(12)`` gives 16 URL-safe characters (96 bits).
ID_CHARS = 16


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is timezone-aware UTC on the way in and out.

    PostgreSQL stores ``timestamptz``. SQLite has no timestamp type: SQLAlchemy
    stores an ISO-like string without an offset, so the value is converted to
    UTC and made naive before storing (keeping string order equal to time
    order) and gets ``tzinfo=UTC`` back on load. A naive datetime is refused:
    its meaning would depend on the machine's clock settings.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: the store needs timezone-aware datetimes")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


#: 64-bit ids where rows accumulate without bound; SQLite only
#: auto-increments a column declared exactly ``INTEGER PRIMARY KEY``.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON(), list[str]: JSON()}


class UserRow(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: As the admin typed it; shown in the UI.
    username: Mapped[str] = mapped_column(String(150), unique=True)
    #: NFKC-normalised, case-folded ``username``: what makes two usernames
    #: "the same". Computed in Python so SQLite (ASCII-only ``lower()``) and
    #: PostgreSQL agree for every script.
    username_key: Mapped[str] = mapped_column(String(150), unique=True)
    display_name: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(Text)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    #: Base32 TOTP secret (RFC 6238) while enrolling or enrolled; NULL without
    #: a second factor. It must be readable to check codes, so it is not hashed.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    #: When the user proved the authenticator works; NULL while enrolling.
    totp_confirmed_at: Mapped[datetime | None]


class RecoveryCodeRow(Base):
    """One-time recovery codes for a user with a second factor (SHA-256 of
    each code; a used code keeps its row with ``used_at`` set)."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class PolicyRow(Base):
    """Deployment-wide policies an admin sets (for example which roles must
    use a second factor): a key and a JSON value."""

    __tablename__ = "policies"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime]


class AccessChangeRow(Base):
    """One change to a user's role, queues or status (disabled, password).
    Every node reads new rows about once a second and re-checks that user's
    open sockets, whoever made the change (admin center or CLI) and whatever
    the broker; old rows are purged by the sweeper."""

    __tablename__ = "access_changes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(index=True)


class AuditRow(Base):
    """An admin action (users, roles, queues, policies): who, what, when."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    #: The admin's user id; NULL for the command line (``actor`` says who).
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(index=True)


class AuthSessionRow(Base):
    __tablename__ = "auth_sessions"

    token_hash: Mapped[str] = mapped_column(String(128), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)


class QueueRow(Base):
    __tablename__ = "queues"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(Text)
    allowed_origins: Mapped[list[str]]
    created_at: Mapped[datetime]
    #: The queue's file policy (issue 11): may files go to the visitor and
    #: come from the visitor; the largest file and most files per session
    #: (0: the server's setting); extensions refused, lowercase, without the
    #: dot, comma-separated ("exe,bat"). (Server defaults: SQLite cannot drop
    #: one without recreating the table, which the requests naming it forbid.)
    files_to_visitor: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    files_from_visitor: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    max_file_bytes: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    max_files_per_session: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    blocked_extensions: Mapped[str] = mapped_column(Text, default="", server_default=text("''"))
    #: Screen recording policy: always | on_request | never (issue 12).
    recording: Mapped[str] = mapped_column(String(16), default="never", server_default="never")
    #: Business hours (issue 14, hours.py): time zone, weekly intervals,
    #: holidays; ``NULL`` (and ``{}``) is always open. Nullable rather than a
    #: server default: PostgreSQL cannot compare JSON defaults.
    hours: Mapped[dict[str, Any] | None]
    #: Branding (issue 14, protocol/branding.py): the help box's title,
    #: accent colour (``#rrggbb``), welcome text; empty for the defaults.
    brand_title: Mapped[str] = mapped_column(Text, default="", server_default=text("''"))
    brand_color: Mapped[str] = mapped_column(String(7), default="", server_default=text("''"))
    brand_welcome: Mapped[str] = mapped_column(Text, default="", server_default=text("''"))
    #: Pre-chat fields, ``[{name, label, required, kind, options?}]`` as JSON
    #: text (a JSON column's server default is not portable; see 0012).
    prechat_fields: Mapped[str] = mapped_column(Text, default="[]", server_default=text("'[]'"))


class QueueLogoRow(Base):
    """A queue's logo (PNG, JPEG or WebP), apart from the queue so listing
    queues never loads an image. ``sha256`` names it in its public URL."""

    __tablename__ = "queue_logos"

    queue_id: Mapped[int] = mapped_column(ForeignKey("queues.id", ondelete="CASCADE"), primary_key=True)
    content_type: Mapped[str] = mapped_column(String(32))
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime]


class QueueMemberRow(Base):
    __tablename__ = "queue_members"
    __table_args__ = (PrimaryKeyConstraint("queue_id", "user_id"),)

    queue_id: Mapped[int] = mapped_column(ForeignKey("queues.id", ondelete="CASCADE"))
    #: Indexed for "which queues is this rep in?" (the PK serves the reverse).
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)


class RequestRow(Base):
    __tablename__ = "requests"
    __table_args__ = (
        # waiting requests of a queue, oldest first; queue position
        Index("ix_requests_queue_status_created", "queue_id", "status", "created_at"),
        # open requests per visitor IP (rate limit)
        Index("ix_requests_ip_status", "ip", "status"),
        # reports select requests by submit time
        Index("ix_requests_created_at", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(ID_CHARS), primary_key=True)
    queue_id: Mapped[int] = mapped_column(ForeignKey("queues.id"))
    visitor_name: Mapped[str] = mapped_column(Text)
    visitor_email: Mapped[str] = mapped_column(Text)
    #: The visitor's system and browser ("Windows 11 · Chrome 131"), at most
    #: ``max_client_chars``; empty from older help boxes.
    visitor_client: Mapped[str] = mapped_column(Text, default="")
    #: Page, referrer, languages, time zone and the provider's fields, as
    #: protocol/visitor_context.py checked them; ``{}`` from older help boxes.
    visitor_context: Mapped[dict[str, Any]] = mapped_column(default=dict)
    question: Mapped[str] = mapped_column(Text)
    #: SHA-256 (hex) of the visitor's capability token; the token itself is
    #: never stored.
    visitor_token_hash: Mapped[str] = mapped_column(String(128), unique=True, index=True)
    ip: Mapped[str] = mapped_column(String(64))
    origin: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    rep_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: Highest chat ``seq`` handed out; bumped with ``UPDATE ... RETURNING``
    #: so concurrent senders get distinct, gap-free numbers.
    last_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]


class SessionRow(Base):
    __tablename__ = "sessions"
    __table_args__ = (
        # reports: the sessions touching a range, filtered inside the index
        Index("ix_sessions_started_ended", "started_at", "ended_at"),
    )

    id: Mapped[str] = mapped_column(String(ID_CHARS), primary_key=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("requests.id"), unique=True)
    rep_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(index=True)
    ended_at: Mapped[datetime | None]
    ended_by: Mapped[str | None] = mapped_column(String(16))
    disposition: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text, default="")
    #: The visitor's rating (issue 13): 1 to 5, NULL until rated; the comment
    #: as typed (bounded by ``max_rating_comment_chars``).
    rating: Mapped[int | None] = mapped_column(Integer)
    rating_comment: Mapped[str] = mapped_column(Text, default="", server_default=text("''"))
    rated_at: Mapped[datetime | None]


class MessageRow(Base):
    __tablename__ = "messages"
    __table_args__ = (
        PrimaryKeyConstraint("request_id", "seq"),
        UniqueConstraint("request_id", "client_id"),
    )

    request_id: Mapped[str] = mapped_column(ForeignKey("requests.id"))
    seq: Mapped[int] = mapped_column(Integer)
    client_id: Mapped[str] = mapped_column(String(128))
    sender: Mapped[str] = mapped_column(String(16))
    sender_name: Mapped[str] = mapped_column(Text)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class EventRow(Base):
    __tablename__ = "events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    request_id: Mapped[str | None] = mapped_column(ForeignKey("requests.id"), index=True)
    #: One of protocol/events.py's ``EventKind``; ``actor`` one of its
    #: ``Actor``; ``actor_id`` the acting user, when a user acted.
    kind: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(Text)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    data: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(index=True)


class PresenceRow(Base):
    """One stretch of a rep being online (issue 13's online time and load).
    A row opens when a console goes online and closes (``ended_at``) when it
    goes away, signs out or disconnects; ``seen_at`` is renewed while it is
    open, so a stretch whose node died is counted only up to its last sign of
    life. Several consoles of one user may overlap: reports merge them."""

    __tablename__ = "presence_log"
    __table_args__ = (Index("ix_presence_log_user_started", "user_id", "started_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    node: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(index=True)
    seen_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]


class TransferRow(Base):
    """One file in transit (protocol/files.py). ``received``: bytes the
    server holds (durable: they are in the file store); ``delivered``: bytes
    the visitor's agent acknowledged. ``download_key`` is a random
    capability for this one file: it is in the download path the parties get
    in ``file.state {download}`` (after any reload), checked in constant time."""

    __tablename__ = "transfers"
    __table_args__ = (UniqueConstraint("request_id", "sender", "client_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("requests.id"), index=True)
    session_id: Mapped[str] = mapped_column(String(ID_CHARS))
    sender: Mapped[str] = mapped_column(String(16))  # visitor | rep
    sender_name: Mapped[str] = mapped_column(Text)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    via: Mapped[str] = mapped_column(String(16))  # browser | agent
    target: Mapped[str] = mapped_column(String(16))  # chat | computer
    client_id: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(Text)
    mime: Mapped[str] = mapped_column(String(128))
    size: Mapped[int] = mapped_column(BigInteger)
    received: Mapped[int] = mapped_column(BigInteger, default=0)
    delivered: Mapped[int] = mapped_column(BigInteger, default=0)
    sha256: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    download_key: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime]


class JoinCodeRow(Base):
    """A pending screen-sharing join code. The code a visitor reads out is a
    3-digit *slot* plus a 6-digit secret; the slot finds the row, the secret
    (stored as a hash) must match. A row is deleted when used, burned or
    found expired, so a slot is unique among live codes."""

    __tablename__ = "join_codes"

    slot: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    secret_hash: Mapped[str] = mapped_column(String(64))
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    tries: Mapped[int] = mapped_column(Integer, default=0)


class RecordingRow(Base):
    """One recorded screen session: where its segments stand. ``head_hash``
    (SHA-256 hex of the newest stored segment) catches a replaced or removed
    last segment, which the chain alone cannot. ``status``: recording |
    done | failed; ``error`` says why it failed."""

    __tablename__ = "recordings"

    session_id: Mapped[str] = mapped_column(String(ID_CHARS), primary_key=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("requests.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(index=True)
    ended_at: Mapped[datetime | None]
    segments: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    bytes: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    duration_ms: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    head_hash: Mapped[str] = mapped_column(String(64), default="", server_default=text("''"))
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str] = mapped_column(Text, default="", server_default=text("''"))


class CannedReplyRow(Base):
    """A canned reply (issue 14): a queue's (``queue_id`` set, managed by its
    admins and supervisors) or one rep's own (``owner_id`` set); exactly one
    of the two. ``name`` is the shortcut typed after ``/`` in the console,
    unique within its owner."""

    __tablename__ = "canned_replies"
    __table_args__ = (
        UniqueConstraint("queue_id", "name"),
        UniqueConstraint("owner_id", "name"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    queue_id: Mapped[int | None] = mapped_column(ForeignKey("queues.id", ondelete="CASCADE"))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class SessionNoteRow(Base):
    """An internal note on a session (issue 14): written by a rep, supervisor
    or admin, read by them only; never sent to the visitor."""

    __tablename__ = "session_notes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    author_name: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class OfflineMessageRow(Base):
    """A message a visitor left while the desk was closed or nobody was
    online (issue 14), answered by a rep by e-mail. Not a request: it has no
    lifecycle, no session and no place in the queue or the reports."""

    __tablename__ = "offline_messages"
    __table_args__ = (Index("ix_offline_messages_queue_created", "queue_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(ID_CHARS), primary_key=True)
    queue_id: Mapped[int] = mapped_column(ForeignKey("queues.id", ondelete="CASCADE"))
    visitor_name: Mapped[str] = mapped_column(Text)
    visitor_email: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    ip: Mapped[str] = mapped_column(String(64))
    origin: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    #: When the visitor's copy went out (``None``: it could not be sent).
    copy_sent_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    answered_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: The rep's display name when they answered (kept if the account goes).
    answered_by_name: Mapped[str] = mapped_column(Text, default="")
    answer: Mapped[str] = mapped_column(Text, default="")
