"""The agent's command-line options, shared by ``desklink agent`` and the
one-file agent (argparse only, so the CLI can list them without importing
the agent's libraries)."""

from __future__ import annotations

import argparse


def add_agent_arguments(agent: argparse.ArgumentParser) -> None:
    """The agent's options (``desklink agent`` and the one-file agent)."""
    agent.add_argument(
        "--server", help="the DeskLink server's address, e.g. https://support.example.com (default: from this file's name)"
    )
    agent.add_argument("--code", help="the 9-digit join code from the chat (default: from this file's name, else asked)")
    agent.add_argument(
        "--relay-token",
        help="the relay token when --server is a relay node (given with the code); without it the agent asks --server"
        " for its relay node, and again if that relay goes away",
    )
    agent.add_argument("--fps", type=float, default=40.0, help="most frames per second (default 40)")
    agent.add_argument("--monitor", type=int, help="which monitor to share (default: the primary)")
    agent.add_argument("--no-video", action="store_true",
                       help="never code moving regions as H.264 video, only as pictures (video needs the video extra)")
    agent.add_argument("--terminal", action="store_true", help="ask for consent in the terminal instead of a window")
    agent.add_argument("--no-clipboard-in", action="store_true", help="never put the rep's clipboard text on this computer")
    agent.add_argument("--no-clipboard-out", action="store_true", help="never send this computer's clipboard to the rep")
    agent.add_argument(
        "--local-pause", type=float, default=0.5, metavar="SECONDS",
        help="while the rep is in control, your own mouse or keyboard pauses theirs this long (default 0.5)",
    )
    agent.add_argument(
        "--files-dir", metavar="FOLDER",
        help="where files from the rep are saved unless you pick another folder (default: your Downloads folder)",
    )
