"""Relay tokens: what a web node hands both ends of a screen session so a
relay node can admit them without asking the database. No I/O.

Theory of operation
-------------------

When a session escalates to the screen, the web node picks one relay node
and gives the agent (or the sharing browser) and each viewer that node's URL
and a token. The relay checks the token with the secret every node shares
(``relay_secret``) and nothing else: no store, no broker round trip. So a
token says everything the relay needs to decide:

* ``session``: the support session whose screen this is;
* ``role``: ``agent``, ``share`` (a sharing browser) or ``viewer``;
* ``subject``: the rep's user id for a viewer (0 for the visitor's side);
* ``node``: the relay node that owns the session, so a token taken to
  another relay is refused there (the owner is the only node that holds the
  session's state);
* ``expires``: Unix time in whole seconds, after which it is refused.

Wire form: ``v1.<payload>.<mac>``, both parts base64url without padding.
The payload is the JSON array ``[session, role, subject, node, expires]``;
the MAC is HMAC-SHA256 over ``v1.<payload>`` with the secret, so any change
to any byte of the version, the payload or the MAC is refused. A token is a
few hundred characters at most (:data:`MAX_TOKEN_CHARS`): it travels in a
URL's query string.

:func:`verify` compares the MAC in constant time before it looks at the
payload, takes the time as an argument (no clock of its own), and refuses
with a distinct :class:`RelayTokenError` reason each: ``forged`` (malformed
or a wrong MAC: one reason for both, so a prober learns nothing from the
difference), ``other_session``, ``other_role``, ``other_node`` and
``expired``. A token is not single use: the agent reconnects with the same
one while it lasts, and its lifetime (``relay_token_ttl_s``) bounds what a
leaked token is worth.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass
from typing import Final, Literal, get_args

import msgspec

from desklink.errors import RelayTokenError

__all__ = [
    "MAX_TOKEN_CHARS",
    "MIN_SECRET_BYTES",
    "RefusalReason",
    "RelayGrant",
    "RelayRole",
    "RelayTokenError",
    "new_secret",
    "renewable",
    "sign",
    "verify",
]

RelayRole = Literal["agent", "share", "viewer"]
ROLES: Final[tuple[str, ...]] = get_args(RelayRole)
RefusalReason = Literal["forged", "expired", "other_session", "other_role", "other_node"]
REASONS: Final[tuple[str, ...]] = get_args(RefusalReason)

VERSION: Final = "v1"
#: Longest token accepted; anything longer is refused unread (it arrives in a
#: URL, and HMAC over megabytes would be a cheap way to burn a relay's CPU).
MAX_TOKEN_CHARS: Final = 512
#: Session ids and node names are short; longer ones are a caller's mistake.
MAX_FIELD_CHARS: Final = 100
#: A secret shorter than this is refused: HMAC-SHA256 is only as strong as
#: its key, and 32 bytes is the hash's own size.
MIN_SECRET_BYTES: Final = 32

_PREFIX: Final = VERSION.encode() + b"."


@dataclass(frozen=True, slots=True)
class RelayGrant:
    """What a valid token grants: this role on this session at this node
    until ``expires`` (Unix seconds)."""

    session: str
    role: RelayRole
    subject: int
    node: str
    expires: int


def new_secret() -> bytes:
    """A fresh secret for a single node (role ``all``), which signs and checks
    its own tokens and so needs to share it with nobody."""
    return secrets.token_bytes(MIN_SECRET_BYTES)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    if not text or len(text) % 4 == 1 or not text.isascii():
        raise ValueError("bad base64")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, signed: bytes) -> bytes:
    return hmac.new(secret, signed, hashlib.sha256).digest()


def _check_secret(secret: bytes) -> None:
    if len(secret) < MIN_SECRET_BYTES:
        raise ValueError(f"the relay secret must be at least {MIN_SECRET_BYTES} bytes")


def sign(grant: RelayGrant, secret: bytes) -> str:
    """The token for ``grant``. Raises ValueError for a grant no relay could
    admit (unknown role, empty or overlong names, a negative subject)."""
    _check_secret(secret)
    if grant.role not in ROLES:
        raise ValueError(f"unknown relay role {grant.role!r}")
    for name, value in (("session", grant.session), ("node", grant.node)):
        if not value or len(value) > MAX_FIELD_CHARS:
            raise ValueError(f"{name} must be 1 to {MAX_FIELD_CHARS} characters")
    if grant.subject < 0 or grant.expires < 0:
        raise ValueError("subject and expiry must not be negative")
    payload = _b64(msgspec.json.encode([grant.session, grant.role, grant.subject, grant.node, grant.expires]))
    signed = _PREFIX + payload.encode("ascii")
    token = f"{VERSION}.{payload}.{_b64(_mac(secret, signed))}"
    if len(token) > MAX_TOKEN_CHARS:
        raise ValueError("the token would be too long")
    return token


def expiry(now: float, ttl_s: float) -> int:
    """Unix seconds ``ttl_s`` after ``now``, rounded up."""
    return math.ceil(now + ttl_s)


_Payload = tuple[str, str, int, str, int]


def _authentic(token: str, secret: bytes) -> RelayGrant:
    """The grant in ``token`` if its MAC is right; else ``forged``."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS or not token.isascii():
        raise RelayTokenError("forged")
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != VERSION:
        raise RelayTokenError("forged")
    # The MAC is compared as its canonical text, so a token has exactly one
    # spelling (base64 decoders ignore the last character's spare bits).
    expected = _b64(_mac(secret, _PREFIX + parts[1].encode("ascii")))
    if not hmac.compare_digest(parts[2].encode("ascii"), expected.encode("ascii")):
        raise RelayTokenError("forged")
    # Only a token we signed gets this far, so what follows cannot fail for a
    # token from sign(); it is checked anyway, as any input is.
    try:
        session, role, subject, node, expires = msgspec.json.decode(_unb64(parts[1]), type=_Payload)
    except (ValueError, binascii.Error, msgspec.DecodeError):
        raise RelayTokenError("forged") from None
    if role not in ROLES:
        raise RelayTokenError("forged")
    return RelayGrant(session, role, subject, node, expires)  # type: ignore[arg-type]


