"""Remote control end to end with the real agent and the real X11 injector:
the rep's keystrokes run a command in the visitor's xterm; nothing is
injected before consent or after the visitor takes control back; the
visitor's own input pauses remote input."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path
from typing import Any

from desklink.testing import ServerProcess, ViewerClient
from desklink.testing_x import XDisplay

from ._agent import Chat, finish, start_agent


def typed(text: str) -> list[dict[str, Any]]:
    """Key events for ``text``, split into messages of at most 64 events as
    the browser viewer does (the limit per ``input`` message)."""
    events: list[dict[str, Any]] = []
    for ch in text:
        key = "Enter" if ch == "\n" else ch
        events += [{"k": "key", "key": key, "down": True}, {"k": "key", "key": key, "down": False}]
    return [{"t": "input", "events": events[i : i + 64]} for i in range(0, len(events), 64)]


async def send_all(viewer: ViewerClient, messages: list[dict[str, Any]]) -> None:
    for m in messages:
        await viewer.send(m)


async def _eventually(check: Any, timeout: float = 10.0) -> bool:
    for _ in range(int(timeout / 0.1)):
        if check():
            return True
        await asyncio.sleep(0.1)
    return False


async def _controlled(server: ServerProcess, display: XDisplay, chat: Chat) -> tuple[ViewerClient, subprocess.Popen[str]]:
    env = {**display.env, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
    term = subprocess.Popen(["xterm", "-u8", "-geometry", "100x20+0+0", "-e", "bash", "--norc", "--noprofile"], env=env)
    display.children.append(term)
    display.wait_window("bash")
    display.xdotool("mousemove", "--sync", "200", "100")  # focus follows the pointer without a window manager
    viewer = await ViewerClient.connect(server, chat.username, chat.password, chat.session_id)
    agent = start_agent(display, server, (await chat.offer())["code"], terminal=True, answer="y\n")
    await viewer.wait_status("sharing")
    return viewer, agent


async def test_rep_runs_a_command_only_after_the_visitor_allows(server: ServerProcess, display: XDisplay, chat: Chat, tmp_path: Path) -> None:
    viewer, agent = await _controlled(server, display, chat)
    early, late = tmp_path / "early", tmp_path / "late"
    await send_all(viewer, typed(f"touch {early}\n"))
    assert (viewer.errors or [{}])[-1].get("code") in (None, "forbidden")
    await viewer.send({"t": "control.request"})
    await viewer.wait_control("asking")
    assert agent.stdin is not None
    agent.stdin.write("y\n")
    agent.stdin.flush()
    await viewer.wait_control("granted")
    await send_all(viewer, typed(f"touch {late}\n"))
    assert await _eventually(late.exists), "the rep's command never ran"
    assert not early.exists(), "input sent before consent was injected"

    # Non-ASCII text arrives intact.
    out = tmp_path / "text"
    await send_all(viewer, typed("printf '%s' '"))
    await viewer.send({"t": "input", "events": [{"k": "text", "text": "héllo wörld € 日本"}]})
    await send_all(viewer, typed(f"' > {out}\n"))
    assert await _eventually(lambda: out.exists() and out.stat().st_size > 0)
    assert out.read_text(encoding="utf-8") == "héllo wörld € 日本"

    # The rep gives control back: keystrokes are refused and nothing arrives.
    await viewer.send({"t": "control.release"})
    await viewer.wait_control("view")
    after = tmp_path / "after"
    await send_all(viewer, typed(f"touch {after}\n"))
    await asyncio.sleep(1.0)
    assert not after.exists()
    await viewer.send({"t": "screen.stop"})
    code, output = await finish(agent)
    assert code == 0, output
    await viewer.close()


async def test_local_input_pauses_and_pause_key_takes_back(server: ServerProcess, display: XDisplay, chat: Chat, tmp_path: Path) -> None:
    viewer, agent = await _controlled(server, display, chat)
    await viewer.send({"t": "control.request"})
    await viewer.wait_control("asking")
    assert agent.stdin is not None
    agent.stdin.write("y\n")
    agent.stdin.flush()
    await viewer.wait_control("granted")

    # The visitor moves the mouse: for a moment remote input is held back.
    paused = tmp_path / "paused"
    display.xdotool("mousemove", "--sync", "210", "110")
    await asyncio.sleep(0.15)  # the agent polls every 50 ms
    await send_all(viewer, typed(f"touch {paused}\n"))
    await asyncio.sleep(1.0)
    assert not paused.exists(), "remote input went through while the visitor was using the mouse"
    resumed = tmp_path / "resumed"
    await send_all(viewer, typed(f"touch {resumed}\n"))
    assert await _eventually(resumed.exists)

    # The visitor presses Pause: control comes back to them at once.
    display.xdotool("keydown", "Pause")
    state = await viewer.wait_control("view")
    display.xdotool("keyup", "Pause")
    assert state["control_by"] == "visitor"
    gone = tmp_path / "gone"
    await send_all(viewer, typed(f"touch {gone}\n"))
    await asyncio.sleep(1.0)
    assert not gone.exists()
    assert any(e.get("code") == "forbidden" for e in viewer.errors)
    await viewer.send({"t": "screen.stop"})
    await finish(agent)
    await viewer.close()
