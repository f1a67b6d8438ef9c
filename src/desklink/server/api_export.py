"""A session exported whole, by an admin: ``GET /api/sessions/{id}/export``.

One ZIP file holding what a dispute or an audit needs, and nothing that
has to be trusted on DeskLink's word:

- ``session.json``: the session, its request and queue, and the timeline in
  words with each item's kind and time (desklink.timeline);
- ``transcript.txt`` and ``transcript.html``: the documents the visitor can
  download;
- ``recording/<n>.dlrec`` (when the screen was recorded): the segments as
  stored, and ``recording/VERIFY.txt``: the chain's verdict and how to
  check it again (each segment's trailer and the hash chain are in
  docs/protocol.md; ``desklink`` itself is not needed to check them).

The ZIP is built in a worker thread into a temporary file in the data
directory and streamed from there (a recording can be gigabytes); the file
goes when the answer is sent. Every export is written to the audit log
(``session.export``).
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import zipfile
from datetime import UTC, datetime
from pathlib import Path

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import FileResponse, Response

from desklink import timeline as timelines
from desklink import transcript as transcripts
from desklink.dispatch.dispatcher import iso
from desklink.protocol.recording import segment_hash, verify
from desklink.server import auth as authmod
from desklink.server.api_console import timeline_of
from desklink.server.context import Context
from desklink.server.http import Access, endpoint
from desklink.server.recording_store import RecordingStore
from desklink.server.session_access import readable_session


def _write_zip(path: Path, documents: dict[str, bytes], segments: RecordingStore | None, session_id: str,
               head: bytes | None) -> str:
    """Write the export (blocking: a worker thread); the recording's verdict."""
    verdict = "The screen of this session was not recorded."
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data in documents.items():
            z.writestr(name, data)
        if segments is not None:
            numbers = segments.list_segments(session_id)
            stored = [(n, segments.read_segment(session_id, n)) for n in numbers]
            result = verify(stored, session_id, head)
            lines = [f"DeskLink recording of session {session_id}: {result.describe()}", "",
                     "Segments (number, bytes, SHA-256 of the whole segment; each header names the previous one's):"]
            for n, data in stored:
                # Stored, not compressed: they are JPEG/PNG/H.264 data already.
                z.writestr(zipfile.ZipInfo(f"recording/{n}.dlrec", date_time=(2026, 1, 1, 0, 0, 0)), data,
                           compress_type=zipfile.ZIP_STORED)
                lines.append(f"{n}\t{len(data)}\t{segment_hash(data).hex()}")
            if head is not None:
                lines += ["", f"The database's newest segment hash: {head.hex()}"]
            verdict = lines[0]
            z.writestr("recording/VERIFY.txt", "\n".join(lines) + "\n")
    return verdict


def _export(folder: Path, documents: dict[str, bytes], segments: RecordingStore | None, session_id: str,
            head: bytes | None) -> tuple[Path, int, str]:
    """The export in a new temporary file (blocking: a worker thread): its
    path, size and the recording's verdict. Nothing is left on failure."""
    folder.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="export-", suffix=".zip", dir=folder)
    os.close(fd)
    path = Path(name)
    try:
        verdict = _write_zip(path, documents, segments, session_id, head)
        return path, path.stat().st_size, verdict
    except BaseException:
        path.unlink(missing_ok=True)
        raise


@endpoint("/api/sessions/{session_id}/export", ("GET",), Access.ADMIN)
async def session_export(request: Request, ctx: Context, login: authmod.Login) -> Response:
    session, req = await readable_session(request, ctx, login)
    queue = await ctx.store.get_queue(req.queue_id)
    assert queue is not None
    messages = await ctx.store.all_messages(req.id)
    items = await timeline_of(ctx, session, req)
    documents: dict[str, bytes] = {}
    for fmt in ("text", "html"):
        body, _, ext = transcripts.render(fmt, req, queue, messages, ctx.settings.provider_name)
        documents[f"transcript.{ext}"] = body.encode("utf-8")
    rec = await ctx.store.get_recording(session.id)
    summary = {
        "session": {"id": session.id, "started_at": iso(session.started_at), "ended_at": iso(session.ended_at),
                    "ended_by": session.ended_by, "disposition": session.disposition, "note": session.note,
                    "rating": None if session.rating is None else {
                        "value": session.rating, "comment": session.rating_comment, "at": iso(session.rated_at)}},
        "request": {"id": req.id, "visitor_name": req.visitor_name, "visitor_email": req.visitor_email,
                    "visitor_client": req.visitor_client, "visitor_context": req.visitor_context,
                    "question": req.question, "created_at": iso(req.created_at)},
        "queue": {"slug": queue.slug, "name": queue.name},
        "rep": {"id": session.rep_id, "name": await ctx.dispatcher.rep_name(session.rep_id)},
        "timeline": [timelines.as_json(i) for i in items],
        "recording": None if rec is None else {"started_at": iso(rec.started_at), "ended_at": iso(rec.ended_at),
                                               "segments": rec.segments, "bytes": rec.bytes, "duration_ms": rec.duration_ms,
                                               "status": rec.status, "error": rec.error, "head_sha256": rec.head_hash},
        "exported_at": iso(datetime.now(UTC)),
        "exported_by": login.user.username,
    }
    documents["session.json"] = json.dumps(summary, indent=2, ensure_ascii=False).encode("utf-8")
    has_recording = rec is not None and rec.segments > 0
    head = bytes.fromhex(rec.head_hash) if rec is not None and rec.head_hash else None
    path, size, verdict = await asyncio.to_thread(
        _export, ctx.settings.data_dir / "tmp", documents, ctx.recordings.segments if has_recording else None, session.id, head)
    await ctx.store.add_audit(actor_id=login.user.id, actor=login.user.username, action="session.export",
                              target=session.id, data={"bytes": size, "recording": verdict},
                              now=datetime.now(UTC))
    return FileResponse(path, media_type="application/zip", filename=f"desklink-session-{session.id}.zip",
                        background=BackgroundTask(path.unlink, missing_ok=True))


ROUTES = [session_export]
