"""Real actions leave their trace on the session's timeline, in words and
with names: a real server, scripted rep, visitor and viewer clients, a
supervisor watching, and the real Tk agent on Xvfb wherever the visitor's
computer is the actor (consent, taking control back, clipboard, drawing).

The file kinds and agent_resumed are read back in words by
tests/files/test_timeline_files.py and
tests/agent_files/test_timeline_agent_files.py, the recording kinds by
test_recording_agent.py; docs/protocol.md "Timeline" lists which test makes which."""

from __future__ import annotations

import asyncio
import signal

import httpx

from desklink.agent.ui import DENY_BUTTON, CONSENT_TITLE
from desklink.testing import AdminAPI, ServerProcess, ViewerClient, wait_until
from desklink.testing_x import XDisplay

from ._agent import Chat, click_indicator, finish, start_agent
from .test_clipboard import allow, copy_locally, x_clipboard


async def deny(display: XDisplay) -> None:
    window = await asyncio.to_thread(display.wait_window, CONSENT_TITLE)
    x, y, _w, _h = display.window_geometry(window)
    bx, by, bw, bh = DENY_BUTTON
    display.click(x + bx + bw // 2, y + by + bh // 2)


def timeline(admin: AdminAPI, session_id: str) -> list[dict[str, object]]:
    r = admin.http.get(f"/api/sessions/{session_id}/timeline")
    r.raise_for_status()
    return list(r.json()["items"])


async def test_real_actions_produce_the_timeline_in_words(
    server: ServerProcess, admin: AdminAPI, display: XDisplay, chat: Chat
) -> None:
    rep_name = "Rep 0"
    sup = admin.user(f"sup{chat.session_id[:8]}", "supervisor password", role="supervisor", display_name="Sue")
    slug = admin.http.get(f"/api/sessions/{chat.session_id}").json()["queue"]["slug"]
    queue = admin.queue(slug)
    admin.members(queue["id"], [*queue["members"], sup["id"]])

    await chat.visitor.send({"t": "chat.send", "cid": "v1", "text": "my printer is offline"})
    await chat.rep.send({"t": "chat.send", "session_id": chat.session_id, "cid": "r1", "text": "let me look"})
    await chat.rep.expect("chat", text="let me look")

    viewer = await ViewerClient.connect(server, chat.username, chat.password, chat.session_id)
    watcher: ViewerClient | None = None
    agent = None
    try:
        await chat.offer()
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            renewed = await http.post(
                "/api/visitor/screen-code", headers={"Authorization": f"Bearer {chat.visitor.token}", "Origin": server.url}
            )
        assert renewed.status_code == 201, renewed.text
        agent = start_agent(display, server, renewed.json()["offer"]["code"], terminal=False)
        await allow(display)
        await viewer.wait_status("sharing")

        watcher = await ViewerClient.connect(server, sup["username"], "supervisor password", chat.session_id)
        await wait_until(lambda: "Sue" in viewer.states[-1]["watchers"], what="the rep to see Sue watching")
        await watcher.close()
        await wait_until(lambda: viewer.states[-1]["watchers"] == [], what="Sue to leave")
        watcher = None

        # Control: allowed and handed back; refused; allowed and taken back.
        await viewer.send({"t": "control.request"})
        await allow(display)
        await viewer.wait_control("granted")
        await viewer.send({"t": "control.release"})
        await viewer.wait_control("view")
        await viewer.send({"t": "control.request"})
        await deny(display)
        await wait_until(lambda: viewer.states[-1]["control_by"] == "visitor", what="control refused")
        await viewer.send({"t": "control.request"})
        await allow(display)
        await viewer.wait_control("granted")
        click_indicator(display, "take")
        await viewer.wait_control("view")

        # Clipboard both ways once the visitor shares it.
        click_indicator(display, "clip")
        await wait_until(lambda: viewer.states[-1]["clipboard"] == {"from_visitor": True, "to_visitor": True}, what="clipboard on")
        await viewer.send({"t": "clipboard", "text": "x" * 12})
        await wait_until(lambda: x_clipboard(display) == "x" * 12, what="the rep's text on the visitor's clipboard")
        copy_locally(display, "y" * 120)
        await wait_until(lambda: viewer.clipboard == "y" * 120, what="the visitor's text at the rep")

        # The rep draws; the visitor clears.
        await viewer.send({"t": "annotate", "op": "stroke", "id": "s1", "tool": "rect", "points": [[10, 10], [90, 60]]})
        click_indicator(display, "clear")
        await wait_until(lambda: any(i["kind"] == "annotated" and i["actor"]["role"] == "visitor"
                                     for i in timeline(admin, chat.session_id)), what="the visitor's clear logged")

        # The agent's link is lost (the process is killed), then the rep stops sharing.
        agent.send_signal(signal.SIGKILL)
        await wait_until(lambda: not viewer.states[-1]["agent"], what="the agent gone")
        await viewer.send({"t": "screen.stop"})
        await viewer.wait_status("stopped")
        await finish(agent)
        agent = None
    finally:
        if watcher is not None:
            await watcher.close()
        await viewer.close()
        if agent is not None:
            agent.kill()

    # The visitor ends; the rep records the outcome afterwards.
    await chat.visitor.send({"t": "leave"})
    await chat.rep.expect("ended")
    # The console's socket learns the session went to wrap-up from a second
    # note that may trail the "ended" it shows; a refused early answer is
    # sent again, as the console would after its error toast.
    for _ in range(20):
        await chat.rep.send({"t": "end", "session_id": chat.session_id, "disposition": "resolved"})
        if (await chat.rep.expect(("ended", "error")))["t"] == "ended":
            break

    def texts() -> list[str]:
        return [str(i["text"]) for i in timeline(admin, chat.session_id)]

    await wait_until(lambda: "Rep 0 (rep) recorded the outcome: resolved" in texts(), what="the wrap-up logged")
    items = timeline(admin, chat.session_id)
    said = [str(i["text"]) for i in items]
    expected = [
        "Vic (visitor) asked for help",
        f"{rep_name} (rep) accepted the request",
        "Vic (visitor) wrote: my printer is offline",
        f"{rep_name} (rep) wrote: let me look",
        f"{rep_name} (rep) offered screen sharing (a join code for the agent)",
        "The visitor asked for a new join code",
        f"{rep_name} (rep) asked to see the screen",  # the relay asks as the agent joins
        "The visitor's DeskLink agent joined",
        "The visitor allowed seeing the screen",
        f"The visitor started sharing the screen with {rep_name} (rep)",
        "Sue (supervisor) started watching the screen",
        "Sue (supervisor) stopped watching the screen",
        f"{rep_name} (rep) asked to control the screen",
        f"The visitor allowed control: {rep_name} (rep) has the mouse and keyboard",
        f"{rep_name} (rep) handed control back to the visitor",
        "The visitor refused control",
        "The visitor took control back",
        f"Clipboard: 12 characters went from {rep_name} to the visitor",
        f"Clipboard: 120 characters went from the visitor to {rep_name}",
        f"{rep_name} (rep) drew a box on the screen",
        "The visitor cleared the drawings on the screen",
        "The visitor's DeskLink agent lost its connection",
        f"{rep_name} (rep) stopped sharing the screen",
        "The visitor ended the session",
        f"{rep_name} (rep) recorded the outcome: resolved",
    ]
    found = [next((n for n, t in enumerate(said) if t.startswith(e)), -1) for e in expected]
    missing = [e for e, n in zip(expected, found, strict=True) if n < 0]
    assert not missing, f"not on the timeline: {missing}\n" + "\n".join(said)
    assert found == sorted(found), "out of order:\n" + "\n".join(said)
    kinds = {str(i["kind"]) for i in items}
    assert kinds >= {
        "submitted", "accepted", "chat", "screen_requested", "screen_code_renewed", "agent_joined", "privilege_asked",
        "privilege_granted", "privilege_refused", "privilege_revoked", "privilege_released", "sharing_started",
        "sharing_stopped", "watcher_joined", "watcher_left", "clipboard_crossed", "annotated", "agent_lost", "ended",
        "wrapped_up",
    }
    assert all(chat.session_id not in t and "{" not in t for t in said)

