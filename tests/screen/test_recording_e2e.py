"""Recording a real session (the agent on Xvfb, a real server, a viewer that
decodes like the browser): the recording verifies end to end and its last
picture is the live viewer's last picture; a ``kill -9`` of the server
mid-session leaves a recording that verifies up to its last flush; a
flipped byte, a cut segment and a removed segment are each reported, with
how far the recording still holds, and nothing past them is served."""

from __future__ import annotations

import asyncio
import io
import json
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from desklink.protocol import screen
from desklink.protocol.recording import Kind, replay
from desklink.testing import ONE_ADDRESS_ENV, AdminAPI, ServerProcess, ViewerClient, wait_until
from desklink.testing_x import XDisplay

from ._agent import Chat, finish, start_agent

SEGMENT_S = 1.0  # short segments: several within a few seconds of a test


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    with ServerProcess(env={**ONE_ADDRESS_ENV, "DESKLINK_RECORDING_SEGMENT_S": str(SEGMENT_S)}) as srv:
        yield srv


async def _record_always(server: ServerProcess, admin: AdminAPI, chat: Chat) -> None:
    """The chat's queue records every shared screen (set by the admin before
    the agent connects and reads the policy)."""
    slug = admin.http.get(f"/api/sessions/{chat.session_id}").json()["queue"]["slug"]
    queue_id = next(q["id"] for q in admin.http.get("/api/admin/queues").json()["queues"] if q["slug"] == slug)
    admin.http.patch(f"/api/admin/queues/{queue_id}", json={"recording": "always"}).raise_for_status()


def _index(admin: AdminAPI, session_id: str) -> dict[str, Any]:
    r = admin.http.get(f"/api/sessions/{session_id}/recording")
    return dict(r.json()) if r.status_code == 200 else {}


def _picture(admin: AdminAPI, index: dict[str, Any]) -> np.ndarray:
    """The last picture of the recording, painted from its served segments."""
    from desklink.agent.encode.canvas import Canvas

    sid = index["session_id"]
    segments = [(s["no"], admin.http.get(f"/api/sessions/{sid}/recording/segments/{s['no']}").content) for s in index["segments"]]
    canvas = Canvas()
    for rec in replay(segments, sid):
        if rec.kind == Kind.SCREEN:
            msg = screen.decode(rec.payload[1:], 2**25)
            if isinstance(msg, screen.Frame):
                canvas.apply(msg)
    return canvas.rgb


async def _sharing_with_changes(server: ServerProcess, display: XDisplay, chat: Chat) -> tuple[ViewerClient, subprocess.Popen[str]]:
    viewer = await ViewerClient.connect(server, chat.username, chat.password, chat.session_id)
    agent = start_agent(display, server, (await chat.offer())["code"], terminal=True, answer="y\n")
    await viewer.wait_status("sharing")
    display.spawn("xterm", "-geometry", "80x20+40+40", "-bg", "white", "-fg", "black", "-e", "bash", "--norc", "-c",
                  "for i in $(seq 1 100000); do echo line $i of a session being recorded; sleep 0.1; done")
    return viewer, agent


