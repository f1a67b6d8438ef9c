"""DeskLink's exceptions, the whole hierarchy at a glance::

    DeskLinkError                 code        http
    ├── ProtocolError             bad_*       400   a peer sent something wrong
    │   └── TooLarge              too_large   413
    ├── LimitExceeded             *_limited   429   a named limit was passed
    ├── AuthError                 auth_*      401
    ├── Forbidden                 forbidden   403
    ├── NotFound                  not_found   404
    ├── Conflict                  conflict_*  409   the state moved on
    └── ConfigError               -           -     bad settings, or a data directory or
                                                      database the node cannot use, at start-up

Each carries an error code from :mod:`desklink.protocol.codes` so adapters can
turn it into a WebSocket ``error`` message or an HTTP JSON error alike.
"""

from __future__ import annotations


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


class Forbidden(DeskLinkError):
    code = "forbidden"
    http_status = 403


class NotFound(DeskLinkError):
    code = "not_found"
    http_status = 404


class Conflict(DeskLinkError):
    code = "conflict_closed"
    http_status = 409


class ConfigError(DeskLinkError):
    """The node cannot start as configured; the message is one sentence for
    the operator (``desklink serve`` prints it and exits non-zero)."""

    code = "internal"
