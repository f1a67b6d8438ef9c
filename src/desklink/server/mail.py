"""Sending e-mail through the configured SMTP server: the one sender the
daily summary and the offline messages share.

The standard library's :mod:`smtplib` runs on a worker thread
(:func:`send`): one short conversation per message does not justify another
dependency, and the thread keeps the event loop free while a slow mail
server answers (``smtp_timeout_s`` bounds it). Port 465 means TLS from the
first byte (RFC 8314); every other port talks plain SMTP and upgrades with
STARTTLS when ``smtp_starttls``. ``smtp_username`` logs in when set.

Nothing here retries: the caller decides (the daily summary tries again
later; a rep answering an offline message is told and may press again).
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from email.message import EmailMessage

from desklink.config import Settings

#: Port of SMTP over TLS from the first byte (RFC 8314).
SMTPS_PORT = 465
#: What a failed send can raise (a refused or dropped connection, a timeout,
#: an answer the client did not like, a TLS failure).
SEND_ERRORS = (smtplib.SMTPException, OSError, ssl.SSLError)


def configured(settings: Settings) -> bool:
    """Whether a mail server is set at all (``smtp_host``)."""
    return bool(settings.smtp_host)


def deliver(msg: EmailMessage, settings: Settings) -> None:
    """Send ``msg`` through the SMTP server (blocking: run it on a thread).
    Raises one of :data:`SEND_ERRORS` when the server cannot be reached or
    refuses."""
    s = settings
    if s.smtp_port == SMTPS_PORT:
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(
            s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_s, context=ssl.create_default_context()
        )
    else:
        smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_s)
    with smtp:
        if s.smtp_starttls and s.smtp_port != SMTPS_PORT:
            smtp.starttls(context=ssl.create_default_context())
        if s.smtp_username:
            smtp.login(s.smtp_username, s.smtp_password)
        smtp.send_message(msg)


async def send(msg: EmailMessage, settings: Settings) -> None:
    """:func:`deliver` on a worker thread."""
    await asyncio.to_thread(deliver, msg, settings)


def where(settings: Settings) -> str:
    return f"{settings.smtp_host}:{settings.smtp_port}"


def reason(exc: BaseException) -> str:
    """A failed send in one line (smtplib's errors carry bytes and codes)."""
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return f"the server answered {exc.smtp_code} {' '.join(text.split())}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return f"the server refused every recipient ({', '.join(exc.recipients)})"
    words = str(exc) or type(exc).__name__
    return " ".join(words.split())