async def test_a_recorded_session_replays_to_the_live_picture(
    server: ServerProcess, admin: AdminAPI, display: XDisplay, chat: Chat
) -> None:
    await _record_always(server, admin, chat)
    viewer, agent = await _sharing_with_changes(server, display, chat)
    try:
        await wait_until(lambda: bool(viewer.states) and viewer.states[-1].get("recording") is True, 20, "recording on")
        await wait_until(lambda: len(_index(admin, chat.session_id).get("segments", [])) >= 3, 60, "three segments stored")
        await viewer.send({"t": "screen.stop"})
        code, out = await finish(agent)
        assert code == 0, out
        await wait_until(lambda: _index(admin, chat.session_id).get("status") == "done", 30, "the recording closed")
        index = _index(admin, chat.session_id)
        assert index["verified"]["ok"], index["verified"]
        assert index["segments"][0]["first_key_t_ms"] is not None  # a replay can paint from the first segment
        live = viewer.canvas.rgb
        recorded = await asyncio.to_thread(_picture, admin, index)
        assert recorded.shape == live.shape
        diff = np.abs(recorded.astype(np.int16) - live.astype(np.int16))
        assert diff.mean() < 1.0, f"mean difference {diff.mean():.2f}"  # same frames, same decoder: equal but for a late refinement
        audit = admin.http.get("/api/admin/audit").json()["entries"]
        assert any(e["action"] == "session.replay" and e["target"] == chat.session_id for e in audit)
        # The export: timeline, transcripts and the segments as stored, with their verdict; admins only, logged.
        r = admin.http.get(f"/api/sessions/{chat.session_id}/export")
        assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
        with zipfile.ZipFile(io.BytesIO(r.content)) as z:
            names = set(z.namelist())
            summary = json.loads(z.read("session.json"))
            stored = sorted((server.data_dir / "recordings" / chat.session_id).glob("*.dlrec"))
            assert {f"recording/{p.name}" for p in stored} <= names and {"transcript.txt", "transcript.html"} <= names
            assert all(z.read(f"recording/{p.name}") == p.read_bytes() for p in stored)
            assert z.read("recording/VERIFY.txt").decode().split("\n")[0].endswith(f"ok: {len(stored)} segments, "
                                                                                   f"verified up to segment {len(stored) - 1} "
                                                                                   f"at t={index['verified']['to_t_ms'] / 1000:.3f} s")
        assert any(i["kind"] == "recording_started" for i in summary["timeline"])
        assert summary["recording"]["segments"] == len(stored)
        rep_http, _ = server.login(chat.username, chat.password)
        try:
            assert rep_http.get(f"/api/sessions/{chat.session_id}/export").status_code == 403
        finally:
            rep_http.close()
        audit = admin.http.get("/api/admin/audit").json()["entries"]
        assert any(e["action"] == "session.export" and e["target"] == chat.session_id for e in audit)
        await wait_until(lambda: not list((server.data_dir / "tmp").glob("export-*")), 10, "the temporary export removed")
    finally:
        await viewer.close()


async def test_kill_9_keeps_what_was_flushed_and_damage_is_reported(
    server: ServerProcess, admin: AdminAPI, display: XDisplay, chat: Chat, tmp_path: Path
) -> None:
    await _record_always(server, admin, chat)
    viewer, agent = await _sharing_with_changes(server, display, chat)
    data_dir, sid = server.data_dir, chat.session_id
    try:
        await wait_until(lambda: len(_index(admin, sid).get("segments", [])) >= 3, 60, "three segments stored")
        before = _index(admin, sid)
        server.proc.kill()  # SIGKILL: no flush, no goodbye
        server.proc.wait(10)
    finally:
        await viewer.close()
        agent.kill()
        await finish(agent)  # reads what is left and closes its pipes
    with ServerProcess(data_dir=data_dir, env=ONE_ADDRESS_ENV) as again:
        again.admin_password = server.admin_password  # shown on the first start only
        client = again.admin()
        try:
            index = client.get(f"/api/sessions/{sid}/recording").json()
            assert index["verified"]["ok"], index["verified"]
            # At most the open segment (SEGMENT_S, plus the write) was lost.
            assert len(index["segments"]) >= len(before["segments"])
            assert index["duration_ms"] >= before["duration_ms"]
            stored = sorted((data_dir / "recordings" / sid).glob("*.dlrec"), key=lambda p: int(p.stem))
            assert len(stored) >= 3
            # Tampering: one flipped byte in segment 1 stops the replay after segment 0.
            seg1 = bytearray(stored[1].read_bytes())
            seg1[len(seg1) // 2] ^= 0xFF
            stored[1].write_bytes(bytes(seg1))
            damaged = client.get(f"/api/sessions/{sid}/recording").json()
            assert not damaged["verified"]["ok"]
            assert [s["no"] for s in damaged["segments"]] == [0]
            assert "segment 1" in damaged["verified"]["text"], damaged["verified"]
            assert client.get(f"/api/sessions/{sid}/recording/segments/0").status_code == 200
            # A cut last segment is reported too (after repairing segment 1).
            seg1[len(seg1) // 2] ^= 0xFF
            stored[1].write_bytes(bytes(seg1))
            last = stored[-1].read_bytes()
            stored[-1].write_bytes(last[: len(last) // 2])
            cut = client.get(f"/api/sessions/{sid}/recording").json()
            assert not cut["verified"]["ok"] and f"segment {len(stored) - 1}" in cut["verified"]["text"], cut["verified"]
            # A removed segment breaks the chain where it was.
            stored[-1].write_bytes(last)
            stored[1].unlink()
            gone = client.get(f"/api/sessions/{sid}/recording").json()
            assert not gone["verified"]["ok"] and [s["no"] for s in gone["segments"]] == [0], gone["verified"]
        finally:
            client.close()
    # The module's server is dead: the next module starts its own.
