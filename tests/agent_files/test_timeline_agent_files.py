"""The agent's file moments and a dropped agent link on the session's
timeline, in words: the real agent on Xvfb (answering on its terminal)
behind a cuttable loopback proxy, a real server and a scripted console. The
rep sends a file the visitor saves and one the visitor refuses, asks for a
file the visitor picks, and the agent's link is cut and comes back.
The chat's file moments are in tests/files/test_timeline_files.py."""

from __future__ import annotations

import os
from pathlib import Path

from desklink.testing import AdminAPI, CuttableProxy, ServerProcess, ViewerClient, wait_until
from desklink.testing_x import XDisplay
from screen._agent import Chat, finish

from ._e2e import RepUpload, answer, granted_files, start_agent


def _items(admin: AdminAPI, session_id: str) -> list[dict[str, object]]:
    r = admin.http.get(f"/api/sessions/{session_id}/timeline")
    r.raise_for_status()
    return list(r.json()["items"])


def _said(admin: AdminAPI, session_id: str) -> list[str]:
    return [str(i["text"]) for i in _items(admin, session_id)]


async def test_agent_files_and_a_dropped_link_are_on_the_timeline_in_words(
    server: ServerProcess, admin: AdminAPI, display: XDisplay, chat: Chat, tmp_path: Path
) -> None:
    proxy = CuttableProxy(server.port)
    await proxy.start()
    viewer = await ViewerClient.connect(server, chat.username, chat.password, chat.session_id)
    agent = None
    try:
        agent = start_agent(display, proxy.via().url, (await chat.offer())["code"], tmp_path / "home",
                            "--files-dir", str(tmp_path / "inbox"))
        answer(agent, "y")  # view
        await viewer.wait_status("sharing")
        await granted_files(viewer, agent)

        # A file the visitor saves, one the visitor refuses.
        notes = RepUpload(chat.rep, chat.session_id, os.urandom(10_000), "notes.txt")
        await notes.offer()
        answer(agent, "y")
        await notes.send_all()
        await notes.wait_status("delivered")
        unwanted = RepUpload(chat.rep, chat.session_id, b"not wanted", "unwanted.exe")
        await unwanted.offer()
        await unwanted.send_all()
        answer(agent, "n")
        await unwanted.wait_status("refused")
        # The parties may hear "refused" a moment before it is logged (the
        # upload's own end can broadcast the new status first): the ask waits.
        await wait_until(lambda: any("refused the file" in t for t in _said(admin, chat.session_id)), 10, "the refusal logged")

        # The rep asks for one; the visitor picks it.
        mine = tmp_path / "log.txt"
        mine.write_bytes(os.urandom(3000))
        await chat.rep.send({"t": "file.ask", "session_id": chat.session_id, "note": "the log please"})
        answer(agent, str(mine))
        await chat.rep.expect("file.state", timeout=30, name="log.txt", status="ready")

        # The agent's link drops and the agent comes back on its own.
        connections = proxy.connections
        proxy.cut()
        await wait_until(lambda: proxy.connections > connections, 60, "the agent back on a new connection")
        await wait_until(lambda: any("came back" in t for t in _said(admin, chat.session_id)), 30, "the agent back")

        await viewer.send({"t": "screen.stop"})
        code, out = await finish(agent)
        agent = None
        assert code == 0, out
    finally:
        await viewer.close()
        if agent is not None:
            agent.kill()
        await proxy.stop()

    said = _said(admin, chat.session_id)
    expected = [
        "The visitor's DeskLink agent joined",
        "Rep 0 (rep) sent the file notes.txt (9.8 KB) to the visitor's computer",
        "The visitor's computer received the file notes.txt (9.8 KB)",
        "Rep 0 (rep) sent the file unwanted.exe (10 bytes) to the visitor's computer",
        "The visitor refused the file unwanted.exe (10 bytes)",
        "Rep 0 (rep) asked the visitor for a file from their computer",
        "The visitor sent the file log.txt (2.9 KB) to Rep 0",
        "The file log.txt (2.9 KB) arrived whole on the server (from the visitor)",
        "The visitor's DeskLink agent lost its connection",
        "The visitor's DeskLink agent came back after its link dropped",
        "Rep 0 (rep) stopped sharing the screen",
    ]
    found = [next((n for n, t in enumerate(said) if t.startswith(e)), -1) for e in expected]
    missing = [e for e, n in zip(expected, found, strict=True) if n < 0]
    assert not missing, f"not on the timeline: {missing}\n" + "\n".join(said)
    assert found == sorted(found), "out of order:\n" + "\n".join(said)
    kinds = {str(i["kind"]) for i in _items(admin, chat.session_id)}
    assert kinds >= {"file_offered", "file_asked", "file_transferred", "file_delivered", "file_refused", "agent_lost",
                     "agent_resumed"}
