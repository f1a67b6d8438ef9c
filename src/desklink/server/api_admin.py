"""Admin API: users, roles, queues (members, file and recording policy, business hours, branding and logo), and the audit log.
Admins only. A thin adapter: every change goes through
:class:`desklink.admin.AdminActions`, as the command line's do."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from desklink.admin import Actor
from desklink.admin.rules import branding_view, check_branding, check_file_policy, check_hours, check_recording_policy, policy_view
from desklink.dispatch.dispatcher import iso
from desklink.errors import ProtocolError, TooLarge
from desklink.protocol.filepolicy import FilePolicy
from desklink.protocol.server_messages import RecordingPolicy
from desklink.server.api_console import user_view
from desklink.server.auth import Login
from desklink.server.context import Context
from desklink.server.http import Access, endpoint, json_response
from desklink.server.schemas import (
    BrandingBody,
    CreateQueueBody,
    CreateUserBody,
    FilePolicyBody,
    MembersBody,
    UpdateQueueBody,
    UpdateUserBody,
)
from desklink.store.records import AuditEntry, Branding, Queue

#: Audit entries per page of ``GET /api/admin/audit``: the default, and the
#: most one call may ask for (a page is one indexed query; the admin center
#: pages back with ``before``).
AUDIT_PAGE = 50
MAX_AUDIT_PAGE = 200


def queue_view(
    q: Queue,
    members: list[int],
    files: FilePolicy,
    recording: RecordingPolicy,
    hours: dict[str, Any] | None = None,
    branding: Branding | None = None,
) -> dict[str, Any]:
    view = {
        "id": q.id,
        "slug": q.slug,
        "name": q.name,
        "allowed_origins": list(q.allowed_origins),
        "members": members,
        "files": policy_view(files),
        "recording": recording,
        "hours": hours or {},
    }
    if branding is not None:
        view["branding"] = {**branding_view(branding), "logo_url": logo_path(q.id, branding)}
    return view


def logo_path(queue_id: int, branding: Branding) -> str:
    """The logo's public path, named by its content hash (so it is cached for
    good and a new logo is a new URL); empty without a logo."""
    return f"/api/widget/logo/{queue_id}/{branding.logo_sha256}" if branding.logo_sha256 else ""


async def _queue_view(ctx: Context, q: Queue, members: list[int] | None = None) -> dict[str, Any]:
    if members is None:
        members = await ctx.store.queue_member_ids(q.id)
    return queue_view(
        q, members, await ctx.store.get_file_policy(q.id), await ctx.store.get_recording_policy(q.id),
        await ctx.store.get_queue_hours(q.id), await ctx.store.get_branding(q.id),
    )


def file_limits(ctx: Context) -> dict[str, int]:
    """The server's own file settings: the ceiling of every queue's policy."""
    return {"max_file_bytes": ctx.settings.max_file_bytes, "max_files_per_session": ctx.settings.max_files_per_session}


async def _set_files(ctx: Context, login: Login, queue_id: int, files: FilePolicyBody | None) -> None:
    if files is None:
        return
    blocked = files.blocked_extensions
    await ctx.admin.set_file_policy(
        Actor.admin(login.user), queue_id, to_visitor=files.to_visitor, from_visitor=files.from_visitor,
        max_file_bytes=files.max_file_bytes, max_files_per_session=files.max_files_per_session,
        blocked_extensions=",".join(blocked) if isinstance(blocked, list) else blocked,
    )


async def _set_recording(ctx: Context, login: Login, queue_id: int, recording: str | None) -> None:
    if recording is not None:
        await ctx.admin.set_recording_policy(Actor.admin(login.user), queue_id, recording)


async def _set_hours(ctx: Context, login: Login, queue_id: int, hours: dict[str, Any] | None) -> None:
    if hours is not None:
        await ctx.admin.set_queue_hours(Actor.admin(login.user), queue_id, hours)


def _check_hours_early(ctx: Context, hours: dict[str, Any] | None) -> None:
    if hours is not None:
        s = ctx.settings
        check_hours(hours, max_intervals=s.hours_intervals_per_day, max_holidays=s.hours_holidays)


def audit_view(e: AuditEntry) -> dict[str, Any]:
    return {
        "id": e.id,
        "actor": e.actor,
        "actor_id": e.actor_id,
        "action": e.action,
        "target": e.target,
        "data": e.data,
        "at": iso(e.created_at),
    }


@endpoint("/api/admin/users", ("GET",), Access.ADMIN)
async def list_users(request: Request, ctx: Context, login: Login) -> Response:
    """Every account."""
    return json_response({"users": [user_view(u) for u in await ctx.store.list_users()]})


@endpoint("/api/admin/users", ("POST",), Access.ADMIN, body=CreateUserBody)
async def create_user(request: Request, ctx: Context, login: Login, body: CreateUserBody) -> Response:
    """Create an account with a role and a password."""
    user = await ctx.admin.create_user(
        Actor.admin(login.user), username=body.username, display_name=body.display_name, role=body.role,
        password=body.password,
    )
    return json_response({"user": user_view(user)}, status=201)


@endpoint("/api/admin/users/{user_id:int}", ("PATCH",), Access.ADMIN, body=UpdateUserBody)
async def update_user(request: Request, ctx: Context, login: Login, body: UpdateUserBody) -> Response:
    """Change display name, role, disabled flag or password."""
    user = await ctx.admin.update_user(
        Actor.admin(login.user), request.path_params["user_id"], display_name=body.display_name, role=body.role,
        disabled=body.disabled, password=body.password,
    )
    return json_response({"user": user_view(user)})


@endpoint("/api/admin/queues", ("GET",), Access.ADMIN)
async def list_queues(request: Request, ctx: Context, login: Login) -> Response:
    """Every queue with its allowed origins and members."""
    queues = await ctx.store.list_queues()
    return json_response({"queues": [await _queue_view(ctx, q) for q in queues], "file_limits": file_limits(ctx)})


@endpoint("/api/admin/queues", ("POST",), Access.ADMIN, body=CreateQueueBody)
async def create_queue(request: Request, ctx: Context, login: Login, body: CreateQueueBody) -> Response:
    """Create a queue and say which sites may embed its help box (and, optionally, its file and recording policy)."""
    if body.files is not None:
        _check_files_early(ctx, body.files)
    if body.recording is not None:
        check_recording_policy(body.recording)
    _check_hours_early(ctx, body.hours)
    q = await ctx.admin.create_queue(
        Actor.admin(login.user), slug=body.slug, name=body.name, allowed_origins=body.allowed_origins
    )
    await ctx.origins.refresh()
    await _set_files(ctx, login, q.id, body.files)
    await _set_recording(ctx, login, q.id, body.recording)
    await _set_hours(ctx, login, q.id, body.hours)
    return json_response({"queue": await _queue_view(ctx, q, [])}, status=201)


@endpoint("/api/admin/queues/{queue_id:int}", ("PATCH",), Access.ADMIN, body=UpdateQueueBody)
async def update_queue(request: Request, ctx: Context, login: Login, body: UpdateQueueBody) -> Response:
    """Rename a queue, change its allowed origins, its file or recording policy, or its business hours."""
    if body.files is not None:
        _check_files_early(ctx, body.files)
    if body.recording is not None:
        check_recording_policy(body.recording)
    if body.branding is not None:
        _check_branding_early(ctx, body.branding)
    _check_hours_early(ctx, body.hours)
    q = await ctx.admin.update_queue(
        Actor.admin(login.user), request.path_params["queue_id"], name=body.name, allowed_origins=body.allowed_origins
    )
    await ctx.origins.refresh()
    await _set_files(ctx, login, q.id, body.files)
    await _set_recording(ctx, login, q.id, body.recording)
    await _set_hours(ctx, login, q.id, body.hours)
    if body.branding is not None:
        b = body.branding
        await ctx.admin.set_branding(
            Actor.admin(login.user), q.id, title=b.title, color=b.color, welcome=b.welcome, fields=b.fields
        )
    return json_response({"queue": await _queue_view(ctx, q)})


@endpoint("/api/admin/queues/{queue_id:int}/logo", ("PUT",), Access.ADMIN)
async def put_logo(request: Request, ctx: Context, login: Login) -> Response:
    """Upload the queue's help box logo: the raw image as the body (PNG, JPEG or WebP, at most max_logo_bytes)."""
    limit = ctx.settings.max_logo_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"the logo is {declared} bytes; the limit is {limit}")
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > limit:
            raise TooLarge(f"the logo is over {limit} bytes, the limit")
    await ctx.admin.set_logo(Actor.admin(login.user), request.path_params["queue_id"], bytes(data))
    q = await ctx.store.get_queue(request.path_params["queue_id"])
    assert q is not None
    return json_response({"queue": await _queue_view(ctx, q)})


