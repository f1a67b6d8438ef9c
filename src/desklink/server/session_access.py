"""Who may read a support session's record (its detail, transcript and
timeline), as one rule every such endpoint uses.

The rule (issue 12, "Access"): a rep reads the sessions they held; a
supervisor also those of the queues they belong to; an admin reads all.
A rep invited into a live session's chat (issue 14) reads it while there.
Anyone else gets 403 (never a hint of what the session holds); a session
that does not exist is 404, for everyone, before the rule is asked.
"""

from __future__ import annotations

from collections.abc import Collection

from starlette.requests import Request

from desklink.dispatch.handoff import in_chat_by_invitation
from desklink.errors import Forbidden, NotFound
from desklink.server.auth import Login
from desklink.server.context import Context
from desklink.store.records import Session, User
from desklink.store.records import Request as HelpRequest

NOT_YOURS = "this session is not yours"


def may_read(user: User, *, holder_id: int, queue_id: int, user_queue_ids: Collection[int]) -> bool:
    """The rule itself, pure: ``holder_id`` held the session, which came
    through ``queue_id``; ``user_queue_ids`` are the queues ``user`` is in."""
    return holder_id == user.id or may_supervise(user, queue_id=queue_id, user_queue_ids=user_queue_ids)


def may_supervise(user: User, *, queue_id: int, user_queue_ids: Collection[int]) -> bool:
    """Who may watch a live session (chat and screen), whisper, join its chat
    and take it over (issue 13): an admin, or a supervisor who belongs to the
    session's queue. The same rule as reading, less "the rep who held it"."""
    return user.role == "admin" or (user.role == "supervisor" and queue_id in user_queue_ids)


async def readable_session(request: Request, ctx: Context, login: Login) -> tuple[Session, HelpRequest]:
    """The session named in the path and its request, if ``login`` may read it."""
    session = await ctx.store.get_session(request.path_params["session_id"][:64])
    if session is None:
        raise NotFound("no such session")
    req = await ctx.store.get_request(session.request_id)
    if req is None:
        raise NotFound("no such session")
    queue_ids: set[int] = set()
    if login.user.role == "supervisor" and session.rep_id != login.user.id:
        queue_ids = {q.id for q in await ctx.store.queues_of_user(login.user.id)}
    if not may_read(login.user, holder_id=session.rep_id, queue_id=req.queue_id, user_queue_ids=queue_ids):
        # A colleague the rep invited into the chat reads it (notes too) while there.
        if not (session.open and in_chat_by_invitation(await ctx.store.events_for(req.id), login.user.id)):
            raise Forbidden(NOT_YOURS)
    return session, req


async def listing_scope(ctx: Context, user: User) -> tuple[int | None, list[int] | None]:
    """``(rep_id, queue_ids)`` for the session list under the same rule:
    a rep's own sessions, a supervisor's own and their queues', an admin's
    everything (``(None, None)``)."""
    if user.role == "admin":
        return None, None
    if user.role == "supervisor":
        return user.id, [q.id for q in await ctx.store.queues_of_user(user.id)]
    return user.id, []
