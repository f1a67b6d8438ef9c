"""The web node's half of relay nodes: which relay node holds a session's
screen, and the URL and relay token a viewer takes there
(``GET /api/sessions/{session_id}/relay``).

The first ask for a session chooses a node (:meth:`RelayDirectory.choose`:
alive, not full, least loaded) and makes it the session's owner with one
broker claim (``relay-owner:<session>``, kept ``relay_owner_ttl_s``), so
every web node that asks later, for the agent or any viewer, names the same
node whatever the balancer did. A node with role ``all`` is its own relay
and names itself. A first ask chooses, claims and reserves the node
(:meth:`RelayDirectory.reserve`, counted for ``relay_handout_hold_s``)
under the cluster's choice lock (:meth:`RelayDirectory.choosing`), so
escalations at the same moment on several web nodes spread.

An owner that is no longer alive in the directory (it died: its
announcement expired after ``relay_stale_s``) is replaced: the web node
chooses an alive node and moves the claim with the broker's compare and set
(:meth:`~desklink.broker.base.Broker.replace`), so two web nodes that see
the dead owner at once name the same new node. The move is logged
(``relay node ... is gone``), under the same lock and reserved the same
way. Clients that lost the dead node ask again and meet on the new one.
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from desklink.errors import Conflict, Unavailable
from desklink.protocol import relay_token
from desklink.protocol.relay_token import RelayGrant, RelayRole
from desklink.server.auth import Login
from desklink.server.context import Context
from desklink.server.http import Access, endpoint, json_response
from desklink.server.relay_admission import relay_secret
from desklink.server.relay_nodes import RelayDirectory
from desklink.server.session_access import readable_session

__all__ = ["ROUTES", "RelayTicket", "agent_ticket", "owner_of", "ticket"]

log = logging.getLogger("desklink.relay_handout")


@dataclass(frozen=True, slots=True)
class RelayTicket:
    node: str
    url: str  # the node's public URL (http or https; the client makes ws or wss of it)
    token: str
    expires: int


def owner_key(session_id: str) -> str:
    return f"relay-owner:{session_id}"


async def owner_of(ctx: Context, session_id: str, own_url: str = "") -> tuple[str, str]:
    """``(name, public_url)`` of the relay node holding ``session_id``'s
    screen, choosing and claiming one on first ask. A node with role
    ``all`` names itself: at ``relay_public_url`` when set, else at
    ``own_url`` (the address the asking client used, so a single node
    behind a proxy or balancer is reached the way it was), else at its
    own bind address."""
    s = ctx.settings
    if s.role == "all":
        return s.effective_node_name, (s.relay_public_url.rstrip("/") or own_url or s.effective_relay_url)
    directory = RelayDirectory(ctx.broker, stale_s=s.relay_stale_s)
    key = owner_key(session_id)
    first = await ctx.broker.ttl(key) <= 0
    # A first hand-out chooses under the directory's lock and reserves its
    # node, so simultaneous escalations see each other (relay/nodes.py).
    async with directory.choosing(s.relay_choice_wait_s) if first else contextlib.nullcontext():
        alive = {n.name: n for n in await directory.nodes()}
        chosen = await directory.choose()
        # A session may already have an owner even when every node is full now:
        # the claim with any alive node as candidate returns the holder.
        candidate = chosen.name if chosen is not None else next(iter(sorted(alive)), None)
        if candidate is None:
            raise Unavailable("no relay node is available for the screen")
        owner = await ctx.broker.claim(key, candidate, s.relay_owner_ttl_s)
        if first and owner in alive:
            await directory.reserve(owner, session_id, s.relay_handout_hold_s)
    node = alive.get(owner)
    if node is None:
        # The owner died. Only a node that can take a new session replaces
        # it; under the lock and reserved like a first hand-out, so a dead
        # node's sessions spread over the others instead of all moving to
        # the one that looked emptiest.
        async with directory.choosing(s.relay_choice_wait_s):
            alive = {n.name: n for n in await directory.nodes()}
            chosen = await directory.choose()
            if chosen is None:
                raise Unavailable("the relay node of this session is gone and no other can take it")
            moved = await ctx.broker.replace(key, owner, chosen.name, s.relay_owner_ttl_s)
            if moved == chosen.name:
                await directory.reserve(moved, session_id, s.relay_handout_hold_s)
        node = alive.get(moved)
        if node is None:
            raise Unavailable("the relay node of this session is gone")
        if moved == chosen.name:
            log.warning("relay node %s of session %s is gone; the session moves to %s", owner, session_id, moved)
    return node.name, node.public_url


async def ticket(ctx: Context, session_id: str, role: RelayRole, subject: int, own_url: str = "") -> RelayTicket:
    """The owner's URL and a fresh token for ``role`` on ``session_id``
    (``own_url``: see :func:`owner_of`). A node with role ``all`` names
    itself with an empty token: it asks for none (the client connects as
    it always did: join code, login cookie)."""
    name, url = await owner_of(ctx, session_id, own_url)
    if ctx.settings.role == "all":
        return RelayTicket(name, url, "", 0)
    expires = relay_token.expiry(time.time(), ctx.settings.relay_token_ttl_s)
    grant = RelayGrant(session=session_id, role=role, subject=subject, node=name, expires=expires)
    return RelayTicket(name, url, relay_token.sign(grant, relay_secret(ctx.settings)), expires)


async def agent_ticket(ctx: Context, session_id: str) -> tuple[str, str]:
    """``(url, token)`` for the visitor's agent: what a web node puts in the
    ``screen.offer`` (the join code still decides which session it joins)."""
    t = await ticket(ctx, session_id, "agent", 0)
    return t.url, t.token


@endpoint("/api/sessions/{session_id}/relay", ("GET",), Access.REP)
async def viewer_relay(request: Request, ctx: Context, login: Login) -> Response:
    """Where to watch an open session's screen: the relay node's URL and a
    viewer's relay token for ``/ws/viewer?session=<id>&token=<token>``
    (docs/protocol.md, *Relay nodes and relay tokens*)."""
    session, _ = await readable_session(request, ctx, login)
    if not session.open:
        raise Conflict("the session has ended", code="conflict_closed")
    t = await ticket(ctx, session.id, "viewer", login.user.id, ctx.origins.own(request))
    return json_response({"node": t.node, "url": t.url, "token": t.token, "expires": t.expires})


ROUTES = [viewer_relay]