@endpoint("/api/admin/queues/{queue_id:int}/logo", ("DELETE",), Access.ADMIN)
async def delete_logo(request: Request, ctx: Context, login: Login) -> Response:
    """Remove the queue's help box logo."""
    await ctx.admin.remove_logo(Actor.admin(login.user), request.path_params["queue_id"])
    q = await ctx.store.get_queue(request.path_params["queue_id"])
    assert q is not None
    return json_response({"queue": await _queue_view(ctx, q)})


@endpoint("/api/admin/queues/{queue_id:int}/members", ("PUT",), Access.ADMIN, body=MembersBody)
async def set_members(request: Request, ctx: Context, login: Login, body: MembersBody) -> Response:
    """Replace the queue's members."""
    queue_id = request.path_params["queue_id"]
    members = await ctx.admin.set_members(Actor.admin(login.user), queue_id, body.user_ids)
    q = await ctx.store.get_queue(queue_id)
    assert q is not None
    return json_response({"queue": await _queue_view(ctx, q, members)})


def _check_files_early(ctx: Context, files: FilePolicyBody) -> None:
    """Refuse a bad file policy before anything else of the request changes
    (the fields given are checked as they are; the rest cannot be wrong)."""
    blocked = files.blocked_extensions
    check_file_policy(
        to_visitor=True, from_visitor=True,
        max_file_bytes=files.max_file_bytes or 0, max_files_per_session=files.max_files_per_session or 0,
        blocked_extensions=",".join(blocked) if isinstance(blocked, list) else (blocked or ""),
        server_max_file_bytes=ctx.settings.max_file_bytes, server_max_files_per_session=ctx.settings.max_files_per_session,
    )


