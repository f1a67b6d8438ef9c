"""A real SMTP server of a test's own: aiosmtpd on 127.0.0.1, on its own
thread and event loop, keeping what it receives (plain SMTP, no login).

``stop()`` and ``start()`` again on the same port play a mail server that
goes down and comes back. Tests wait for mail with :meth:`MailServer.wait_for`
(a condition, never a fixed time).
"""

from __future__ import annotations

import email
import email.policy
import threading
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from desklink.testing import free_port, poll_until


class Inbox:
    """What the SMTP server received: (envelope sender, recipients, the message)."""

    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], EmailMessage]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's API)
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        with self.lock:
            self.received.append((envelope.mail_from, list(envelope.rcpt_tos), msg))
        return "250 Message accepted for delivery"

    def messages(self) -> list[EmailMessage]:
        with self.lock:
            return [m for _, _, m in self.received]


class MailServer:
    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.inbox = Inbox()
        self.controller: Controller | None = None

    @property
    def env(self) -> dict[str, str]:
        """``DESKLINK_*`` settings that send through this server."""
        return {"DESKLINK_SMTP_HOST": "127.0.0.1", "DESKLINK_SMTP_PORT": str(self.port), "DESKLINK_SMTP_STARTTLS": "no"}

    def start(self) -> MailServer:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def __enter__(self) -> MailServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def messages(self) -> list[EmailMessage]:
        with self.inbox.lock:
            return [m for _, _, m in self.inbox.received]

    def envelopes(self) -> list[tuple[str, list[str], EmailMessage]]:
        with self.inbox.lock:
            return list(self.inbox.received)

    def wait_for(self, match: Callable[[EmailMessage], bool], timeout: float = 15.0, what: str = "a message") -> EmailMessage:
        """The first received message ``match`` accepts, waiting for it."""
        found: list[EmailMessage] = []

        def check() -> bool:
            found[:] = [m for m in self.messages() if match(m)]
            return bool(found)

        poll_until(check, timeout=timeout, what=what)
        return found[0]
