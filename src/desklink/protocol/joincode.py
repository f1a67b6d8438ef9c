"""Screen-sharing join codes: made, parsed and spoken in one place, no I/O.

A join code is 9 digits, read aloud in three groups (``123 456 789``): a
3-digit *slot* that finds the code in the store, and a 6-digit *secret* the
store keeps only hashed. Nine digits are what a visitor can read over the
phone and type without mistakes; the design keeps that and puts the
security in how many guesses a code can take instead.

Guessing, and why a code cannot be burned cheaply
-------------------------------------------------

There are :data:`SLOTS` slots, so at most that many live codes at a time.
Each live code is burned after ``join_code_max_tries`` wrong secrets for its
slot, counted across every address (default
:data:`~desklink.protocol.limits.JOIN_CODE_MAX_TRIES`, 100). Join attempts
are also limited per address (``join_attempts_per_minute``).

* An attacker who wants one code can try at most ``max_tries`` secrets
  before it burns: success ``<= max_tries / 10**6`` per code, 1 in 10 000 at
  the default, however many addresses they use.
* An attacker who wants to deny service must send ``max_tries`` wrong
  secrets to every slot, 100 000 at the default, each costing an address
  one of its attempts a minute (1 000 addresses need 10 minutes for one
  sweep). Earlier the limit was 3, and 3 000 guesses burned every code.
* A burned or lost code costs the visitor nothing but a click: while the
  rep's screen request is outstanding, the help box gets a fresh code for the
  same session itself (``join_code_renewals`` per request), with a fresh
  ``max_tries``. Each fresh code is a fresh 1-in-10 000 chance for an
  attacker sweeping all slots, which is why renewals are limited.

:func:`attacker_odds` computes the first bound for other settings.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from desklink.errors import ProtocolError

SLOT_DIGITS = 3
SECRET_DIGITS = 6
CODE_DIGITS = SLOT_DIGITS + SECRET_DIGITS
#: Live codes a deployment can hold at once (one per slot).
SLOTS: int = 10**SLOT_DIGITS
#: Possible secrets per slot.
SECRETS: int = 10**SECRET_DIGITS
#: Why an agent's join failed, as the agent prints it to the visitor (a
#: WebSocket close reason: at most 123 bytes). It says what to do next.
WRONG_CODE = "that code is wrong, used or expired: click New code in the chat window and run the new command"
#: Longest text accepted as a code: the digits with spaces, dashes or dots
#: between groups, and some slack; anything longer is not a typo.
MAX_CODE_CHARS = 32


@dataclass(frozen=True, slots=True)
class JoinCode:
    slot: int
    secret: str

    @property
    def digits(self) -> str:
        """The 9 digits, as typed on the command line."""
        return f"{self.slot:0{SLOT_DIGITS}d}{self.secret}"

    @property
    def spoken(self) -> str:
        """The code as shown and read aloud: ``123 456 789``."""
        d = self.digits
        return f"{d[:3]} {d[3:6]} {d[6:]}"

    @property
    def secret_hash(self) -> str:
        return secret_hash(self.secret)


def new_secret() -> str:
    """A uniformly random 6-digit secret (the slot is chosen by the store,
    which knows which slots are free)."""
    return f"{secrets.randbelow(SECRETS):0{SECRET_DIGITS}d}"


def make(slot: int, secret: str) -> JoinCode:
    if not 0 <= slot < SLOTS:
        raise ValueError(f"slot must be 0-{SLOTS - 1}, got {slot}")
    if len(secret) != SECRET_DIGITS or not secret.isascii() or not secret.isdigit():
        raise ValueError(f"secret must be {SECRET_DIGITS} ASCII digits")
    return JoinCode(slot, secret)


def parse(text: str) -> JoinCode:
    """A code as a visitor may type it: 9 ASCII digits, with any spaces,
    dashes or dots between them. :class:`ProtocolError` otherwise."""
    if len(text) > MAX_CODE_CHARS:
        raise ProtocolError("a join code has 9 digits")
    digits = "".join(c for c in text if c not in " -.\t")
    if len(digits) != CODE_DIGITS or not digits.isascii() or not digits.isdigit():
        raise ProtocolError("a join code has 9 digits")
    return JoinCode(int(digits[:SLOT_DIGITS]), digits[SLOT_DIGITS:])


def secret_hash(secret: str) -> str:
    """What the store keeps of a secret (SHA-256 hex). A 6-digit secret is
    no password: the hash only keeps live codes out of database dumps and
    logs for their few minutes of life."""
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def attacker_odds(max_tries: int, renewals: int = 0) -> float:
    """The most an attacker, with any number of addresses, can expect to win
    one screen request: each of its ``1 + renewals`` codes takes at most
    ``max_tries`` guesses of ``10**6`` secrets before it burns."""
    return min(1.0, (1 + renewals) * max_tries / SECRETS)
