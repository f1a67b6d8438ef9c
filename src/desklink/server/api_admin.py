"""Admin API: users, roles, queues and their members. Admins only."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from desklink.errors import NotFound, ProtocolError
from desklink.server.api_console import user_view
from desklink.server.auth import Login
from desklink.server.context import Context, normalise_origin
from desklink.server.http import Access, endpoint, json_response
from desklink.server.schemas import CreateQueueBody, CreateUserBody, MembersBody, UpdateQueueBody, UpdateUserBody
from desklink.store.records import Queue

#: Queue slugs appear in embed snippets and URLs: short and plain.
MAX_SLUG_CHARS = 40
MAX_ORIGINS = 50


def queue_view(q: Queue, members: list[int]) -> dict[str, Any]:
    return {"id": q.id, "slug": q.slug, "name": q.name, "allowed_origins": list(q.allowed_origins), "members": members}


def check_slug(slug: str) -> str:
    slug = slug.strip().lower()
    if not slug or len(slug) > MAX_SLUG_CHARS or not all(c.isalnum() or c in "-_" for c in slug):
        raise ProtocolError(f"slug must be 1-{MAX_SLUG_CHARS} letters, digits, - or _")
    return slug


def check_origins(origins: list[str]) -> list[str]:
    if len(origins) > MAX_ORIGINS:
        raise ProtocolError(f"at most {MAX_ORIGINS} allowed origins")
    out = []
    for raw in origins:
        o = normalise_origin(raw)
        if not o:
            continue
        scheme, sep, rest = o.partition("://")
        if scheme not in ("http", "https") or not sep or not rest or "/" in rest or len(o) > 200:
            raise ProtocolError(f"{raw!r} is not an origin like https://www.example.com")
        out.append(o)
    return out


@endpoint("/api/admin/users", ("GET",), Access.ADMIN)
async def list_users(request: Request, ctx: Context, login: Login) -> Response:
    """Every account."""
    return json_response({"users": [user_view(u) for u in await ctx.store.list_users()]})


@endpoint("/api/admin/users", ("POST",), Access.ADMIN, body=CreateUserBody)
async def create_user(request: Request, ctx: Context, login: Login, body: CreateUserBody) -> Response:
    """Create an account with a role and a password."""
    user = await ctx.accounts.create_user(body.username, body.display_name, body.role, body.password)
    return json_response({"user": user_view(user)}, status=201)


@endpoint("/api/admin/users/{user_id:int}", ("PATCH",), Access.ADMIN, body=UpdateUserBody)
async def update_user(request: Request, ctx: Context, login: Login, body: UpdateUserBody) -> Response:
    """Change display name, role, disabled flag or password."""
    user_id = request.path_params["user_id"]
    if user_id == login.user.id and (body.disabled or (body.role and body.role != "admin")):
        raise ProtocolError("you cannot disable or demote your own account")
    password_hash = await ctx.accounts.hash_password(body.password) if body.password is not None else None
    display = body.display_name.strip()[: ctx.settings.max_name_chars] if body.display_name is not None else None
    if display == "":
        raise ProtocolError("display name must not be empty")
    user = await ctx.store.update_user(
        user_id, display_name=display, role=body.role, disabled=body.disabled, password_hash=password_hash
    )
    if body.disabled or body.password is not None:
        await ctx.store.delete_user_auth_sessions(user_id)
        await ctx.dispatcher.sign_out(user_id)
    ctx.dispatcher.forget_name(user_id)
    return json_response({"user": user_view(user)})


@endpoint("/api/admin/queues", ("GET",), Access.ADMIN)
async def list_queues(request: Request, ctx: Context, login: Login) -> Response:
    """Every queue with its allowed origins and members."""
    queues = await ctx.store.list_queues()
    return json_response({"queues": [queue_view(q, await ctx.store.queue_member_ids(q.id)) for q in queues]})


@endpoint("/api/admin/queues", ("POST",), Access.ADMIN, body=CreateQueueBody)
async def create_queue(request: Request, ctx: Context, login: Login, body: CreateQueueBody) -> Response:
    """Create a queue and say which sites may embed its help box."""
    name = body.name.strip()
    if not name or len(name) > ctx.settings.max_name_chars:
        raise ProtocolError(f"name must be 1-{ctx.settings.max_name_chars} characters")
    q = await ctx.store.create_queue(check_slug(body.slug), name, check_origins(body.allowed_origins), datetime.now(UTC))
    await ctx.origins.refresh()
    return json_response({"queue": queue_view(q, [])}, status=201)


@endpoint("/api/admin/queues/{queue_id:int}", ("PATCH",), Access.ADMIN, body=UpdateQueueBody)
async def update_queue(request: Request, ctx: Context, login: Login, body: UpdateQueueBody) -> Response:
    """Rename a queue or change its allowed origins."""
    queue_id = request.path_params["queue_id"]
    origins = check_origins(body.allowed_origins) if body.allowed_origins is not None else None
    name = body.name.strip() if body.name is not None else None
    if name == "":
        raise ProtocolError("name must not be empty")
    q = await ctx.store.update_queue(queue_id, name=name, allowed_origins=origins)
    await ctx.origins.refresh()
    return json_response({"queue": queue_view(q, await ctx.store.queue_member_ids(q.id))})


@endpoint("/api/admin/queues/{queue_id:int}/members", ("PUT",), Access.ADMIN, body=MembersBody)
async def set_members(request: Request, ctx: Context, login: Login, body: MembersBody) -> Response:
    """Replace the queue's members."""
    queue_id = request.path_params["queue_id"]
    if await ctx.store.get_queue(queue_id) is None:
        raise NotFound("no such queue")
    known = {u.id for u in await ctx.store.list_users()}
    unknown = sorted(set(body.user_ids) - known)
    if unknown:
        raise ProtocolError(f"no users with ids {unknown}")
    await ctx.store.set_queue_members(queue_id, sorted(set(body.user_ids)))
    q = await ctx.store.get_queue(queue_id)
    assert q is not None
    return json_response({"queue": queue_view(q, await ctx.store.queue_member_ids(queue_id))})


ROUTES = [list_users, create_user, update_user, list_queues, create_queue, update_queue, set_members]
