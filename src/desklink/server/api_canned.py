"""Canned replies and internal notes (issue 14), over HTTP.

Who may do what:

* **Personal replies**: every signed-in user (rep, supervisor, admin) keeps
  their own; nobody else reads or changes them.
* **Queue replies**: read by the queue's members (the console's ``/`` list)
  and by admins; created, changed and deleted by admins and by supervisors
  who belong to that queue (the same rule as supervising its sessions).
  Every change to a queue's replies is written to the audit log.
* **Notes** on a session: read and written by whoever may read the session
  (server/session_access.py: the rep who held it, supervisors of its queue,
  admins). They live in their own table and no visitor route or socket reads
  it, so a note cannot reach the visitor.

Limits are settings: ``canned_per_owner``, ``canned_name_chars``,
``canned_title_chars``, ``canned_body_chars``, ``session_note_chars`` and
``notes_per_session``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from desklink.dispatch.dispatcher import iso
from desklink.errors import Forbidden, NotFound, ProtocolError, TooLarge
from desklink.server.auth import Login
from desklink.server.context import Context
from desklink.server.http import Access, endpoint, json_response, query_int
from desklink.server.schemas import CannedBody, CannedPatchBody, NoteBody
from desklink.server.session_access import may_supervise, readable_session
from desklink.store.records import CannedReply, SessionNote, User

#: A shortcut: lowercase letters, digits, ``-`` and ``_``, starting with a letter or digit.
NAME_RE = re.compile(r"[a-z0-9][a-z0-9_-]*")
#: Control characters refused in titles and bodies (line breaks and tabs are fine in a body).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def check_name(name: str, max_chars: int) -> str:
    name = name.strip().lower()
    if not name or len(name) > max_chars or not NAME_RE.fullmatch(name):
        raise ProtocolError(
            f"a shortcut is 1-{max_chars} lowercase letters, digits, '-' or '_', starting with a letter or digit"
        )
    return name


def check_text(what: str, value: str, max_chars: int, *, multiline: bool) -> str:
    value = value.strip()
    if not value:
        raise ProtocolError(f"the {what} is empty")
    if len(value) > max_chars:
        raise TooLarge(f"the {what} is longer than {max_chars} characters")
    if _CONTROL.search(value) or (not multiline and any(c in value for c in "\r\n\t")):
        raise ProtocolError(f"the {what} holds control characters")
    return value


def canned_view(r: CannedReply) -> dict[str, Any]:
    return {
        "id": r.id,
        "scope": "queue" if r.queue_id is not None else "mine",
        "queue_id": r.queue_id,
        "owner_id": r.owner_id,
        "name": r.name,
        "title": r.title,
        "body": r.body,
        "updated_at": iso(r.updated_at),
    }


def note_view(n: SessionNote) -> dict[str, Any]:
    return {"id": n.id, "author_id": n.author_id, "author": n.author_name, "body": n.body, "at": iso(n.created_at)}


async def _member_queue_ids(ctx: Context, user: User) -> list[int]:
    return [q.id for q in await ctx.store.queues_of_user(user.id)]


async def _may_manage_queue(ctx: Context, user: User, queue_id: int) -> bool:
    if user.role == "admin":
        return True
    return may_supervise(user, queue_id=queue_id, user_queue_ids=await _member_queue_ids(ctx, user))


async def _editable(ctx: Context, login: Login, reply_id: int) -> CannedReply:
    """The reply if ``login`` may change it; 404 for one they may not even read."""
    reply = await ctx.store.get_canned(reply_id)
    user = login.user
    if reply is None:
        raise NotFound("no such canned reply")
    if reply.owner_id is not None:
        if reply.owner_id != user.id:
            raise NotFound("no such canned reply")
        return reply
    assert reply.queue_id is not None
    if not await _may_manage_queue(ctx, user, reply.queue_id):
        if user.role == "admin" or reply.queue_id in await _member_queue_ids(ctx, user):
            raise Forbidden("only admins and the queue's supervisors change its canned replies")
        raise NotFound("no such canned reply")
    return reply


async def _audit(ctx: Context, login: Login, action: str, reply: CannedReply, data: dict[str, Any]) -> None:
    if reply.queue_id is None:
        return  # a rep's own replies are their own business
    queue = await ctx.store.get_queue(reply.queue_id)
    target = f"queue {queue.slug if queue else reply.queue_id} reply {reply.name}"
    await ctx.store.add_audit(
        actor_id=login.user.id, actor=login.user.username, action=action, target=target, data=data,
        now=datetime.now(UTC),
    )


@endpoint("/api/canned", ("GET",), Access.REP)
async def list_canned(request: Request, ctx: Context, login: Login) -> Response:
    """Canned replies: the caller's own and their queues' (admins: every queue's); ``queue_id`` for one queue's only."""
    user = login.user
    queue_id = query_int(request, "queue_id", default=0, lo=0, hi=2**63 - 1) or None
    members = await _member_queue_ids(ctx, user)
    if queue_id is not None:
        if user.role != "admin" and queue_id not in members:
            raise Forbidden("you are not a member of this queue")
        if await ctx.store.get_queue(queue_id) is None:
            raise NotFound("no such queue")
        replies = await ctx.store.list_canned(queue_ids=[queue_id])
        manage = await _may_manage_queue(ctx, user, queue_id)
        return json_response({"replies": [canned_view(r) for r in replies], "may_manage": manage})
    queue_ids = [q.id for q in await ctx.store.list_queues()] if user.role == "admin" else members
    replies = await ctx.store.list_canned(owner_id=user.id, queue_ids=queue_ids)
    return json_response({"replies": [canned_view(r) for r in replies], "limits": limits_view(ctx)})


def limits_view(ctx: Context) -> dict[str, int]:
    s = ctx.settings
    return {
        "per_owner": s.canned_per_owner,
        "name_chars": s.canned_name_chars,
        "title_chars": s.canned_title_chars,
        "body_chars": s.canned_body_chars,
        "note_chars": s.session_note_chars,
    }


@endpoint("/api/canned", ("POST",), Access.REP, body=CannedBody)
async def create_canned(request: Request, ctx: Context, login: Login, body: CannedBody) -> Response:
    """Create a canned reply: the queue's (admins, its supervisors) or, without ``queue_id``, the caller's own."""
    s = ctx.settings
    name = check_name(body.name, s.canned_name_chars)
    title = check_text("title", body.title, s.canned_title_chars, multiline=False)
    text = check_text("body", body.body, s.canned_body_chars, multiline=True)
    if body.queue_id is not None:
        if not 1 <= body.queue_id < 2**63 or await ctx.store.get_queue(body.queue_id) is None:
            raise NotFound("no such queue")
        if not await _may_manage_queue(ctx, login.user, body.queue_id):
            raise Forbidden("only admins and the queue's supervisors add canned replies to a queue")
    reply = await ctx.store.create_canned(
        queue_id=body.queue_id, owner_id=None if body.queue_id is not None else login.user.id, name=name,
        title=title, body=text, max_per_owner=s.canned_per_owner, now=datetime.now(UTC),
    )
    await _audit(ctx, login, "canned.create", reply, {"title": title})
    return json_response({"reply": canned_view(reply)}, status=201)


@endpoint("/api/canned/{reply_id:int}", ("PATCH",), Access.REP, body=CannedPatchBody)
async def update_canned(request: Request, ctx: Context, login: Login, body: CannedPatchBody) -> Response:
    """Change a canned reply's shortcut, title or body."""
    s = ctx.settings
    name = None if body.name is None else check_name(body.name, s.canned_name_chars)
    title = None if body.title is None else check_text("title", body.title, s.canned_title_chars, multiline=False)
    text = None if body.body is None else check_text("body", body.body, s.canned_body_chars, multiline=True)
    old = await _editable(ctx, login, request.path_params["reply_id"])
    reply = await ctx.store.update_canned(old.id, name=name, title=title, body=text, now=datetime.now(UTC))
    changed = [k for k, v in (("name", name), ("title", title), ("body", text)) if v is not None]
    await _audit(ctx, login, "canned.update", reply, {"changed": changed, "was": old.name})
    return json_response({"reply": canned_view(reply)})


@endpoint("/api/canned/{reply_id:int}", ("DELETE",), Access.REP)
async def delete_canned(request: Request, ctx: Context, login: Login) -> Response:
    """Delete a canned reply."""
    reply = await _editable(ctx, login, request.path_params["reply_id"])
    await ctx.store.delete_canned(reply.id)
    await _audit(ctx, login, "canned.delete", reply, {})
    return Response(status_code=204)


@endpoint("/api/sessions/{session_id}/notes", ("GET",), Access.REP)
async def list_notes(request: Request, ctx: Context, login: Login) -> Response:
    """A session's internal notes, oldest first (never shown to the visitor)."""
    session, _ = await readable_session(request, ctx, login)
    return json_response({"notes": [note_view(n) for n in await ctx.store.session_notes(session.id)]})


@endpoint("/api/sessions/{session_id}/notes", ("POST",), Access.REP, body=NoteBody)
async def add_note(request: Request, ctx: Context, login: Login, body: NoteBody) -> Response:
    """Add an internal note to a session: seen by reps, supervisors and admins, never by the visitor."""
    text = check_text("note", body.body, ctx.settings.session_note_chars, multiline=True)
    session, _ = await readable_session(request, ctx, login)
    user = login.user
    note = await ctx.store.add_session_note(
        session.id, author_id=user.id, author_name=user.display_name or user.username, body=text,
        max_notes=ctx.settings.notes_per_session, now=datetime.now(UTC),
    )
    return json_response({"note": note_view(note)}, status=201)


ROUTES = [list_canned, create_canned, update_canned, delete_canned, list_notes, add_note]
