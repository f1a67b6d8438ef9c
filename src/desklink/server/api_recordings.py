"""What the Session View reads: a recording's index and its segments.

``GET /api/sessions/{id}/recording`` verifies the whole chain first
(protocol/recording.py ``verify``, in a worker thread: it hashes every
segment) and answers the index up to where it holds, with the verdict in
words; ``.../segments/{n}`` serves one segment's bytes, only among those that
verified. Nothing past damage is ever served as if it were fine. Each open of
the index is written to the audit log (``session.replay``): who watched which
session's screen, and when.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from desklink.dispatch.dispatcher import iso
from desklink.errors import NotFound
from desklink.protocol.recording import Verification, segment_hash, verify
from desklink.server import auth as authmod
from desklink.server.session_access import readable_session
from desklink.server.context import Context
from desklink.server.http import Access, endpoint, json_response
from desklink.server.recording_store import RecordingStore


def _verify(segments: RecordingStore, session_id: str, head: bytes | None) -> tuple[Verification, list[str]]:
    """Verify and hash every stored segment (blocking: a worker thread).

    A crash between writing a segment and moving the database's head past
    it leaves one segment the database never confirmed: the chain is then
    cut at the database's head (the newest segment it vouches for), and the
    unconfirmed rest is reported, never replayed."""
    stored = [(n, segments.read_segment(session_id, n)) for n in segments.list_segments(session_id)]
    result = verify(stored, session_id, head)
    hashes = [segment_hash(data).hex() for _, data in stored[: result.segments]]
    if head is not None and result.problem is not None and result.problem.what == "head" and head.hex() in hashes:
        keep = hashes.index(head.hex()) + 1
        cut = verify(stored[:keep], session_id, head)
        cut.problem = None
        cut.unconfirmed = result.segments - keep
        return cut, hashes[:keep]
    return result, hashes


def _words(result: Verification, duration_ms: int) -> str:
    if result.ok and result.unconfirmed:
        return (f"Recording verified: {result.segments} segments; {result.unconfirmed} more written as the server stopped "
                "were never confirmed and are not shown.")
    if result.ok:
        return f"Recording verified: {result.segments} segments, every one in its place."
    reach = f"{result.verified_to_t_ms / 1000:.0f} s" if result.segments else "the start"
    return (f"Verified up to {reach}; then {result.problem}. The replay stops there"
            f"{'' if duration_ms <= result.verified_to_t_ms else ' (the rest is not shown)'}.")


@endpoint("/api/sessions/{session_id}/recording", ("GET",), Access.REP)
async def recording_index(request: Request, ctx: Context, login: authmod.Login) -> Response:
    session, _ = await readable_session(request, ctx, login)
    rec = await ctx.store.get_recording(session.id)
    if rec is None or rec.segments == 0:
        raise NotFound("this session's screen was not recorded")
    head = bytes.fromhex(rec.head_hash) if rec.head_hash else None
    result, hashes = await asyncio.to_thread(_verify, ctx.recordings.segments, session.id, head)
    await ctx.store.add_audit(actor_id=login.user.id, actor=login.user.username, action="session.replay",
                              target=session.id, data={"verified": result.ok}, now=datetime.now(UTC))
    segments: list[dict[str, Any]] = [
        {"no": h.number, "start_t_ms": h.start_t_ms, "end_t_ms": h.end_t_ms, "first_key_t_ms": h.first_key_t_ms,
         "records": h.records, "sha256": hashes[i]}
        for i, h in enumerate(result.index)
    ]
    whole = result.ok and not result.unconfirmed
    duration = max(rec.duration_ms, result.verified_to_t_ms) if whole else result.verified_to_t_ms
    return json_response({
        "session_id": session.id,
        "started_at": iso(rec.started_at),
        "ended_at": iso(rec.ended_at),
        "status": rec.status,
        "error": rec.error,
        "duration_ms": duration,
        "bytes": rec.bytes,
        "segments": segments,
        "verified": {"ok": result.ok, "segments": result.segments, "to_t_ms": result.verified_to_t_ms,
                     "problem": str(result.problem) if result.problem else None, "text": _words(result, rec.duration_ms)},
    })


@endpoint("/api/sessions/{session_id}/recording/segments/{number:int}", ("GET",), Access.REP)
async def recording_segment(request: Request, ctx: Context, login: authmod.Login) -> Response:
    session, _ = await readable_session(request, ctx, login)
    number = int(request.path_params["number"])
    rec = await ctx.store.get_recording(session.id)
    if rec is None or not 0 <= number < rec.segments:
        raise NotFound(f"this recording has no segment {number}")
    try:
        data = await asyncio.to_thread(ctx.recordings.segments.read_segment, session.id, number)
    except OSError:
        raise NotFound(f"segment {number} of this recording is missing from storage") from None
    return Response(data, media_type="application/octet-stream", headers={"Cache-Control": "private, no-store"})


ROUTES = [recording_index, recording_segment]
