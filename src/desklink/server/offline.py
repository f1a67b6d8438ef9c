"""Offline messages and business hours: what the help box is told, and the
e-mails (issue 14).

The help box asks ``/api/widget/config``, which carries :func:`desk_state`:
whether the queue is open now (hours.py), when it opens next, how many reps
are online, and whether messages can be left (``offline.email``: only when
an SMTP server is configured, because the promise "we will answer by
e-mail" is only true then). A closed desk also refuses live chat submits
(``conflict_desk_closed``), so the help box cannot be bypassed.

Three e-mails exist, all from ``smtp_from`` with ``Reply-To``
``offline_reply_to`` (or ``smtp_from``), so a visitor's reply reaches the
support team, never a rep's personal address:

* the visitor's **copy** of the message they left (:func:`copy_mail`);
* a rep's **answer** (:func:`answer_mail`), quoting the message;
* nothing to the reps: they see messages in the console.

Text from visitors and reps only ever goes into bodies (plain text), never
into headers; headers carry the provider's and queue's names (set by admins)
and the visitor's address, checked by :func:`check_email`.
"""

from __future__ import annotations

import re
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from desklink import hours as hours_mod
from desklink.config import Settings
from desklink.dispatch.dispatcher import iso
from desklink.errors import ProtocolError
from desklink.server import mail
from desklink.store import Store
from desklink.store.records import OfflineMessage, Queue

#: One address: no spaces, brackets, commas or quotes (which would let a
#: visitor add recipients or headers), one ``@`` and a domain.
EMAIL_RE = re.compile(r"[^@\s<>,;:\"'()\[\]\\]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")


def check_email(value: str, max_chars: int) -> str:
    value = value.strip()
    if not value:
        raise ProtocolError("email is needed, so that someone can answer you")
    if len(value) > max_chars or not EMAIL_RE.fullmatch(value):
        raise ProtocolError("email does not look like an e-mail address (name@example.com)")
    return value


def reply_to(settings: Settings) -> str:
    return settings.offline_reply_to or settings.smtp_from


async def queue_hours(store: Store, queue: Queue) -> hours_mod.Hours:
    return hours_mod.stored(await store.get_queue_hours(queue.id))


def desk_state(h: hours_mod.Hours, now: datetime, online: int, settings: Settings) -> dict[str, Any]:
    """What the help box is told about the desk right now."""
    is_open = h.is_open(now)
    nxt = None if is_open else h.next_opening(now)
    return {
        "open": is_open,
        "next_opening": iso(nxt) if nxt else None,
        "tz": h.tz,
        "online_reps": online,
        "offline": {"email": mail.configured(settings)},
    }


def _base(settings: Settings, to: str, subject: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = settings.smtp_from
    msg["To"] = to
    msg["Reply-To"] = reply_to(settings)
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = make_msgid("desklink-offline")
    return msg


def _quote(text: str) -> str:
    return "\n".join("> " + line if line else ">" for line in text.splitlines())


def copy_subject(settings: Settings, queue: Queue) -> str:
    return f"Your message to {settings.provider_name} ({queue.name})"


def answer_subject(settings: Settings, queue: Queue) -> str:
    return "Re: " + copy_subject(settings, queue)


def copy_mail(settings: Settings, queue: Queue, msg: OfflineMessage, next_opening: datetime | None) -> EmailMessage:
    """The visitor's copy: what they wrote, and what happens next (truthfully:
    a person answers by e-mail; when the desk opens, if it is closed)."""
    out = _base(settings, msg.visitor_email, copy_subject(settings, queue))
    when = (
        f"The help desk is closed right now; it opens again at {next_opening:%Y-%m-%d %H:%M} UTC, "
        "and someone will answer you by e-mail after that."
        if next_opening
        else "Nobody was online to answer you live; someone will answer you by e-mail."
    )
    out.set_content(
        f"Hello {msg.visitor_name},\n\n"
        f"we received your message to {settings.provider_name} ({queue.name}). {when}\n\n"
        f"You wrote:\n\n{_quote(msg.body)}\n\n"
        f"-- {settings.provider_name}\n"
    )
    return out


def answer_mail(settings: Settings, queue: Queue, msg: OfflineMessage, answer: str, rep_name: str) -> EmailMessage:
    """A rep's answer to the visitor, quoting their message."""
    out = _base(settings, msg.visitor_email, answer_subject(settings, queue))
    out.set_content(
        f"{answer}\n\n-- \n{rep_name}, {settings.provider_name}\n\n"
        f"On {msg.created_at:%Y-%m-%d %H:%M} UTC you wrote:\n{_quote(msg.body)}\n"
    )
    return out


def message_view(m: OfflineMessage, queue: Queue | None) -> dict[str, Any]:
    return {
        "id": m.id,
        "queue_id": m.queue_id,
        "queue": {"slug": queue.slug, "name": queue.name} if queue else None,
        "name": m.visitor_name,
        "email": m.visitor_email,
        "body": m.body,
        "origin": m.origin,
        "at": iso(m.created_at),
        "copy_sent": m.copy_sent_at is not None,
        "answered_at": iso(m.answered_at) if m.answered_at else None,
        "answered_by": m.answered_by_name or None,
        "answer": m.answer or None,
    }
