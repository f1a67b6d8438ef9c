"""Helpers for the screen tests: a chat session, the agent as a process."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

from desklink.testing import RepClient, ServerProcess, VisitorClient
from desklink.testing_x import XDisplay


@dataclass
class Chat:
    rep: RepClient
    visitor: VisitorClient
    session_id: str
    username: str
    password: str

    async def offer(self) -> dict[str, Any]:
        await self.rep.send({"t": "screen.request", "session_id": self.session_id})
        offer = await self.visitor.expect("screen.offer")
        mine = await self.rep.expect("screen.offer")
        assert mine["code"] == offer["code"]
        return offer

    async def close(self) -> None:
        await self.rep.close()
        await self.visitor.close()


def start_agent(
    display: XDisplay, server: ServerProcess, code: str, *, terminal: bool, answer: str = "", extra: list[str] | None = None
) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "desklink", "agent", "--server", server.url, "--code", code.replace(" ", ""), *(extra or [])]
    if terminal:
        cmd.append("--terminal")
    proc = subprocess.Popen(
        cmd, env={**display.env, "PYTHONUNBUFFERED": "1", "PYTHONFAULTHANDLER": "1"}, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
    )
    display.children.append(proc)
    if answer and proc.stdin is not None:
        proc.stdin.write(answer)
        proc.stdin.flush()
    return proc


async def finish(proc: subprocess.Popen[str], timeout: float = 15.0) -> tuple[int, str]:
    """Wait for the agent to exit, off the event loop (the test's own sockets
    and proxies must keep running meanwhile); its exit code and output."""
    return await asyncio.to_thread(_finish, proc, timeout)


def _finish(proc: subprocess.Popen[str], timeout: float) -> tuple[int, str]:
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGABRT)  # faulthandler prints every thread's stack
        try:
            out, _ = proc.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate(timeout=5)
        raise AssertionError(f"agent did not exit in time:\n{out}") from None
    return proc.returncode, out


def click_indicator(display: XDisplay, name: str) -> None:
    """Click the agent indicator's button ``name`` ("stop", "draw", "clear",
    "take"), where the indicator is now."""
    from desklink.agent.ui import INDICATOR_TITLE, indicator_button

    bar = display.window_geometry(display.wait_window(INDICATOR_TITLE))
    display.click(*indicator_button(bar, name))


def env_without_display() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "DISPLAY"}
