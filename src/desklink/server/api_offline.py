"""Offline messages over HTTP (issue 14): the visitor leaves one from the
help box, reps of the queue list and answer them from the console.

Who may do what: anyone on a site the queue allows may leave a message
(``offline_messages_per_ip`` per ``offline_window_s`` per address, at most
``offline_message_chars``, at most ``offline_pending_per_queue`` unanswered
per queue); the members of the queue, and admins, list and answer them.

Answering sends the e-mail first and marks the message answered after, so
an SMTP failure (``mail_failed``, 502, with the server's reason) leaves it
unanswered and nothing is lost. While one rep's answer is being sent, a
broker claim keyed by the message makes a second rep's answer a conflict
(``conflict_answering``); once answered, ``conflict_answered`` names who
did. Each answer writes an audit entry (``offline.answered``).
"""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from desklink.dispatch import channels as ch
from desklink.errors import Conflict, DeskLinkError, LimitExceeded, MailFailed, NotFound, Unavailable
from desklink.protocol.messages import check_text
from desklink.server import mail
from desklink.server.addresses import limit_key
from desklink.server.api_visitor import _queue_by_slug, _queue_cors
from desklink.server.auth import Login
from desklink.server.context import Context
from desklink.server.http import Access, client_ip, endpoint, error_response, json_response, query_choice
from desklink.server.offline import answer_mail, check_email, copy_mail, message_view, queue_hours
from desklink.server.schemas import OfflineAnswerBody, OfflineBody
from desklink.store._offline import answered_conflict
from desklink.store.records import OfflineMessage, Queue, User

log = logging.getLogger("desklink.offline")

#: Audit action of an answer sent.
OFFLINE_ANSWERED = "offline.answered"
NO_MAIL = (
    "answering by e-mail is unavailable: this server has no SMTP server configured "
    "(an operator sets DESKLINK_SMTP_HOST, see docs/operations.md)"
)


def _now() -> datetime:
    return datetime.now(UTC)


@endpoint("/api/visitor/offline", ("POST",), Access.PUBLIC, body=OfflineBody)
async def leave_message(request: Request, ctx: Context, login: Any, body: OfflineBody) -> Response:
    """Leave a message for the queue's reps (name, e-mail, message); the visitor gets a copy by e-mail."""
    queue = await _queue_by_slug(ctx, body.queue)
    headers = await _queue_cors(request, ctx, queue)
    try:
        msg, copy_sent = await _leave(request, ctx, queue, body)
    except DeskLinkError as exc:
        response = error_response(exc, request)
        response.headers.update(headers)
        return response
    return json_response({"id": msg.id, "copy_sent": copy_sent}, status=201, headers=headers)


async def _leave(request: Request, ctx: Context, queue: Queue, body: OfflineBody) -> tuple[OfflineMessage, bool]:
    s = ctx.settings
    if not mail.configured(s):
        raise Unavailable("this help desk cannot take messages: it has no e-mail set up", code="mail_unavailable")
    name = check_text("name", body.name, s.max_name_chars)
    email = check_email(body.email, s.max_email_chars)
    text = check_text("message", body.message, s.offline_message_chars)
    ip = client_ip(request)
    key = f"offline:ip:{limit_key(ip)}"
    if await ctx.broker.hit(key, s.offline_window_s) > s.offline_messages_per_ip:
        retry = await ctx.broker.ttl(key)
        raise LimitExceeded(
            f"this address has left {s.offline_messages_per_ip} messages within {s.offline_window_s:g} s "
            "(offline_messages_per_ip); try again later",
            code="rate_limited", retry_after=retry,
        )
    now = _now()
    msg = await ctx.store.create_offline_message(
        queue_id=queue.id, visitor_name=name, visitor_email=email, body=text, ip=ip,
        origin=request.headers.get("origin", "")[:400], now=now, max_pending=s.offline_pending_per_queue,
    )
    await _changed(ctx, queue.id, msg.id)
    hours = await queue_hours(ctx.store, queue)
    try:
        await mail.send(copy_mail(s, queue, msg, hours.next_opening(now)), s)
    except mail.SEND_ERRORS as exc:
        log.warning(
            "offline message %s kept, but the visitor's copy could not be sent through %s: %s",
            msg.id, mail.where(s), mail.reason(exc),
        )
        return msg, False
    await ctx.store.mark_offline_copy_sent(msg.id, _now())
    return msg, True


