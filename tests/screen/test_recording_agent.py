"""Recording with the real agent on Xvfb, terminal mode: the visitor is told
in the consent question and while it happens, segments land under the
server's data directory, the timeline says who started and stopped it (and
why it failed when the storage would not take it), and retention removes
them afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from desklink.protocol.server_messages import RecordingPolicy
from desklink.testing import ONE_ADDRESS_ENV, AdminAPI, RepClient, ServerProcess, ViewerClient, VisitorClient, wait_until
from desklink.testing_x import XDisplay

from ._agent import Chat, finish, start_agent

#: Small enough that a finished recording is past retention within seconds
#: (about 1.7 s), so the sweeper (every 0.3 s here) removes it in the test.
RETENTION_DAYS = 0.00002


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    env = {
        **ONE_ADDRESS_ENV,
        "DESKLINK_RECORDING_SEGMENT_S": "0.5",
        "DESKLINK_RECORDING_RETENTION_DAYS": str(RETENTION_DAYS),
        "DESKLINK_SWEEP_INTERVAL_S": "0.3",
    }
    with ServerProcess(env=env) as srv:
        yield srv


_n = iter(range(10**6))


async def _chat(server: ServerProcess, admin: AdminAPI, policy: RecordingPolicy) -> Chat:
    name = f"rec{next(_n)}"
    q = admin.queue(name)
    admin.http.patch(f"/api/admin/queues/{q['id']}", json={"recording": policy}).raise_for_status()
    (user, pw), = admin.reps(1, queue_slug=name, prefix=name)
    rep = await RepClient.connect(server, user, pw)
    visitor = await VisitorClient.submit(server, queue=name, name="Vic")
    await rep.expect("alert")
    await rep.send({"t": "accept", "request_id": visitor.request_id})
    sid = (await rep.expect("accepted"))["session"]["id"]
    return Chat(rep, visitor, sid, user, pw)


def _said(admin: AdminAPI, session_id: str) -> list[str]:
    return [str(i["text"]) for i in admin.http.get(f"/api/sessions/{session_id}/timeline").json()["items"]]


async def _said_in_order(admin: AdminAPI, session_id: str, *lines: str) -> None:
    """The session's timeline says ``lines`` (each the start of an item), in this order."""

    def found() -> list[int] | None:
        said = _said(admin, session_id)
        at = [next((n for n, t in enumerate(said) if t.startswith(line)), -1) for line in lines]
        return at if -1 not in at else None

    try:
        await wait_until(found, 20.0, "the timeline's lines")
    except TimeoutError:
        raise AssertionError(f"not all of {lines} on the timeline:\n" + "\n".join(_said(admin, session_id))) from None
    at = found()
    assert at == sorted(at or []), "out of order:\n" + "\n".join(_said(admin, session_id))


def _segments(server: ServerProcess, session_id: str) -> list[Path]:
    return sorted((server.data_dir / "recordings" / session_id).glob("*.dlrec"))


async def _wait_recording(viewer: ViewerClient, on: bool) -> dict[str, Any]:
    await wait_until(lambda: viewer.states and viewer.states[-1].get("recording", False) is on, 20.0, f"recording={on}")
    return viewer.states[-1]


async def test_always_tells_the_visitor_records_and_retention_removes_it(
    server: ServerProcess, admin: AdminAPI, display: XDisplay
) -> None:
    display.spawn("xterm", "-geometry", "80x20+40+40")
    display.wait_window("xterm")
    chat = await _chat(server, admin, "always")
    viewer = await ViewerClient.connect(server, chat.username, chat.password, chat.session_id)
    try:
        offer = await chat.offer()
        assert offer["recording"] == "always"  # the help box words its consent from this
        agent = start_agent(display, server, offer["code"], terminal=True, answer="y\n")
        await viewer.wait_status("sharing")
        state = await _wait_recording(viewer, True)
        assert state["recording_policy"] == "always"
        await wait_until(lambda: len(_segments(server, chat.session_id)) >= 1, 20.0, "a stored segment")
        # The screen changes: the next segment closes within recording_segment_s.
        display.xdotool("search", "--onlyvisible", "--class", "xterm", "windowfocus", "--sync")
        display.xdotool("type", "--delay", "20", "echo recorded")
        await wait_until(lambda: len(_segments(server, chat.session_id)) >= 2, 20.0, "a second stored segment")
        assert all(p.read_bytes().startswith(b"DLRECSEG") for p in _segments(server, chat.session_id))

        await viewer.send({"t": "screen.stop"})
        await viewer.wait_status("stopped")
        code, out = await finish(agent)
        assert code == 0, out
        assert "This session's screen will be recorded." in out
        assert out.index("will be recorded") < out.index("Allow?")
        assert "Recording: your screen is being recorded." in out
        assert "Recording stopped." in out
        await _said_in_order(admin, chat.session_id, "Recording of the screen started (this help desk records every shared screen)",
                             "Rep 0 (rep) stopped sharing the screen", "Rep 0 (rep) stopped recording the screen")

        # Finished and past retention: the sweeper removes segments and row.
        recordings = server.data_dir / "recordings" / chat.session_id
        await wait_until(lambda: not recordings.exists(), 20.0, "the recording removed by retention")
    finally:
        await viewer.close()
        await chat.close()


