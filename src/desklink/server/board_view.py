"""Gathers the live board's inputs (store and broker) for a user's scope,
and ``GET /api/board``: the same snapshot as ``/ws/board`` sends, as JSON,
for scripts.

Scope: an admin sees every queue; a supervisor the queues they belong to; a
rep gets 403 (their console shows what they need). The snapshot itself is
built by :func:`desklink.dispatch.board.snapshot`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from desklink.broker.base import BROKER_ERRORS
from desklink.dispatch.board import RepSeen, modes_of, reps_seen, snapshot
from desklink.dispatch.dispatcher import console_presence_group, rep_presence_group
from desklink.errors import Forbidden
from desklink.server import auth as authmod
from desklink.server.context import Context
from desklink.server.http import Access, endpoint, json_response
from desklink.store.records import Queue, User

REPS_FORBIDDEN = "the live board is for supervisors and admins; reps have their console"


async def board_queues(ctx: Context, user: User) -> list[Queue]:
    """The queues ``user`` may see on the board; :class:`Forbidden` for a rep."""
    if user.at_least("admin"):
        return await ctx.store.list_queues()
    if user.at_least("supervisor"):
        return await ctx.store.queues_of_user(user.id)
    raise Forbidden(REPS_FORBIDDEN)


def _ids(members: list[str]) -> list[int]:
    return [int(m) for m in members if m.isdigit()]


async def _presence(ctx: Context, queue_ids: list[int]) -> tuple[list[RepSeen], bool]:
    """Reps seen in the queues' presence groups, and whether presence could
    be read (while the broker is down the board lists no reps and says so)."""
    online: dict[int, list[int]] = {}
    connected: dict[int, list[int]] = {}
    try:
        for qid in queue_ids:
            online[qid] = _ids(await ctx.broker.presence_members(rep_presence_group(qid)))
            connected[qid] = _ids(await ctx.broker.presence_members(console_presence_group(qid)))
    except BROKER_ERRORS as exc:
        ctx.hub.watch.report("reading presence for the live board", exc)
        return [], False
    return reps_seen(online, connected), True


async def board_snapshot(ctx: Context, queues: list[Queue]) -> dict[str, Any]:
    """The ``board`` message for ``queues``: a handful of grouped queries
    and two presence reads per queue, whatever the history holds."""
    s, store = ctx.settings, ctx.store
    ids = [q.id for q in queues]
    counts = await store.waiting_counts(ids)
    waiting = await store.waiting_oldest(ids, s.board_max_waiting)
    session_total = await store.open_session_count(ids)
    sessions = await store.open_sessions_of_queues(ids, s.board_max_sessions)
    request_ids = [x.request_id for x in sessions]
    marks = await store.mode_marks(request_ids)
    travelling = await store.requests_with_files_travelling(request_ids)
    reps, known = await _presence(ctx, ids)
    rep_ids = [r.user_id for r in reps]
    return snapshot(
        queues=queues,
        waiting_counts=counts,
        waiting=waiting,
        sessions=sessions,
        session_total=session_total,
        modes={r: modes_of(marks.get(r, {}), r in travelling) for r in request_ids},
        reps=reps,
        names=await store.display_names(rep_ids),
        loads=await store.open_session_loads(rep_ids),
        presence_known=known,
        now=datetime.now(UTC),
    )


@endpoint("/api/board", ("GET",), Access.SUPERVISOR)
async def get_board(request: Request, ctx: Context, login: authmod.Login) -> Response:
    """The live board now: queues, waiting visitors, reps, active sessions (supervisor: their queues)."""
    return json_response(await board_snapshot(ctx, await board_queues(ctx, login.user)))


ROUTES = [get_board]