async def _changed(ctx: Context, queue_id: int, message_id: str) -> None:
    """Tell the queue's online consoles that its messages changed (they
    read the list again; consoles that are away read it on their next poll)."""
    await ctx.hub.publish(ch.queue_channel(queue_id), ch.envelope("R", {"t": "offline.changed", "queue_id": queue_id, "id": message_id}))


async def _queue_ids(ctx: Context, user: User) -> list[int]:
    queues = await ctx.store.list_queues() if user.role == "admin" else await ctx.store.queues_of_user(user.id)
    return [q.id for q in queues]


def _mail_view(ctx: Context) -> dict[str, Any]:
    configured = mail.configured(ctx.settings)
    return {"configured": configured, "why_not": None if configured else NO_MAIL}


@endpoint("/api/offline", ("GET",), Access.REP)
async def list_messages(request: Request, ctx: Context, login: Login) -> Response:
    """Offline messages of the caller's queues (admins: all), newest first: ``state`` open (default), answered or all."""
    state = query_choice(request, "state", ("open", "answered", "all"))
    queue_ids = await _queue_ids(ctx, login.user)
    answered = {"open": False, "answered": True, "all": None}[state]
    messages = await ctx.store.list_offline_messages(queue_ids, answered=answered, limit=ctx.settings.offline_page)
    queues = {q.id: q for q in await ctx.store.list_queues()}
    return json_response(
        {
            "messages": [message_view(m, queues.get(m.queue_id)) for m in messages],
            "unanswered": await ctx.store.count_unanswered_offline(queue_ids),
            "mail": _mail_view(ctx),
            "limits": {"answer": ctx.settings.offline_answer_chars},
        }
    )


@endpoint("/api/offline/{message_id}/answer", ("POST",), Access.REP, body=OfflineAnswerBody)
async def answer(request: Request, ctx: Context, login: Login, body: OfflineAnswerBody) -> Response:
    """Answer an offline message by e-mail (once: a second answer is a conflict)."""
    s = ctx.settings
    user = login.user
    msg = await ctx.store.get_offline_message(request.path_params["message_id"][:64])
    if msg is None or msg.queue_id not in await _queue_ids(ctx, user):
        raise NotFound("no such offline message")
    if msg.answered_at is not None:
        raise answered_conflict(msg)
    if not mail.configured(s):
        raise Unavailable(NO_MAIL, code="mail_unavailable")
    text = check_text("answer", body.body, s.offline_answer_chars)
    rep_name = user.display_name or user.username
    owner = f"{secrets.token_hex(4)}:{rep_name}"
    key = f"offline:answering:{msg.id}"
    holder = await ctx.broker.claim(key, owner, s.smtp_timeout_s * 4 + 30)
    if holder != owner:
        raise Conflict(f"{holder.split(':', 1)[-1]} is sending an answer to this message right now", code="conflict_answering")
    try:
        fresh = await ctx.store.get_offline_message(msg.id)
        if fresh is None:
            raise NotFound("no such offline message")
        if fresh.answered_at is not None:
            raise answered_conflict(fresh)
        queue = await ctx.store.get_queue(msg.queue_id)
        assert queue is not None
        email = answer_mail(s, queue, fresh, text, rep_name)
        try:
            await mail.send(email, s)
        except mail.SEND_ERRORS as exc:
            log.warning("answer to offline message %s not sent through %s: %s", msg.id, mail.where(s), mail.reason(exc))
            raise MailFailed(
                f"the answer was not sent: the mail server {mail.where(s)} failed ({mail.reason(exc)}); "
                "the message stays unanswered, try again later"
            ) from None
        done = await ctx.store.mark_offline_answered(msg.id, user_id=user.id, user_name=rep_name, answer=text, now=_now())
        await ctx.store.add_audit(
            actor_id=user.id, actor=user.username, action=OFFLINE_ANSWERED,
            target=f"queue {queue.slug} offline message {msg.id}",
            data={"to": fresh.visitor_email, "subject": str(email["Subject"]), "message_id": str(email["Message-ID"])},
            now=_now(),
        )
    finally:
        await ctx.broker.release(key, owner)
    await _changed(ctx, queue.id, msg.id)
    return json_response({"message": message_view(done, queue)})


ROUTES = [leave_message, list_messages, answer]