def _check_branding_early(ctx: Context, b: BrandingBody) -> None:
    """Refuse bad branding before anything else of the request changes."""
    check_branding(
        title=b.title or "", color=b.color or "", welcome=b.welcome or "", fields=b.fields or [],
        limits=ctx.settings.branding_limits,
    )


def _int_param(request: Request, name: str, default: int | None, low: int, high: int) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isascii() or not raw.isdigit() or not low <= int(raw) <= high:
        raise ProtocolError(f"{name} must be a whole number from {low} to {high}")
    return int(raw)


@endpoint("/api/admin/audit", ("GET",), Access.ADMIN)
async def audit(request: Request, ctx: Context, login: Login) -> Response:
    """The audit log, newest first: ``limit`` (1-200) entries older than entry ``before``."""
    limit = _int_param(request, "limit", AUDIT_PAGE, 1, MAX_AUDIT_PAGE)
    before = _int_param(request, "before", None, 1, 2**63 - 1)
    assert limit is not None
    entries = await ctx.store.list_audit(limit=limit, before_id=before)
    more = len(entries) == limit and bool(await ctx.store.list_audit(limit=1, before_id=entries[-1].id))
    return json_response({"entries": [audit_view(e) for e in entries], "before": entries[-1].id if more else None})


ROUTES = [
    list_users, create_user, update_user, list_queues, create_queue, update_queue, set_members, put_logo, delete_logo, audit,
]