def verify(
    token: str,
    secret: bytes,
    *,
    now: float,
    node: str,
    role: RelayRole | tuple[RelayRole, ...],
    session: str | None = None,
) -> RelayGrant:
    """The grant ``token`` carries, if it was signed with ``secret`` for this
    relay ``node``, one of ``role``, ``session`` (any when None: the agent
    learns its session from the token) and has not expired at ``now`` (Unix
    seconds). Raises :class:`RelayTokenError` otherwise, checked in this
    order: forged, other_session, other_role, other_node, expired."""
    _check_secret(secret)
    grant = _authentic(token, secret)
    if session is not None and not hmac.compare_digest(grant.session.encode(), session.encode()):
        raise RelayTokenError("other_session")
    roles = (role,) if isinstance(role, str) else role
    if grant.role not in roles:
        raise RelayTokenError("other_role")
    if grant.node != node:
        raise RelayTokenError("other_node")
    if now >= grant.expires:
        raise RelayTokenError("expired")
    return grant


def renewable(
    token: str, secret: bytes, *, now: float, grace_s: float, role: RelayRole | tuple[RelayRole, ...]
) -> RelayGrant:
    """The grant of ``token`` when a web node may trade it for a fresh one
    (the client lost its relay node, or its token ran out): signed with
    ``secret``, one of ``role``, for any node, and expired no longer than
    ``grace_s`` ago. Raises :class:`RelayTokenError`: ``forged``,
    ``other_role`` or ``expired``."""
    _check_secret(secret)
    grant = _authentic(token, secret)
    roles = (role,) if isinstance(role, str) else role
    if grant.role not in roles:
        raise RelayTokenError("other_role")
    if now >= grant.expires + grace_s:
        raise RelayTokenError("expired")
    return grant
