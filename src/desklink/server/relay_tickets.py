"""``POST /api/relay/ticket``: where the visitor's agent (or the help box's
browser share) takes its screen, asked at a web node (docs/protocol.md,
*Relay nodes and relay tokens*).

The agent started with only the web node's address and a join code (the
``/download`` page's launch, or ``desklink agent --server https://host
--code 123456789``) sends ``{"code": "123456789"}``: the code is redeemed
here, as the agent socket would (single use, ``join_code_max_tries``, and
the per-address ``join_attempts_per_minute`` budget spent by every ask),
and the answer is the session's relay node and a token for it. The agent
then connects to ``<url>/ws/agent?token=<token>`` and the relay node takes
the session from the token.

A client whose relay node died, or whose token ran out, sends the token it
has (``{"token": ...}``): a token this deployment signed, for the role
``agent`` or ``share``, expired no longer than ``relay_renew_s`` ago, for a
session still open, is traded for a fresh one of the same role, at the
session's relay node now (which :func:`~.relay_handout.owner_of` moves off
a dead node). A refused token spends the address's join budget too.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from desklink.errors import AuthError, Conflict, LimitExceeded, ProtocolError, RelayTokenError, Unavailable
from desklink.protocol import joincode, limits
from desklink.protocol import relay_token as rt
from desklink.protocol.relay_token import RelayRole
from desklink.server.context import Context
from desklink.server.http import Access, client_ip, endpoint, json_response
from desklink.server.relay_admission import relay_secret
from desklink.server.relay_handout import ticket
from desklink.server.relay_nodes import RelayDirectory

__all__ = ["ROUTES", "TicketBody"]

#: Refusals of a token, in words (the client shows them and stops).
TOKEN_REFUSED = {
    "forged": "that relay token is not one of this server's",
    "other_role": "that relay token is not an agent's or a share's",
    "expired": "that relay token is too old; ask for a new code in the chat",
}


class TicketBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    code: str = msgspec.field(default="")
    token: str = msgspec.field(default="")


async def _spend_join_budget(ctx: Context, request: Request) -> None:
    if await ctx.broker.hit(f"join:ip:{client_ip(request)}", 60.0) > ctx.settings.join_attempts_per_minute:
        raise LimitExceeded("too many join attempts; wait a minute", code="too_many_requests", retry_after=60)


async def _session_of_code(ctx: Context, request: Request, code: str) -> str:
    await _spend_join_budget(ctx, request)
    s = ctx.settings
    try:
        parsed = joincode.parse(code)
    except ProtocolError as exc:
        raise AuthError(exc.message, code="auth_failed") from None
    if s.role != "all" and not await RelayDirectory(ctx.broker, stale_s=s.relay_stale_s).nodes():
        # Before the code is spent: the agent may try again with it.
        raise Unavailable("no relay node is available for the screen")
    session_id = await ctx.store.redeem_join_code(
        slot=parsed.slot, secret_hash=parsed.secret_hash, now=datetime.now(UTC), max_tries=s.join_code_max_tries
    )
    if session_id is None:
        raise AuthError(joincode.WRONG_CODE, code="auth_failed")
    return session_id


async def _grant_of_token(ctx: Context, request: Request, token: str) -> rt.RelayGrant:
    try:
        return rt.renewable(
            token, relay_secret(ctx.settings), now=time.time(), grace_s=ctx.settings.relay_renew_s,
            role=("agent", "share"),
        )
    except RelayTokenError as exc:
        await _spend_join_budget(ctx, request)
        raise AuthError(TOKEN_REFUSED.get(exc.reason, "relay token refused"), code="auth_failed") from None


@endpoint("/api/relay/ticket", ("POST",), Access.PUBLIC, body=TicketBody)
async def relay_ticket(request: Request, ctx: Context, login: object, body: TicketBody) -> Response:
    """An agent's or a browser share's relay node and token, for a join code or the token it has."""
    if bool(body.code) == bool(body.token):
        raise ProtocolError("send either a join code or a relay token")
    if len(body.code) > limits.MAX_JOIN_CODE_CHARS or len(body.token) > rt.MAX_TOKEN_CHARS:
        raise ProtocolError("that is not a join code or a relay token")
    role: RelayRole = "agent"
    if body.code:
        session_id = await _session_of_code(ctx, request, body.code)
    else:
        grant = await _grant_of_token(ctx, request, body.token)
        session_id, role = grant.session, grant.role
    session = await ctx.store.get_session(session_id)
    if session is None or not session.open:
        raise Conflict("the support session has ended", code="conflict_closed")
    t = await ticket(ctx, session.id, role, 0, ctx.origins.own(request))
    return json_response({"node": t.node, "url": t.url, "token": t.token, "expires": t.expires, "session_id": session.id})


ROUTES = [relay_ticket]
