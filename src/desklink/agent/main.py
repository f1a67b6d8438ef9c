"""``desklink agent``: the program a visitor runs to share their screen.

The UI (consent window, indicator) owns the main thread, as Tk requires; the
network runs an asyncio loop on a second thread. Ctrl+C and SIGTERM ask for
a clean stop: capture stops at once, the server is told, the agent exits 0.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import threading

from desklink.agent.client import AgentClient, AgentOptions
from desklink.agent.ui import Hooks, open_ui


def run_agent(options: AgentOptions, *, terminal: bool = False) -> int:
    logging.basicConfig(level=logging.WARNING, format="desklink agent: %(message)s")
    holder: dict[str, AgentClient] = {}
    loop = asyncio.new_event_loop()

    def on_loop(name: str, *args: object) -> None:
        client = holder.get("client")
        if client is not None and not loop.is_closed():
            loop.call_soon_threadsafe(getattr(client, name), *args)

    def stop() -> None:
        on_loop("request_stop")

    def drawing(on: bool) -> None:
        client = holder.get("client")
        if client is not None:
            client.drawing = on  # at once, on this (the UI) thread: no injected click may become a stroke
        on_loop("set_drawing", on)

    hooks = Hooks(
        stop=stop,
        revoke=lambda: on_loop("request_revoke"),
        clipboard=lambda t: on_loop("clipboard_changed", t),
        annotate=lambda msg: on_loop("send_annotate", msg),
        drawing=drawing,
        clipboard_sharing=lambda on: on_loop("set_clipboard_sharing", on),
    )
    use_terminal = terminal or not os.environ.get("DISPLAY") and sys.platform.startswith("linux")
    ui = open_ui(hooks, terminal=use_terminal)
    client = AgentClient(options, ui)
    holder["client"] = client
    result: dict[str, str] = {}

    def network() -> None:
        asyncio.set_event_loop(loop)
        try:
            result["reason"] = loop.run_until_complete(client.run())
        except Exception as exc:  # report, never hang the UI
            result["reason"] = f"failed: {exc}"
            ui.post("quit")
        finally:
            loop.close()

    thread = threading.Thread(target=network, name="desklink-agent-net", daemon=True)
    previous = {sig: signal.signal(sig, lambda *_: stop()) for sig in (signal.SIGINT, signal.SIGTERM)}
    thread.start()
    try:
        ui.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    thread.join(10)
    reason = result.get("reason", "stopped")
    print(f"DeskLink agent: {reason}.", flush=True)
    return 1 if reason.startswith("failed") else 0
