"""No silent watching, with the real agent on Xvfb in terminal mode: a
supervisor and an admin who watch the live screen are announced to the
visitor by name and role when they start and when they stop, and logged.
A supervisor of the session's queue or any admin may watch
(server/ws_viewer.py)."""

from __future__ import annotations

from desklink.testing import AdminAPI, ServerProcess, ViewerClient, wait_until
from desklink.testing_x import XDisplay

from ._agent import Chat, finish, start_agent


async def test_the_agent_prints_who_starts_and_stops_watching(
    server: ServerProcess, admin: AdminAPI, display: XDisplay, chat: Chat
) -> None:
    tag = chat.session_id[:8]
    sue = admin.user(f"wsup{tag}", "supervisor password", role="supervisor", display_name="Sue")
    admin.join_session_queue(chat.session_id, sue["id"])
    ann = admin.user(f"wadm{tag}", "admin password", role="admin", display_name="Ann")
    viewer = await ViewerClient.connect(server, chat.username, chat.password, chat.session_id)
    watchers: list[ViewerClient] = []
    try:
        offer = await chat.offer()
        agent = start_agent(display, server, offer["code"], terminal=True, answer="y\n")
        await viewer.wait_status("sharing")

        watchers.append(await ViewerClient.connect(server, sue["username"], "supervisor password", chat.session_id))
        await wait_until(lambda: viewer.states[-1]["watchers"] == ["Sue"], what="Sue watching")
        watchers.append(await ViewerClient.connect(server, ann["username"], "admin password", chat.session_id))
        await wait_until(lambda: viewer.states[-1]["watchers"] == ["Sue", "Ann"], what="Ann watching too")
        await watchers.pop(0).close()
        await wait_until(lambda: viewer.states[-1]["watchers"] == ["Ann"], what="Sue gone")
        await watchers.pop().close()
        await wait_until(lambda: viewer.states[-1]["watchers"] == [], what="Ann gone")

        await viewer.send({"t": "screen.stop"})
        await viewer.wait_status("stopped")
        code, out = await finish(agent)
        assert code == 0, out
        told = [line for line in out.splitlines() if "watching your screen" in line]
        assert told == [
            "Sue (supervisor) is watching your screen.",
            "Ann (admin) is watching your screen.",
            "Sue (supervisor) stopped watching your screen.",
            "Ann (admin) stopped watching your screen.",
        ], out

        def watcher_words() -> list[str]:
            timeline = admin.http.get(f"/api/sessions/{chat.session_id}/timeline")
            timeline.raise_for_status()
            return [item["text"] for item in timeline.json()["items"] if item["marker"] == "watcher"]

        logged = [
            "Sue (supervisor) started watching the screen",
            "Ann (admin) started watching the screen",
            "Sue (supervisor) stopped watching the screen",
            "Ann (admin) stopped watching the screen",
        ]
        await wait_until(lambda: watcher_words() == logged, what="the watchers in the timeline")
    finally:
        for w in watchers:
            await w.close()
        await viewer.close()
