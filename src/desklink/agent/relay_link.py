"""Where the agent shares its screen: a relay ticket from the web node, and
what to do when the relay socket closes.

An agent started with the web node's address and a join code (no
``--relay-token``) asks ``POST <server>/api/relay/ticket`` with the code for
the session's relay node and a token (:func:`ask_ticket`), connects there,
and after any drop that reconnecting can mend asks again with the token it
has, so it follows the session to another relay node when its own died
(docs/protocol.md, *Relay nodes and relay tokens*). :func:`after_close` is
the decision, a pure function of the close code and reason.
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass

from desklink.errors import DeskLinkError, Refused
from desklink.protocol import codes

__all__ = ["FINAL_CLOSE_CODES", "Reconnect", "Ticket", "TicketUnavailable", "after_close", "ask_ticket", "http_base"]

#: Close codes after which reconnecting cannot help.
FINAL_CLOSE_CODES = frozenset({
    codes.CLOSE_AUTH, codes.CLOSE_ENDED, codes.CLOSE_LIMITED, codes.CLOSE_POLICY, codes.CLOSE_NORMAL,
})
#: The one 4005 refusal a fresh ticket mends (the others name a forged or
#: another session's token: final).
EXPIRED_REASON = "relay token expired"
#: How long one ticket ask may take, seconds.
TICKET_TIMEOUT_S = 15.0
#: Largest ticket answer read (it is a few hundred bytes).
MAX_TICKET_BYTES = 8192


@dataclass(frozen=True, slots=True)
class Reconnect:
    """What to do after the agent's socket closed."""

    #: Stop: reconnecting cannot help.
    final: bool
    #: Ask the web node for a fresh ticket first (the relay node may have
    #: died, moved, or the token ran out); an agent without a web node to
    #: ask (``--relay-token``) cannot, and stops when it must.
    reask: bool
    #: Come back at once (the node drains), not after the usual backoff.
    at_once: bool
    #: The reconnect needs a new ticket: the old one cannot be used again.
    needs_ticket: bool = False


def after_close(code: int | None, reason: str = "") -> Reconnect:
    """The decision for a socket closed with ``code`` and ``reason`` (None:
    the connection was lost without a close frame, or never opened)."""
    if code in FINAL_CLOSE_CODES:
        return Reconnect(final=True, reask=False, at_once=False)
    if code == codes.CLOSE_RELAY_TOKEN:
        if reason == EXPIRED_REASON:
            return Reconnect(final=False, reask=True, at_once=True, needs_ticket=True)
        return Reconnect(final=True, reask=False, at_once=False)  # forged, or another session's
    if code == codes.CLOSE_OTHER_RELAY:  # the session lives on another node now
        return Reconnect(final=False, reask=True, at_once=True, needs_ticket=True)
    if code == codes.CLOSE_RECONNECT:  # the node drains
        return Reconnect(final=False, reask=True, at_once=True)
    # Lost (1006, no close frame), restarting (1012), going away (1001), an
    # error: the relay may be gone.
    return Reconnect(final=False, reask=True, at_once=False)


@dataclass(frozen=True, slots=True)
class Ticket:
    url: str  # the relay node (http or https)
    token: str
    node: str = ""


class TicketUnavailable(DeskLinkError):
    """The web node could not give a ticket now (unreachable, or no relay
    node alive): try again after the backoff."""

    code = "unavailable"


def http_base(server: str) -> str:
    """``server`` as the visitor typed it, as an http(s) base URL (a bare
    host means TLS)."""
    server = server.strip().rstrip("/")
    for scheme, http_scheme in (("https://", "https://"), ("http://", "http://"), ("wss://", "https://"), ("ws://", "http://")):
        if server.startswith(scheme):
            return http_scheme + server[len(scheme) :]
    return "https://" + server


def ask_ticket(server: str, *, code: str = "", token: str = "") -> Ticket:
    """``POST /api/relay/ticket`` with the join code or the token the agent
    has (blocking: run it on a worker thread). Raises :class:`Refused` when
    the web node says no for good (wrong code, session over, too many
    tries) and :class:`TicketUnavailable` when it may say yes later."""
    body = json.dumps({"code": code} if code else {"token": token}).encode()
    request = urllib.request.Request(
        http_base(server) + "/api/relay/ticket", data=body, method="POST",
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=TICKET_TIMEOUT_S, context=ssl.create_default_context()) as answer:
            data = json.loads(answer.read(MAX_TICKET_BYTES))
    except urllib.error.HTTPError as exc:
        message = _message(exc)
        if exc.code in (401, 403, 404, 409, 429, 400, 413):
            raise Refused(message) from None
        raise TicketUnavailable(message) from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise TicketUnavailable(f"could not ask {server} for a relay: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("url"), str) or not isinstance(data.get("token"), str):
        raise TicketUnavailable("the server's relay answer was not understood")
    return Ticket(url=data["url"], token=data["token"], node=str(data.get("node", "")))


def _message(exc: urllib.error.HTTPError) -> str:
    try:
        error = json.loads(exc.read(MAX_TICKET_BYTES))["error"]
        return str(error["message"])
    except (ValueError, OSError, KeyError, TypeError):
        return f"HTTP {exc.code} {exc.reason}"
