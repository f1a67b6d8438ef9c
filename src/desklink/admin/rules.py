"""The rules of administration, without any I/O: what a valid queue slug,
queue name, display name, allowed origin, queue file policy and queue
branding are, who is
acting, and which audit actions exist.

The last-admin guard is not here: it must be decided in the same
transaction as the change (see ``Store.update_user(keep_an_admin=True)``).
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from typing import Any, Final

from desklink import hours
from desklink.errors import ProtocolError
from desklink.protocol import branding as brand
from desklink.protocol.filepolicy import FilePolicy, parse_extensions
from desklink.protocol.server_messages import RECORDING_POLICIES, RecordingPolicy
from desklink.server.context import normalise_origin
from desklink.store.records import Branding, User

#: Queue slugs appear in embed snippets and URLs: short and plain.
MAX_SLUG_CHARS = 40
#: Allowed origins per queue: a provider's sites, not a directory of the web.
MAX_ORIGINS = 50
MAX_ORIGIN_CHARS = 200

#: Audit actions written by :class:`~desklink.admin.AdminActions` (the
#: admin center shows any action name in words).
USER_CREATE: Final = "user.create"
USER_ROLE: Final = "user.role"
USER_DISABLE: Final = "user.disable"
USER_ENABLE: Final = "user.enable"
USER_PASSWORD: Final = "user.password"
USER_DISPLAY_NAME: Final = "user.display_name"
QUEUE_CREATE: Final = "queue.create"
QUEUE_RENAME: Final = "queue.rename"
QUEUE_ORIGINS: Final = "queue.origins"
QUEUE_MEMBERS: Final = "queue.members"
QUEUE_FILES: Final = "queue.files"
QUEUE_RECORDING: Final = "queue.recording"
QUEUE_BRANDING: Final = "queue.branding"
QUEUE_LOGO: Final = "queue.logo"
QUEUE_HOURS: Final = "queue.hours"
POLICY_SECOND_FACTOR: Final = "policy.second_factor"
USER_SECOND_FACTOR_RESET: Final = "user.second_factor_reset"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who makes a change, for the audit log and the self-lockout rule:
    an admin of the admin center (``user_id`` set) or the command line."""

    user_id: int | None
    name: str

    @classmethod
    def admin(cls, user: User) -> Actor:
        return cls(user.id, user.username)

    @classmethod
    def command_line(cls) -> Actor:
        """The shell user running ``desklink admin``, as far as the system
        says (the command line has no login of its own)."""
        try:
            who = getpass.getuser()
        except (OSError, KeyError):
            who = ""
        return cls(None, f"command line ({who})" if who else "command line")


def check_recording_policy(value: str) -> RecordingPolicy:
    """A queue's screen recording policy, refused in words when it is not one."""
    for policy in RECORDING_POLICIES:
        if value == policy:
            return policy
    raise ProtocolError(f"recording must be one of {', '.join(RECORDING_POLICIES)} (not {value[:40]!r})")


def check_hours(raw: Any, *, max_intervals: int, max_holidays: int) -> dict[str, Any]:
    """A queue's business hours, checked and normalised (hours.py); ``{}``
    when they leave the desk always open. :class:`ProtocolError` in words."""
    parsed = hours.parse(raw, max_intervals=max_intervals, max_holidays=max_holidays)
    return {} if parsed.always_open else parsed.as_json()


def user_target(user: User) -> str:
    return f"user {user.username}"


def queue_target(slug: str) -> str:
    return f"queue {slug}"


def check_slug(slug: str) -> str:
    slug = slug.strip().lower()
    if not slug or len(slug) > MAX_SLUG_CHARS or not all(c.isascii() and (c.isalnum() or c in "-_") for c in slug):
        raise ProtocolError(f"slug must be 1-{MAX_SLUG_CHARS} letters, digits, - or _")
    return slug