async def test_on_request_the_rep_starts_and_stops_and_the_agent_says_so(
    server: ServerProcess, admin: AdminAPI, display: XDisplay
) -> None:
    chat = await _chat(server, admin, "on_request")
    viewer = await ViewerClient.connect(server, chat.username, chat.password, chat.session_id)
    try:
        offer = await chat.offer()
        assert offer["recording"] == "on_request"
        agent = start_agent(display, server, offer["code"], terminal=True, answer="y\n")
        state = await viewer.wait_status("sharing")
        assert state["recording_policy"] == "on_request"
        assert "recording" not in state  # false is left out on the wire
        assert _segments(server, chat.session_id) == []

        await viewer.send({"t": "screen.record", "on": True})
        await _wait_recording(viewer, True)
        await wait_until(lambda: len(_segments(server, chat.session_id)) >= 1, 20.0, "a stored segment")
        await viewer.send({"t": "screen.record", "on": False})
        await _wait_recording(viewer, False)

        await viewer.send({"t": "screen.stop"})
        await viewer.wait_status("stopped")
        code, out = await finish(agent)
        assert code == 0, out
        assert "The support rep may record the screen; you will see when." in out
        assert out.index("Recording: your screen is being recorded.") < out.index("Recording stopped.")
        assert viewer.errors == []
        await _said_in_order(admin, chat.session_id, "Rep 0 (rep) started recording the screen",
                             "Rep 0 (rep) stopped recording the screen")
    finally:
        await viewer.close()
        await chat.close()


async def test_never_says_nothing_and_records_nothing(server: ServerProcess, admin: AdminAPI, display: XDisplay) -> None:
    chat = await _chat(server, admin, "never")
    viewer = await ViewerClient.connect(server, chat.username, chat.password, chat.session_id)
    try:
        offer = await chat.offer()
        assert "recording" not in offer
        agent = start_agent(display, server, offer["code"], terminal=True, answer="y\n")
        await viewer.wait_status("sharing")
        await viewer.send({"t": "screen.record", "on": True})
        error = await viewer.expect_error()
        assert error["code"] == "forbidden"
        await viewer.send({"t": "screen.stop"})
        await viewer.wait_status("stopped")
        code, out = await finish(agent)
        assert code == 0, out
        assert "record" not in out.lower()
        assert not (server.data_dir / "recordings" / chat.session_id).exists()
    finally:
        await viewer.close()
        await chat.close()


async def test_storage_that_fails_under_always_stops_the_share_and_is_logged(
    server: ServerProcess, admin: AdminAPI, display: XDisplay
) -> None:
    """A file where the session's recordings folder must go: the first
    segment cannot be written, so under ``always`` sharing stops, and the
    timeline says why in words."""
    chat = await _chat(server, admin, "always")
    (server.data_dir / "recordings").mkdir(exist_ok=True)
    (server.data_dir / "recordings" / chat.session_id).write_bytes(b"in the way")
    viewer = await ViewerClient.connect(server, chat.username, chat.password, chat.session_id)
    try:
        agent = start_agent(display, server, (await chat.offer())["code"], terminal=True, answer="y\n")
        await viewer.wait_status("sharing")
        await viewer.wait_status("stopped", timeout=30)
        code, out = await finish(agent)
        assert code == 0, out
        await _said_in_order(admin, chat.session_id, "Recording of the screen started",
                             "Recording of the screen failed: the recording could not be written", "Sharing stopped")
    finally:
        await viewer.close()
        await chat.close()
