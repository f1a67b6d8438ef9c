"""DeskLink's exceptions, the whole hierarchy at a glance::

    DeskLinkError                 code              http
    ├── ProtocolError             bad_*             400   a peer sent something wrong
    │   └── TooLarge              too_large         413
    ├── LimitExceeded             *_limited         429   a named limit was passed
    ├── AuthError                 auth_*            401
    │   └── RelayTokenError       auth_failed       401   a relay token was refused (reason: forged, expired, ...)
    ├── Forbidden                 forbidden         403
    ├── NotFound                  not_found         404
    ├── Conflict                  conflict_*        409   the state moved on
    │   └── TransitionRefused     conflict_closed   409   the lifecycle table has no such transition
    ├── Unavailable               unavailable       503   a backend (the broker) cannot be reached
    │   └── BrokerUnavailable     unavailable       503   the broker did not answer
    ├── MailFailed                mail_failed       502   the SMTP server could not be reached or refused
    ├── ConfigError               -                 -     bad settings, or a data directory or database
    │                                                     the node cannot use, at start-up
    ├── CaptureError              capture_failed    -     (agent) the screen cannot be captured
    ├── InputError                input_failed      -     (agent) input cannot be injected
    └── Refused                   auth_failed       -     (agent) the server did not welcome the agent

    Control flow, not errors a peer sees:
    Closing           (server) close this socket with a code, after what is queued
    Stopped           (agent) sharing ended; the reason is the exit message
    LinkDead          (agent) nothing heard from the server within the link deadline
    BrokerClosed      (broker) a subscription is closed; the node opens a new one
    Rollback          (store) undo this transaction and hand a value back

Each :class:`DeskLinkError` carries an error code from
:mod:`desklink.protocol.codes` so adapters can turn it into a WebSocket
``error`` message or an HTTP JSON error alike.
"""

from __future__ import annotations

from typing import Any


class DeskLinkError(Exception):
    code: str = "internal"
    http_status: int = 500

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class ProtocolError(DeskLinkError):
    code = "bad_message"
    http_status = 400


class TooLarge(ProtocolError):
    code = "too_large"
    http_status = 413


class LimitExceeded(DeskLinkError):
    code = "rate_limited"
    http_status = 429

    def __init__(self, message: str, *, code: str | None = None, retry_after: float = 0.0) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


class AuthError(DeskLinkError):
    code = "auth_required"
    http_status = 401


class RelayTokenError(AuthError):
    """A relay token was refused (:mod:`desklink.protocol.relay_token`);
    ``reason`` says why: ``forged``, ``expired``, ``other_session``,
    ``other_role`` or ``other_node``."""

    code = "auth_failed"

    def __init__(self, reason: str) -> None:
        super().__init__(f"relay token refused: {reason}")
        self.reason = reason


class Forbidden(DeskLinkError):
    code = "forbidden"
    http_status = 403


class NotFound(DeskLinkError):
    code = "not_found"
    http_status = 404


class Conflict(DeskLinkError):
    code = "conflict_closed"
    http_status = 409


class TransitionRefused(Conflict):
    """The request lifecycle (protocol/lifecycle.py) has no transition for
    ``event`` from ``state``."""

    def __init__(self, state: str, event: str) -> None:
        super().__init__(f"cannot {event} a request that is {state}")
        self.state = state
        self.event = event


class Unavailable(DeskLinkError):
    """A backend the request needs cannot be reached right now (the broker
    during an outage). Nothing was changed; the client may retry shortly."""

    code = "unavailable"
    http_status = 503


class BrokerUnavailable(Unavailable):
    """The broker did not answer (refused, reset, timed out). The call may
    or may not have taken effect; nothing is retried underneath."""


class MailFailed(DeskLinkError):
    """The SMTP server could not be reached or refused a message; nothing
    was marked as sent. The message says which server and why."""

    code = "mail_failed"
    http_status = 502


class ConfigError(DeskLinkError):
    """The node cannot start as configured; the message is one sentence for
    the operator (``desklink serve`` prints it and exits non-zero)."""

    code = "internal"


class CaptureError(DeskLinkError):
    """The screen cannot be captured (no display, backend failure, closed)."""

    code = "capture_failed"


class InputError(DeskLinkError):
    """Input cannot be injected or watched (no display, no XTest, closed)."""

    code = "input_failed"


class Refused(DeskLinkError):
    """The server's first answer to an agent was not a welcome."""

    code = "auth_failed"


# ---------------------------------------------------------------- control flow
class Closing(Exception):
    """Raised inside a socket handler to close the socket with ``code``."""

    def __init__(self, code: int, reason: str = "") -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class Stopped(Exception):
    """The agent's sharing ended; ``reason`` says why (for the exit message)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class LinkDead(Exception):
    """The agent heard nothing from the server within the link deadline."""


class BrokerClosed(Exception):
    """A broker subscription is closed (by its owner, or by a lost link)."""


class Rollback(Exception):
    """Raised inside the store's write transaction to undo it and hand
    ``value`` back to the caller (see ``add_message``)."""

    def __init__(self, value: Any) -> None:
        super().__init__()
        self.value = value
