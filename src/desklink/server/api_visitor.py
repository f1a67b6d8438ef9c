"""The visitor's HTTP API, called cross-origin from the provider's site.

CORS allows exactly the origins configured for the queue in question. No
cookies are used: the visitor's capability token travels as a bearer token,
so there is no ambient credential for a cross-site request to abuse. A
preflight cannot name its queue, so it is answered for any origin some queue
allows; the real request is then checked against its own queue.
"""

from __future__ import annotations

import html
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from desklink.dispatch.dispatcher import hash_token, iso
from desklink.errors import AuthError, DeskLinkError, Forbidden, NotFound
from desklink.server.context import Context
from desklink.server.http import Access, client_ip, endpoint, error_response, json_response, query_choice, query_str
from desklink.server.schemas import SubmitBody
from desklink.store.records import Message, Queue
from desklink.store.records import Request as HelpRequest

CORS_MAX_AGE = "600"
#: A queue named in a query string: slugs are at most 40 characters
#: (api_admin.MAX_SLUG_CHARS); anything longer names no queue.
MAX_SLUG_QUERY_CHARS = 64


def cors_headers(origin: str | None) -> dict[str, str]:
    if not origin:
        return {}
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}


async def _queue_cors(request: Request, ctx: Context, queue: Queue | None) -> dict[str, str]:
    origin = request.headers.get("origin")
    if queue is None:
        if not await ctx.origins.any_queue_allows(origin, request):
            raise Forbidden("this site may not use the help box", code="origin_denied")
    elif not ctx.origins.queue_allows(queue, origin, request):
        raise Forbidden("this site may not use this help box", code="origin_denied")
    return cors_headers(origin)


@endpoint("/api/visitor/{path:path}", ("OPTIONS",), Access.PUBLIC)
async def preflight(request: Request, ctx: Context, login: Any) -> Response:
    """CORS preflight for the visitor API."""
    headers = await _queue_cors(request, ctx, None)
    headers.update(
        {
            "Access-Control-Allow-Methods": "GET, POST",
            "Access-Control-Allow-Headers": "content-type, authorization",
            "Access-Control-Max-Age": CORS_MAX_AGE,
        }
    )
    return Response(status_code=204, headers=headers)


async def _queue_by_slug(ctx: Context, slug: str) -> Queue:
    queue = await ctx.store.get_queue_by_slug(slug.strip()[:64]) if slug else None
    if queue is None:
        raise NotFound(f"no queue named {slug!r}")
    return queue


@endpoint("/api/widget/config", ("GET",), Access.PUBLIC)
async def widget_config(request: Request, ctx: Context, login: Any) -> Response:
    """What the help box needs to draw itself: queue, provider, online reps, limits."""
    queue = await _queue_by_slug(ctx, query_str(request, "queue", max_chars=MAX_SLUG_QUERY_CHARS))
    headers = await _queue_cors(request, ctx, queue)
    from desklink.dispatch.dispatcher import rep_presence_group

    online = len(await ctx.broker.presence_members(rep_presence_group(queue.id)))
    s = ctx.settings
    body = {
        "queue": {"slug": queue.slug, "name": queue.name},
        "provider": s.provider_name,
        "online_reps": online,
        "limits": {
            "name": s.max_name_chars,
            "email": s.max_email_chars,
            "question": s.max_question_chars,
            "message": s.max_chat_chars,
        },
    }
    return json_response(body, headers=headers)


@endpoint("/api/visitor/requests", ("POST",), Access.PUBLIC, body=SubmitBody)
async def submit(request: Request, ctx: Context, login: Any, body: SubmitBody) -> Response:
    """Submit a question; answers the request id and the visitor's token."""
    queue = await _queue_by_slug(ctx, body.queue)
    headers = await _queue_cors(request, ctx, queue)
    try:
        req, token = await ctx.dispatcher.submit(
            queue=queue,
            name=body.name,
            email=body.email,
            question=body.question,
            ip=client_ip(request),
            origin=request.headers.get("origin", ""),
        )
    except DeskLinkError as exc:
        response = error_response(exc, request)
        response.headers.update(headers)
        return response
    out = {"request_id": req.id, "token": token, "ws_path": f"/ws/visitor?request={req.id}"}
    return json_response(out, status=201, headers=headers)


async def visitor_request(request: Request, ctx: Context) -> HelpRequest:
    auth = request.headers.get("authorization", "")
    if not auth.lower().startswith("bearer ") or len(auth) > 200:
        raise AuthError("send the visitor token as 'Authorization: Bearer <token>'")
    req = await ctx.store.get_request_by_token(hash_token(auth[7:].strip()))
    if req is None:
        raise AuthError("unknown visitor token", code="auth_failed")
    return req


@endpoint("/api/visitor/transcript", ("GET",), Access.VISITOR)
async def transcript(request: Request, ctx: Context, login: Any) -> Response:
    """The conversation so far, as text or HTML, for the visitor to save."""
    fmt = query_choice(request, "format", ("text", "html"))
    req = await visitor_request(request, ctx)
    queue = await ctx.store.get_queue(req.queue_id)
    assert queue is not None
    headers = await _queue_cors(request, ctx, queue)
    messages = await ctx.store.all_messages(req.id)
    stamp = req.created_at.strftime("%Y%m%d-%H%M")
    if fmt == "html":
        body, media, ext = transcript_html(req, queue, messages, ctx.settings.provider_name), "text/html", "html"
    else:
        body, media, ext = transcript_text(req, queue, messages, ctx.settings.provider_name), "text/plain", "txt"
    headers["Content-Disposition"] = f'attachment; filename="desklink-chat-{stamp}.{ext}"'
    if "Access-Control-Allow-Origin" in headers:
        headers["Access-Control-Expose-Headers"] = "Content-Disposition"
    return Response(body, media_type=media + "; charset=utf-8", headers=headers)


def _line_name(m: Message) -> str:
    return {"visitor": m.sender_name or "You", "system": "DeskLink"}.get(m.sender, m.sender_name or "Support")


def transcript_text(req: HelpRequest, queue: Queue, messages: list[Message], provider: str) -> str:
    lines = [
        f"{provider} - {queue.name}",
        f"Conversation {req.id} started {iso(req.created_at)}",
        f"Question: {req.question}",
        "",
    ]
    for m in messages:
        lines.append(f"[{m.created_at.strftime('%Y-%m-%d %H:%M:%S')} UTC] {_line_name(m)}: {m.body}")
    return "\n".join(lines) + "\n"


def transcript_html(req: HelpRequest, queue: Queue, messages: list[Message], provider: str) -> str:
    e = html.escape
    rows = "\n".join(
        f'<tr class="{e(m.sender)}"><td>{e(m.created_at.strftime("%H:%M:%S"))}</td>'
        f"<th>{e(_line_name(m))}</th><td>{e(m.body)}</td></tr>"
        for m in messages
    )
    return (
        "<!doctype html>\n<html><head><meta charset=\"utf-8\">"
        f"<title>{e(provider)} conversation {e(req.id)}</title></head><body>"
        f"<h1>{e(provider)} &middot; {e(queue.name)}</h1>"
        f"<p>Started {e(iso(req.created_at) or '')}</p><p><strong>Question:</strong> {e(req.question)}</p>"
        f"<table>\n{rows}\n</table></body></html>\n"
    )


ROUTES = [preflight, widget_config, submit, transcript]