def check_origins(origins: list[str]) -> list[str]:
    """Normalised origins (``https://www.example.com``), duplicates dropped,
    blanks ignored; :class:`ProtocolError` for anything that is not an
    http(s) origin."""
    if len(origins) > MAX_ORIGINS:
        raise ProtocolError(f"at most {MAX_ORIGINS} allowed origins")
    out: list[str] = []
    for raw in origins:
        o = normalise_origin(raw)
        if not o:
            continue
        scheme, sep, rest = o.partition("://")
        if scheme not in ("http", "https") or not sep or not rest or "/" in rest or len(o) > MAX_ORIGIN_CHARS:
            raise ProtocolError(f"{raw!r} is not an origin like https://www.example.com")
        if o not in out:
            out.append(o)
    return out


def check_name(what: str, name: str, max_chars: int) -> str:
    """A queue name or display name: trimmed, not empty, at most ``max_chars``."""
    name = name.strip()
    if not name or len(name) > max_chars:
        raise ProtocolError(f"{what} must be 1-{max_chars} characters")
    return name


def check_not_self_lockout(actor: Actor, target: User, *, role: str | None, disabled: bool | None) -> None:
    """An admin may not disable or demote the account they are using: the
    admin center would lock them out mid-change."""
    if actor.user_id == target.id and (disabled or (role is not None and role != "admin")):
        raise ProtocolError("you cannot disable or demote your own account")


def check_file_policy(
    *,
    to_visitor: bool,
    from_visitor: bool,
    max_file_bytes: int,
    max_files_per_session: int,
    blocked_extensions: str,
    server_max_file_bytes: int,
    server_max_files_per_session: int,
) -> FilePolicy:
    """A queue's file policy (see :mod:`desklink.protocol.filepolicy`):
    limits from 0 (the server's setting) up to the server's own settings,
    which are the ceiling; extensions parsed from ``"exe, .bat msi"``.
    :class:`ProtocolError` (400 ``bad_message``) for anything else."""
    for what, value, ceiling in (
        ("max_file_bytes", max_file_bytes, server_max_file_bytes),
        ("max_files_per_session", max_files_per_session, server_max_files_per_session),
    ):
        if isinstance(value, bool) or not 0 <= value <= ceiling:
            raise ProtocolError(f"{what} must be from 0 (the server's setting) to {ceiling} (the server's setting), got {value}")
    return FilePolicy(
        to_visitor=bool(to_visitor),
        from_visitor=bool(from_visitor),
        max_file_bytes=max_file_bytes,
        max_files_per_session=max_files_per_session,
        blocked_extensions=parse_extensions(blocked_extensions),
    )


def policy_view(policy: FilePolicy) -> dict[str, object]:
    """A file policy as the API and the audit log show it."""
    return {
        "to_visitor": policy.to_visitor,
        "from_visitor": policy.from_visitor,
        "max_file_bytes": policy.max_file_bytes,
        "max_files_per_session": policy.max_files_per_session,
        "blocked_extensions": list(policy.blocked_extensions),
    }


def check_branding(
    *, title: str, color: str, welcome: str, fields: object, limits: brand.BrandingLimits
) -> tuple[str, str, str, list[dict[str, object]]]:
    """A queue's branding, checked as a whole (protocol/branding.py): the
    title one line, the colour ``#rrggbb`` or empty, the welcome text and
    the pre-chat fields within their limits. :class:`ProtocolError` (400
    ``bad_message``) or :class:`~desklink.errors.TooLarge` (413 ``too_large``)."""
    return (
        brand.check_line("title", title, limits.title_chars),
        brand.check_color(color),
        brand.check_welcome(welcome, limits.welcome_chars),
        brand.check_fields(fields, limits),
    )


def check_logo(data: bytes, max_bytes: int) -> str:
    """A logo's media type from its magic bytes (PNG, JPEG, WebP; never SVG)."""
    return brand.logo_type(data, max_bytes)


def branding_view(b: Branding) -> dict[str, object]:
    """A queue's branding as the admin API and the audit log show it."""
    return {"title": b.title, "color": b.color, "welcome": b.welcome, "fields": list(b.fields), "logo_sha256": b.logo_sha256}
