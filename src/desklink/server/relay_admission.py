"""A relay node's door: the relay token on ``/ws/agent``, ``/ws/share`` and
``/ws/viewer`` (``?token=``), checked before anything else and without the
database or the broker (:func:`desklink.protocol.relay_token.verify` needs
only the shared secret and the clock).

Only a node with ``role = relay`` asks for a token; a node with role ``all``
is its own relay and admits as it always did (join code, login cookie), but
checks a token that comes along like a relay node does (the tickets it hands
out name itself), so clients have one way in everywhere. A
refusal accepts the socket and closes it at once, so the client reads the
code and the reason (a close before the handshake would reach it as a bare
HTTP 403):

=====================================  ======  ==============================
token                                  close   reason
=====================================  ======  ==============================
missing, malformed or wrong MAC        4005    ``relay token forged``
past its expiry                        4005    ``relay token expired``
for another session                    4005    ``relay token for another session``
for another kind of socket             4005    ``relay token for another role``
for another relay node                 4006    ``another relay node holds this session``
=====================================  ======  ==============================
"""

from __future__ import annotations

import time

from starlette.websockets import WebSocket

from desklink.config import Settings
from desklink.errors import RelayTokenError
from desklink.protocol import codes
from desklink.protocol.relay_token import RelayGrant, RelayRole, new_secret, verify

__all__ = ["REFUSALS", "admit", "grant_of", "relay_secret"]

#: Close code and reason per refusal.
REFUSALS: dict[str, tuple[int, str]] = {
    "forged": (codes.CLOSE_RELAY_TOKEN, "relay token forged"),
    "expired": (codes.CLOSE_RELAY_TOKEN, "relay token expired"),
    "other_session": (codes.CLOSE_RELAY_TOKEN, "relay token for another session"),
    "other_role": (codes.CLOSE_RELAY_TOKEN, "relay token for another role"),
    "other_node": (codes.CLOSE_OTHER_RELAY, "another relay node holds this session"),
}

#: A single node's own secret (role ``all``): it signs and checks its own
#: tokens, so nobody else needs it, and a restart makes old tokens worthless.
_PROCESS_SECRET = new_secret()


def relay_secret(settings: Settings) -> bytes:
    """The secret relay tokens are signed and checked with."""
    return settings.relay_secret.encode() if settings.relay_secret else _PROCESS_SECRET


def check(
    settings: Settings, token: str, role: RelayRole | tuple[RelayRole, ...], session: str | None, now: float
) -> RelayGrant:
    """The grant of ``token`` at this node, or :class:`RelayTokenError`."""
    return verify(token, relay_secret(settings), now=now, node=settings.effective_node_name, role=role, session=session)


async def admit(
    ws: WebSocket, settings: Settings, role: RelayRole | tuple[RelayRole, ...], session: str | None = None
) -> bool:
    """True when the socket may go on: this node is not a relay node and no
    token came, or the token holds. Otherwise the socket is accepted, closed with the refusal's
    code and reason, and False returned."""
    if settings.role != "relay" and "token" not in ws.query_params:
        return True
    try:
        ws.state.relay_grant = check(settings, ws.query_params.get("token", ""), role, session, time.time())
    except RelayTokenError as exc:
        code, reason = REFUSALS[exc.reason]
        await ws.accept()
        await ws.close(code, reason)
        return False
    return True


def grant_of(ws: WebSocket) -> RelayGrant | None:
    """The grant :func:`admit` let in (None when no token was asked for or given)."""
    grant = getattr(ws.state, "relay_grant", None)
    return grant if isinstance(grant, RelayGrant) else None
