"""TOTP second factor (RFC 6238) and recovery codes: the pure parts.

Codes are what every authenticator app makes: SHA-1, 6 digits, 30-second
steps. A code is accepted for the current step and one step either side
(clock drift and typing time), and :func:`matching_step` says which step it
matched so the caller can refuse the same code twice (RFC 6238 section 5.2).

Recovery codes are 10 random base32 characters (50 bits) shown as
``xxxxx-xxxxx``; the store keeps only their SHA-256 (:func:`recovery_hash`).
Case, spaces and dashes do not matter when one is typed back.

Nothing here does I/O; the caller passes the time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable

import pyotp
import segno

#: The policy key in the store: ``{"roles": ["admin", ...]}`` lists the roles
#: that must sign in with a second factor.
POLICY_KEY = "second_factor"
TOTP_DIGITS = 6
TOTP_STEP_S = 30
#: Steps either side of now whose code is still accepted.
TOTP_DRIFT_STEPS = 1
#: Recovery codes handed out at enrolment and on regeneration.
RECOVERY_CODES = 10
RECOVERY_CODE_CHARS = 10
#: Longest code input looked at (a recovery code with separators fits easily).
MAX_CODE_CHARS = 64
_BASE32 = "abcdefghijklmnopqrstuvwxyz234567"


def new_secret() -> str:
    """A fresh base32 secret of 160 bits (RFC 4226's recommended length)."""
    return pyotp.random_base32(32)


def otpauth_uri(secret: str, username: str, issuer: str) -> str:
    """The ``otpauth://totp/...`` URI authenticator apps read from the QR code."""
    return pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_STEP_S).provisioning_uri(
        name=username, issuer_name=issuer
    )


def qr_data_uri(uri: str) -> str:
    """A PNG QR code of ``uri`` as a ``data:`` URI (allowed by the pages'
    CSP ``img-src 'self' data:``; no inline style or script involved)."""
    return str(segno.make(uri, error="m").png_data_uri(scale=5, border=2))


def looks_like_totp(code: str) -> bool:
    digits = code.replace(" ", "")
    return len(digits) == TOTP_DIGITS and digits.isascii() and digits.isdigit()


def matching_step(secret: str, code: str, now: float) -> int | None:
    """The time step (``int(now) // 30`` give or take one) whose code is
    ``code``, or None when it matches none. Compared in constant time."""
    code = code.replace(" ", "")
    if not looks_like_totp(code):
        return None
    totp = pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_STEP_S)
    step = totp.timecode(int(now))
    found = None
    for offset in range(-TOTP_DRIFT_STEPS, TOTP_DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step + offset), code):
            found = step + offset
    return found


def current_code(secret: str, now: float) -> str:
    """The code an authenticator shows at ``now`` (for tests and tools)."""
    return pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_STEP_S).at(int(now))


def new_recovery_codes(count: int = RECOVERY_CODES) -> list[str]:
    codes = []
    for _ in range(count):
        raw = "".join(secrets.choice(_BASE32) for _ in range(RECOVERY_CODE_CHARS))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes


def normalise_recovery_code(code: str) -> str:
    return "".join(c for c in code.lower() if c not in " -\t")


def recovery_hash(code: str) -> str:
    """What the store keeps of a recovery code: SHA-256 of its normal form."""
    return hashlib.sha256(normalise_recovery_code(code).encode("utf-8", "surrogatepass")).hexdigest()


def recovery_hashes(codes: Iterable[str]) -> list[str]:
    return [recovery_hash(c) for c in codes]


def required_for(policy: dict[str, object] | None, role: str) -> bool:
    """Whether the policy value (``{"roles": [...]}``) requires a second
    factor for ``role``; no policy requires nothing."""
    roles = (policy or {}).get("roles")
    return isinstance(roles, list) and role in roles
