"""``desklink agent``: the program a visitor runs to share their screen.

:func:`main` is also the one-file agent's entry point (``desklink
build-agent``): with no ``--code``/``--server`` it reads them from its own
file name, where the download page put them
(:mod:`desklink.protocol.agent_names`), and asks the visitor once for what is
still missing.

The UI (consent window, indicator) owns the main thread, as Tk requires; the
network runs an asyncio loop on a second thread. Ctrl+C and SIGTERM ask for
a clean stop: capture stops at once, the server is told, the agent exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from desklink.agent.args import add_agent_arguments
from desklink.agent.client import AgentClient, AgentOptions
from desklink.agent.join_prompt import ask_join_details
from desklink.agent.ui import Hooks, open_ui
from desklink.errors import ProtocolError
from desklink.protocol import agent_names, joincode


def own_names() -> list[str]:
    """Where this program's own file name can be read: the one-file agent's
    executable (``sys.executable``) and the command it was started by."""
    names = [sys.argv[0]] if sys.argv and sys.argv[0] else []
    if getattr(sys, "frozen", False):
        names.insert(0, sys.executable)
    return names


def join_details(server: str | None, code: str | None, *, terminal: bool, names: list[str] | None = None) -> tuple[str, str] | None:
    """The server address and 9-digit code to use: the command line's, else
    the file name's, else asked once (None when the visitor gives up)."""
    for name in own_names() if names is None else names:
        carried = agent_names.read_carried(name)
        if carried is not None:
            code = code or carried.code
            server = server or carried.server or None
            break
    if code:
        try:
            code = joincode.parse(code).digits
        except ProtocolError:
            print(f"DeskLink agent: {code!r} is not a join code (it has 9 digits).", file=sys.stderr)
            code = None
    if server and code:
        return server, code
    return ask_join_details(server or "", code or "", terminal=terminal)


def _use_terminal(terminal: bool) -> bool:
    return terminal or not os.environ.get("DISPLAY") and sys.platform.startswith("linux")


def main(argv: list[str] | None = None) -> int:
    """The one-file agent: ``desklink-agent-<system>-<cpu> [options]``."""
    parser = argparse.ArgumentParser(prog="desklink-agent", description="Share this computer's screen with a DeskLink support rep")
    add_agent_arguments(parser)
    return run_from_args(parser.parse_args(argv))


def run_from_args(args: argparse.Namespace) -> int:
    details = join_details(args.server, args.code, terminal=_use_terminal(args.terminal))
    if details is None:
        print("DeskLink agent: no join code given; nothing was shared.", file=sys.stderr)
        return 2
    options = AgentOptions(
        server=details[0],
        code=details[1],
        fps=args.fps,
        monitor=args.monitor,
        video=not args.no_video,
        clipboard_in=not args.no_clipboard_in,
        clipboard_out=not args.no_clipboard_out,
        local_pause_s=args.local_pause,
        files_dir=Path(args.files_dir).expanduser() if args.files_dir else None,
        relay_token=args.relay_token or "",
    )
    return run_agent(options, terminal=args.terminal)


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
        files_send=lambda paths: on_loop("send_files", paths),
        files_pause=lambda transfer_id, on: on_loop("pause_file", transfer_id, on),
        files_cancel=lambda key: on_loop("cancel_file", key),
        files_revoke=lambda: on_loop("request_revoke_files"),
    )
    ui = open_ui(hooks, terminal=_use_terminal(terminal))
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


if __name__ == "__main__":
    raise SystemExit(main())
