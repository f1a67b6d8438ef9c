"""Settings: where data lives, which backends run, and every named limit.

Settings come from keyword arguments (the CLI) over environment variables
(``DESKLINK_<FIELD>`` in upper case) over the defaults below. A limit's
default is the protocol constant of the same name in
:mod:`desklink.protocol.limits`, so the reason for each one is written once.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from desklink.errors import ConfigError
from desklink.protocol import limits
from desklink.protocol.branding import BrandingLimits
from desklink.protocol.relay_token import MIN_SECRET_BYTES
from desklink.relay.nodes import MAX_NODE_NAME_CHARS

#: What ``desklink serve --role`` takes (see ``Settings.role``).
ROLES = ("all", "web", "relay")

#: Settings that were replaced, and what to set instead. Naming one in the
#: environment stops the start: ignoring it silently could leave a node that
#: sees every client as its proxy (or trusts a forged address).
RETIRED = {
    "trust_proxy": "set DESKLINK_TRUSTED_PROXIES to the proxies' addresses or networks (e.g. 10.0.0.5 or 10.0.0.0/24)",
}


def _split(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip())

@dataclass(frozen=True, kw_only=True)
class Settings:
    # where and how it runs
    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = Path("./data")
    #: SQLAlchemy URL; empty means SQLite in ``data_dir``. PostgreSQL:
    #: ``postgresql+asyncpg://user@host/db``.
    database_url: str = ""
    #: Redis URL; empty means the in-process broker (one node only).
    redis_url: str = ""
    #: Prefix for every broker key and channel, so several deployments (or
    #: test runs) can share one Redis.
    broker_prefix: str = "desklink:"
    #: Extra origins allowed to open the rep console's WebSocket and call the
    #: console API (the server's own origin is always allowed).
    console_origins: tuple[str, ...] = ()
    #: Addresses or networks (``10.0.0.5``, ``10.0.0.0/24``) of the reverse
    #: proxies in front of this node. Only connections from them may set the
    #: client address (``X-Forwarded-For``) and scheme (``X-Forwarded-Proto``);
    #: see :mod:`desklink.server.addresses`. Empty: no proxy, headers ignored.
    trusted_proxies: tuple[str, ...] = ()
    #: Name shown to visitors in the help box header.
    provider_name: str = "DeskLink Support"
    #: Folder of agent builds the server offers on ``/download`` (``desklink
    #: build-agent`` puts them there). Empty: ``<data_dir>/agents``.
    agent_dir: str = ""

    # operations (docs/operations.md, Monitoring and Logs)
    #: This node's name in logs and the presence log; empty: ``<host>:<pid>``.
    node_id: str = ""
    #: ``text`` (for a terminal) or ``json`` (one object per line, for a log
    #: pipeline): every line then carries node, request and session ids.
    log_format: str = "text"
    #: The bearer token that may read ``GET /metrics`` on the public port;
    #: empty: ``/metrics`` is not served there (404).
    metrics_token: str = ""
    #: A second listener on 127.0.0.1 serving only ``GET /metrics``, with no
    #: token (whoever reaches loopback may read it); 0: none.
    metrics_port: int = 0
    metrics_max_head_bytes: int = limits.METRICS_MAX_HEAD_BYTES
    metrics_head_timeout_s: float = limits.METRICS_HEAD_TIMEOUT_S
    max_request_id_chars: int = limits.MAX_REQUEST_ID_CHARS

    # agent downloads
    max_agent_files: int = limits.MAX_AGENT_FILES
    max_agent_file_bytes: int = limits.MAX_AGENT_FILE_BYTES

    # message limits
    max_message_bytes: int = limits.MAX_MESSAGE_BYTES
    max_question_chars: int = limits.MAX_QUESTION_CHARS
    max_chat_chars: int = limits.MAX_CHAT_CHARS
    max_name_chars: int = limits.MAX_NAME_CHARS
    max_email_chars: int = limits.MAX_EMAIL_CHARS
    #: The visitor's system and browser, as the help box summarizes them.
    max_client_chars: int = limits.MAX_CLIENT_CHARS
    #: The visitor's context (page, referrer, languages, the provider's fields).
    max_context_fields: int = limits.MAX_CONTEXT_FIELDS
    max_context_key_chars: int = limits.MAX_CONTEXT_KEY_CHARS
    max_context_value_chars: int = limits.MAX_CONTEXT_VALUE_CHARS
    max_context_url_chars: int = limits.MAX_CONTEXT_URL_CHARS
    max_context_languages: int = limits.MAX_CONTEXT_LANGUAGES
    #: Branding per queue: pre-chat fields, their labels and answers, the
    #: title, the welcome text and the logo (protocol/branding.py).
    max_prechat_fields: int = limits.MAX_PRECHAT_FIELDS
    max_prechat_label_chars: int = limits.MAX_PRECHAT_LABEL_CHARS
    max_prechat_options: int = limits.MAX_PRECHAT_OPTIONS
    max_prechat_answer_chars: int = limits.MAX_PRECHAT_ANSWER_CHARS
    max_brand_title_chars: int = limits.MAX_BRAND_TITLE_CHARS
    max_welcome_chars: int = limits.MAX_WELCOME_CHARS
    max_logo_bytes: int = limits.MAX_LOGO_BYTES
    max_note_chars: int = limits.MAX_NOTE_CHARS
    #: Canned replies (issue 14): most per owner (a queue, or one rep),
    #: longest shortcut, title and body, in characters.
    canned_per_owner: int = limits.CANNED_PER_OWNER
    canned_name_chars: int = limits.CANNED_NAME_CHARS
    canned_title_chars: int = limits.CANNED_TITLE_CHARS
    canned_body_chars: int = limits.CANNED_BODY_CHARS
    #: Internal notes on a session: longest note, most notes per session.
    session_note_chars: int = limits.SESSION_NOTE_CHARS
    #: Transfer and invite: how long an offer waits for an accept, and the
    #: chat lines its alert carries.
    transfer_timeout_s: float = limits.TRANSFER_TIMEOUT_S
    transfer_history_lines: int = limits.TRANSFER_HISTORY_LINES
    notes_per_session: int = limits.NOTES_PER_SESSION
    # offline messages and business hours (hours.py, server/api_offline.py)
    offline_message_chars: int = limits.OFFLINE_MESSAGE_CHARS
    offline_messages_per_ip: int = limits.OFFLINE_MESSAGES_PER_IP
    offline_window_s: float = limits.OFFLINE_WINDOW_S
    offline_answer_chars: int = limits.OFFLINE_ANSWER_CHARS
    offline_pending_per_queue: int = limits.OFFLINE_PENDING_PER_QUEUE
    offline_page: int = limits.OFFLINE_PAGE
    hours_intervals_per_day: int = limits.HOURS_INTERVALS_PER_DAY
    hours_holidays: int = limits.HOURS_HOLIDAYS
    messages_per_minute: int = limits.MESSAGES_PER_MINUTE
    max_outbox_messages: int = limits.MAX_OUTBOX_MESSAGES
    max_resume_backlog: int = limits.MAX_RESUME_BACKLOG

    # connections and HTTP request budgets
    header_timeout_s: float = limits.HEADER_TIMEOUT_S
    #: How long a draining node waits for its sockets, then for requests in flight.
    drain_timeout_s: float = limits.DRAIN_TIMEOUT_S
    #: How long a draining node keeps answering 503 before it stops listening.
    drain_notice_s: float = limits.DRAIN_NOTICE_S
    max_connections_per_ip: int = limits.MAX_CONNECTIONS_PER_IP
    api_requests_per_minute_per_ip: int = limits.API_REQUESTS_PER_MINUTE_PER_IP
    api_requests_per_minute_per_account: int = limits.API_REQUESTS_PER_MINUTE_PER_ACCOUNT
    page_requests_per_minute_per_ip: int = limits.PAGE_REQUESTS_PER_MINUTE_PER_IP
    http_burst_s: float = limits.HTTP_BURST_S
    refusal_delay_s: float = limits.REFUSAL_DELAY_S
    min_free_disk_bytes: int = limits.MIN_FREE_DISK_BYTES

    # request and session limits
    #: Requests one IP address may have waiting or in chat at once.
    max_open_requests_per_ip: int = limits.MAX_OPEN_REQUESTS_PER_IP
    #: A request nobody accepts expires after this many seconds.
    request_expiry_s: float = limits.REQUEST_EXPIRY_S
    #: A waiting visitor whose help box has been gone this long is abandoned.
    visitor_grace_s: float = limits.VISITOR_GRACE_S
    #: How often the sweeper looks for expired and abandoned requests.
    sweep_interval_s: float = limits.SWEEP_INTERVAL_S
    ready_store_grace_s: float = limits.READY_STORE_GRACE_S

    # the visitor's rating (server/api_visitor.py)
    #: A session may be rated this long after it ended, seconds.
    rating_window_s: float = limits.RATING_WINDOW_S
    #: Longest comment sent with a rating, characters.
    max_rating_comment_chars: int = limits.MAX_RATING_COMMENT_CHARS

    # screen sharing
    max_screen_frame_bytes: int = limits.MAX_SCREEN_FRAME_BYTES
    join_code_ttl_s: float = limits.JOIN_CODE_TTL_S
    join_code_max_tries: int = limits.JOIN_CODE_MAX_TRIES
    join_attempts_per_minute: int = limits.JOIN_ATTEMPTS_PER_MINUTE
    join_code_renewals: int = limits.JOIN_CODE_RENEWALS
    agent_grace_s: float = limits.AGENT_GRACE_S
    agent_ping_interval_s: float = limits.AGENT_PING_INTERVAL_S
    agent_link_timeout_s: float = limits.AGENT_LINK_TIMEOUT_S
    #: Frames the agent may have unacknowledged (see protocol/screen.py).
    screen_window: int = limits.SCREEN_WINDOW
    #: Sharing from the visitor's browser (``/ws/share``): the largest chunk
    #: and the most chunks a second (see protocol/limits.py).
    browser_share_max_chunk_bytes: int = limits.BROWSER_SHARE_MAX_CHUNK_BYTES
    browser_share_chunks_per_s: int = limits.BROWSER_SHARE_CHUNKS_PER_S
    max_input_events_per_s: int = limits.MAX_INPUT_EVENTS_PER_S
    max_clipboard_chars: int = limits.MAX_CLIPBOARD_CHARS
    max_strokes: int = limits.MAX_STROKES
    annotations_per_minute: int = limits.ANNOTATIONS_PER_MINUTE
    #: Policy: may clipboard text go rep -> visitor, visitor -> rep? (The
    #: visitor can switch each direction off in the agent as well.)
    clipboard_to_visitor: bool = True
    clipboard_from_visitor: bool = True

    # files (protocol/files.py, server/transfers.py)
    #: Largest data in one file chunk, and a file leg's credit window, bytes.
    file_chunk_bytes: int = limits.FILE_CHUNK_BYTES
    file_window_bytes: int = limits.FILE_WINDOW_BYTES
    #: Largest file and most files per support session (a queue's policy
    #: may set lower ones in the admin center).
    max_file_bytes: int = limits.MAX_FILE_BYTES
    max_files_per_session: int = limits.MAX_FILES_PER_SESSION
    #: Unfinished uploads one sender may have at once.
    max_active_transfers: int = limits.MAX_ACTIVE_TRANSFERS
    #: File control messages per connection per minute (their own budget,
    #: apart from ``messages_per_minute``; chunks spend neither).
    file_messages_per_minute: int = limits.FILE_MESSAGES_PER_MINUTE
    #: Files in transit are removed from the server this long after they were offered, seconds.
    file_retention_s: float = limits.FILE_RETENTION_S
    #: An unfinished transfer with no new bytes for this long is cancelled
    #: (both parties are told), seconds.
    file_idle_s: float = limits.FILE_IDLE_S

    # recording (protocol/recording.py, server/recording_writer.py)
    #: A segment closes at least this often: the most a crash loses, seconds.
    recording_segment_s: float = limits.RECORDING_SEGMENT_S
    #: Recordings are removed this many days after they started.
    recording_retention_days: float = limits.RECORDING_RETENTION_DAYS
    #: Closed segments waiting for the disk, at most, bytes (per node).
    recording_max_pending_bytes: int = limits.RECORDING_MAX_PENDING_BYTES
    #: Where segments are kept; empty: ``<data_dir>/recordings``.
    recording_dir: str = ""

    # access changes
    #: How often every node reads new access changes (a user's role, queues
    #: or status) and re-checks that user's open sockets: a change reaches
    #: every socket on every node within this, whoever made it.
    access_poll_interval_s: float = limits.ACCESS_POLL_INTERVAL_S

    # presence
    #: A rep's presence expires this long after the last heartbeat.
    presence_ttl_s: float = limits.PRESENCE_TTL_S
    #: An online console renews its presence-log stretch at most this often.
    presence_log_renew_s: float = limits.PRESENCE_LOG_RENEW_S
    #: Open stretches not renewed for this long are closed at their last renewal
    #: by the sweeper (their node died); must exceed ``presence_log_renew_s``.
    presence_log_stale_s: float = limits.PRESENCE_LOG_STALE_S

    report_max_days: int = limits.REPORT_MAX_DAYS
    unanswered_page: int = limits.UNANSWERED_PAGE
    unanswered_csv_rows: int = limits.UNANSWERED_CSV_ROWS
    # the live board
    #: At most one board snapshot per socket this often (news is coalesced).
    board_min_interval_s: float = limits.BOARD_MIN_INTERVAL_S
    #: A fresh board snapshot at least this often, news or not.
    board_refresh_s: float = limits.BOARD_REFRESH_S
    #: Waiting visitors and active sessions a snapshot lists at most.
    board_max_waiting: int = limits.BOARD_MAX_WAITING
    board_max_sessions: int = limits.BOARD_MAX_SESSIONS
    #: Board sockets one user may hold open on one node.
    board_sockets_per_user: int = limits.BOARD_SOCKETS_PER_USER

    # accounts and login
    #: Failed logins allowed per account, and per IP, within the window.
    login_attempts_per_account: int = limits.LOGIN_ATTEMPTS_PER_ACCOUNT
    login_attempts_per_ip: int = limits.LOGIN_ATTEMPTS_PER_IP
    login_window_s: float = limits.LOGIN_WINDOW_S
    #: After the limit, each further attempt doubles the wait from this base.
    login_backoff_base_s: float = limits.LOGIN_BACKOFF_BASE_S
    #: Console login lifetime.
    auth_session_ttl_s: float = limits.AUTH_SESSION_TTL_S
    #: Argon2id cost (RFC 9106 second recommended option by default).
    argon2_time_cost: int = limits.ARGON2_TIME_COST
    argon2_memory_kib: int = limits.ARGON2_MEMORY_KIB
    #: Argon2id hashes/checks running at once per node, and waiting for a
    #: thread; past both a login gets 429 ``too_many_requests``.
    argon2_max_concurrent: int = limits.ARGON2_MAX_CONCURRENT
    argon2_max_waiting: int = limits.ARGON2_MAX_WAITING
    argon2_busy_retry_after_s: float = limits.ARGON2_BUSY_RETRY_AFTER_S
    #: How long a second-factor ticket (password done, code still to come) lives.
    second_factor_ticket_ttl_s: float = limits.SECOND_FACTOR_TICKET_TTL_S

    # the daily summary e-mail (server/daily_summary.py): off unless both
    # smtp_host and daily_summary_to are set
    #: The SMTP server that relays the summary; port 465 means TLS from the
    #: first byte, any other port plain SMTP upgraded by STARTTLS when
    #: ``smtp_starttls``.
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_starttls: bool = True
    #: Login at the SMTP server, if it wants one (empty: none).
    smtp_username: str = ""
    smtp_password: str = ""
    #: The summary's sender (``From``).
    smtp_from: str = "desklink@localhost"
    smtp_timeout_s: float = limits.SMTP_TIMEOUT_S
    #: Where the visitor's replies to offline-message e-mails go (the
    #: ``Reply-To`` of the copy and of every answer); empty: ``smtp_from``.
    #: Offline messages are offered only when ``smtp_host`` is set.
    offline_reply_to: str = ""
    #: Who receives the summary: addresses, comma-separated.
    daily_summary_to: tuple[str, ...] = ()
    #: The local hour (0-23, in ``daily_summary_tz``) from which yesterday's
    #: summary is sent; a node that starts later that day sends it then.
    daily_summary_hour: int = 7
    #: The IANA time zone whose calendar day the summary covers.
    daily_summary_tz: str = "UTC"
    daily_summary_retry_s: float = limits.DAILY_SUMMARY_RETRY_S
    daily_summary_max_tries: int = limits.DAILY_SUMMARY_MAX_TRIES

    # relay nodes (issue 15): which sockets this node serves, and how web
    # nodes find relay nodes (relay/nodes.py, server/relay_nodes.py)
    #: ``all`` (one node does everything, the default), ``web`` (pages, API,
    #: chat sockets; hands screen sessions to relay nodes) or ``relay``
    #: (only the screen sockets and health).
    role: str = "all"
    #: This node's name among the relay nodes (in every relay token it
    #: signs for); empty: ``<host>:<port>``.
    node_name: str = ""
    #: Where clients reach this relay node (e.g. https://relay-1.example.com);
    #: empty: ``http://<host>:<port>``.
    relay_public_url: str = ""
    #: The secret every web and relay node shares to sign and check relay
    #: tokens, at least 32 bytes; required unless ``role`` is ``all`` (then a
    #: fresh one is made per process).
    relay_secret: str = ""
    relay_capacity: int = limits.RELAY_CAPACITY
    relay_heartbeat_s: float = limits.RELAY_HEARTBEAT_S
    relay_stale_s: float = limits.RELAY_STALE_S
    relay_token_ttl_s: float = limits.RELAY_TOKEN_TTL_S
    relay_owner_ttl_s: float = limits.RELAY_OWNER_TTL_S
    relay_handout_hold_s: float = limits.RELAY_HANDOUT_HOLD_S
    relay_choice_wait_s: float = limits.RELAY_CHOICE_WAIT_S
    relay_renew_s: float = limits.RELAY_RENEW_S

    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def effective_node_name(self) -> str:
        return self.node_name or f"{self.host}:{self.port}"

    @property
    def effective_relay_url(self) -> str:
        host = self.host if ":" not in self.host else f"[{self.host}]"
        return (self.relay_public_url or f"http://{host}:{self.port}").rstrip("/")

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'desklink.db').resolve()}"

    @property
    def effective_recording_dir(self) -> Path:
        return Path(self.recording_dir) if self.recording_dir else self.data_dir / "recordings"

    @property
    def effective_agent_dir(self) -> Path:
        return Path(self.agent_dir) if self.agent_dir else self.data_dir / "agents"

    @property
    def branding_limits(self) -> BrandingLimits:
        """The branding settings as protocol/branding.py takes them."""
        return BrandingLimits(
            fields=self.max_prechat_fields,
            label_chars=self.max_prechat_label_chars,
            options=self.max_prechat_options,
            name_chars=self.max_context_key_chars,
            title_chars=self.max_brand_title_chars,
            welcome_chars=self.max_welcome_chars,
            answer_chars=self.max_prechat_answer_chars,
            logo_bytes=self.max_logo_bytes,
        )

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
        """Build settings from ``DESKLINK_*`` variables, then ``overrides``."""
        env = os.environ if environ is None else environ
        for name, instead in RETIRED.items():
            if "DESKLINK_" + name.upper() in env:
                raise ConfigError(f"DESKLINK_{name.upper()} is no longer read: {instead}")
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            if f.name == "extra":
                continue
            raw = env.get("DESKLINK_" + f.name.upper())
            if raw is None:
                continue
            values[f.name] = _convert(f.name, f.type, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(**values)
        settings.validate()
        return settings

    def validate(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                if f.name not in ("port", "daily_summary_hour", "metrics_port") and not (0 < value < math.inf):
                    raise ConfigError(f"setting {f.name} must be a positive finite number, got {value}")
        if self.presence_log_stale_s <= self.presence_log_renew_s:
            raise ConfigError(
                f"setting presence_log_stale_s ({self.presence_log_stale_s}) must exceed presence_log_renew_s"
                f" ({self.presence_log_renew_s}), or live consoles' stretches would be closed"
            )
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"setting port must be 0-65535, got {self.port}")
        if not 0 <= self.metrics_port <= 65535:
            raise ConfigError(f"setting metrics_port must be 0-65535 (0: no metrics listener), got {self.metrics_port}")
        if self.log_format not in ("text", "json"):
            raise ConfigError(f"setting log_format must be text or json, got {self.log_format!r}")
        if self.metrics_token and len(self.metrics_token) < 16:
            raise ConfigError("setting metrics_token must be at least 16 characters (or empty: no /metrics on the public port)")
        if not 0 < self.smtp_port <= 65535:
            raise ConfigError(f"setting smtp_port must be 1-65535, got {self.smtp_port}")
        if not 0 <= self.daily_summary_hour <= 23:
            raise ConfigError(f"setting daily_summary_hour must be an hour from 0 to 23, got {self.daily_summary_hour}")
        try:
            ZoneInfo(self.daily_summary_tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(
                f"setting daily_summary_tz: {self.daily_summary_tz!r} is not a time zone like Europe/Paris"
            ) from None
        for address in self.daily_summary_to:
            if "@" not in address or any(c in address for c in " \r\n<>,"):
                raise ConfigError(f"setting daily_summary_to: {address!r} is not an e-mail address like ops@example.com")
        if self.offline_reply_to and ("@" not in self.offline_reply_to or any(c in self.offline_reply_to for c in " \r\n,")):
            raise ConfigError(f"setting offline_reply_to: {self.offline_reply_to!r} is not an e-mail address like help@example.com")
        self._validate_role()
        for entry in self.trusted_proxies:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ConfigError(
                    f"setting trusted_proxies: {entry!r} is not an IP address or network like 10.0.0.0/24"
                ) from None

    def _validate_role(self) -> None:
        if self.role not in ROLES:
            raise ConfigError(f"setting role must be one of {', '.join(ROLES)}, got {self.role!r}")
        if self.relay_stale_s <= self.relay_heartbeat_s:
            raise ConfigError(
                f"setting relay_stale_s ({self.relay_stale_s}) must exceed relay_heartbeat_s"
                f" ({self.relay_heartbeat_s}), or live relay nodes would be taken for dead"
            )
        if len(self.effective_node_name) > MAX_NODE_NAME_CHARS:
            raise ConfigError(f"setting node_name must be at most {MAX_NODE_NAME_CHARS} characters")
        if self.role == "all":
            return
        if not self.redis_url:
            raise ConfigError(f"role {self.role} needs redis_url: web and relay nodes find each other through Redis")
        if len(self.relay_secret.encode()) < MIN_SECRET_BYTES:
            raise ConfigError(
                f"role {self.role} needs relay_secret, at least {MIN_SECRET_BYTES} bytes and the same on every node"
                " (e.g. from: python3 -c 'import secrets; print(secrets.token_urlsafe(32))')"
            )


def _convert(name: str, type_: Any, raw: str) -> Any:
    type_name = type_ if isinstance(type_, str) else getattr(type_, "__name__", str(type_))
    try:
        if type_name == "int":
            return int(raw)
        if type_name == "float":
            return float(raw)
        if type_name == "bool":
            if raw.lower() in ("1", "true", "yes", "on"):
                return True
            if raw.lower() in ("0", "false", "no", "off", ""):
                return False
            raise ValueError(raw)
        if type_name == "Path":
            return Path(raw)
        if type_name.startswith("tuple"):
            return _split(raw)
    except ValueError as exc:
        raise ConfigError(f"DESKLINK_{name.upper()}={raw!r} is not a valid {type_name}") from exc
    return raw
