"""The agent's files: the screen tests' fixtures (an X display, a chat with
a rep) for the tests that run the real agent against a real server."""

from __future__ import annotations

from screen.conftest import chat, display  # noqa: F401 - fixtures for this folder
