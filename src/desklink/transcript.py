"""A conversation as a document: plain text or HTML.

One renderer for every place a transcript leaves DeskLink: the visitor's
download in the help box, the rep's and admin's download from the session
history, and (later) a recording's export. Pure: records in, text out.
Everything a person typed is escaped in HTML, never interpreted.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from desklink.store.records import Message, Queue
from desklink.store.records import Request as HelpRequest


def _iso(request: HelpRequest) -> str:
    return request.created_at.isoformat().replace("+00:00", "Z")


def line_name(m: Message) -> str:
    """Who said it, as the transcript shows it."""
    return {"visitor": m.sender_name or "You", "system": "DeskLink"}.get(m.sender, m.sender_name or "Support")


def as_text(request: HelpRequest, queue: Queue, messages: Sequence[Message], provider: str) -> str:
    lines = [
        f"{provider} - {queue.name}",
        f"Conversation {request.id} started {_iso(request)}",
        f"Question: {request.question}",
        "",
    ]
    for m in messages:
        lines.append(f"[{m.created_at.strftime('%Y-%m-%d %H:%M:%S')} UTC] {line_name(m)}: {m.body}")
    return "\n".join(lines) + "\n"


def as_html(request: HelpRequest, queue: Queue, messages: Sequence[Message], provider: str) -> str:
    e = html.escape
    rows = "\n".join(
        f'<tr class="{e(m.sender)}"><td>{e(m.created_at.strftime("%H:%M:%S"))}</td>'
        f"<th>{e(line_name(m))}</th><td>{e(m.body)}</td></tr>"
        for m in messages
    )
    return (
        '<!doctype html>\n<html><head><meta charset="utf-8">'
        f"<title>{e(provider)} conversation {e(request.id)}</title></head><body>"
        f"<h1>{e(provider)} &middot; {e(queue.name)}</h1>"
        f"<p>Started {e(_iso(request))}</p><p><strong>Question:</strong> {e(request.question)}</p>"
        f"<table>\n{rows}\n</table></body></html>\n"
    )


def render(fmt: str, request: HelpRequest, queue: Queue, messages: Sequence[Message], provider: str) -> tuple[str, str, str]:
    """``(body, media type, file extension)`` for ``fmt`` "text" or "html"."""
    if fmt == "html":
        return as_html(request, queue, messages, provider), "text/html", "html"
    return as_text(request, queue, messages, provider), "text/plain", "txt"


def filename(request: HelpRequest, ext: str) -> str:
    return f"desklink-chat-{request.created_at.strftime('%Y%m%d-%H%M')}.{ext}"
