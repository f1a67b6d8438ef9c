"""Error codes, grouped by class like HTTP status codes.

A code travels in ``error`` messages (``{"t": "error", "code": ...}``) and in
JSON error bodies of the HTTP API. The classes:

* ``bad_*``       the message itself is wrong (malformed, unknown, too big)
* ``*_limited``   a rate or count limit was passed; retry later
* ``auth_*`` / ``forbidden`` / ``not_found``   who may do what
* ``conflict_*``  the state moved on (someone else accepted, it ended)
* ``internal``    the server failed; the connection stays usable
* ``unavailable`` a backend (the broker) cannot be reached right now; nothing
  was changed, retry shortly

WebSocket close codes used by DeskLink are listed in :data:`CLOSE_CODES`.
"""

from __future__ import annotations

from typing import Final, Literal

ErrorCode = Literal[
    # the message
    "bad_message",  # not JSON, not an object, wrong field types
    "bad_type",  # unknown message type
    "too_large",  # a field or the whole message is over its limit
    "bad_state",  # valid message, but not allowed in this state
    "bad_prechat",  # a required pre-chat field left empty, or an answer that fits no field
    # limits
    "rate_limited",
    "too_many_requests",
    "login_limited",
    "too_many_files",  # a session's or a sender's file count is used up
    # who
    "auth_required",
    "auth_failed",
    "forbidden",
    "not_found",
    "origin_denied",
    "csrf_failed",
    # state moved on
    "conflict_taken",  # another rep accepted first
    "conflict_closed",  # the request or session is no longer open
    "conflict_exists",  # a username, queue slug or token is already taken
    "conflict_desk_closed",  # the queue is outside its business hours: leave a message instead
    "conflict_answered",  # another rep already answered this offline message
    "conflict_answering",  # another rep is sending an answer to this offline message right now
    "conflict_full",  # the queue holds as many unanswered offline messages as it may
    # server
    "internal",
    "unavailable",  # the broker cannot be reached; nothing was changed
    "storage_full",  # the server's file store has no room; nothing was kept
    "storage_failed",  # the file store failed (permission, I/O); nothing was kept
    "mail_unavailable",  # no SMTP server is configured, so nothing can be sent by e-mail
    "mail_failed",  # the SMTP server could not be reached or refused; nothing was marked sent
]

ERROR_CODES: Final[tuple[str, ...]] = ErrorCode.__args__  # type: ignore[attr-defined]

#: WebSocket close codes (4000-4999 are for applications, RFC 6455 7.4.2).
CLOSE_NORMAL: Final = 1000
CLOSE_GOING_AWAY: Final = 1001
CLOSE_BAD_DATA: Final = 1007  # a malformed screen frame
CLOSE_POLICY: Final = 1008  # origin denied
CLOSE_TOO_BIG: Final = 1009
CLOSE_INTERNAL: Final = 1011
CLOSE_AUTH: Final = 4001  # no or bad credentials
CLOSE_FORBIDDEN: Final = 4003
CLOSE_NOT_FOUND: Final = 4004
CLOSE_RELAY_TOKEN: Final = 4005  # a relay token forged, expired, or for another session or role
CLOSE_OTHER_RELAY: Final = 4006  # the relay token names another relay node: go to the one it names
CLOSE_ENDED: Final = 4010  # the request or session ended
CLOSE_SLOW: Final = 4011  # the consumer fell too far behind
CLOSE_LIMITED: Final = 4029  # too many join attempts
#: The node is draining (a deploy, a restart): reconnect now, through the
#: balancer, to another node, and resume. Like HTTP 503, it is never final.
CLOSE_RECONNECT: Final = 4503

CLOSE_CODES: Final[dict[int, str]] = {
    CLOSE_NORMAL: "normal",
    CLOSE_GOING_AWAY: "server going away",
    CLOSE_BAD_DATA: "malformed screen frame",
    CLOSE_POLICY: "origin not allowed",
    CLOSE_TOO_BIG: "message too big",
    CLOSE_INTERNAL: "internal error",
    CLOSE_AUTH: "authentication required or failed",
    CLOSE_FORBIDDEN: "forbidden",
    CLOSE_NOT_FOUND: "unknown request or session",
    CLOSE_RELAY_TOKEN: "relay token refused",
    CLOSE_OTHER_RELAY: "another relay node holds this session",
    CLOSE_ENDED: "request or session ended",
    CLOSE_SLOW: "consumer too slow",
    CLOSE_LIMITED: "too many join attempts",
    CLOSE_RECONNECT: "node draining: reconnect now",
}
