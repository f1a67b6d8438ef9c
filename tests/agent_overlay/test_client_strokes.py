"""The agent's client and its board, without a network or a display: strokes
that arrive before the board exists (the relay's replay right after a
resumed welcome) are kept, in order, and show once a capture has told the
board what lies beneath them. (Draw mode holding the rep's input back is tested end to end
in tests/screen/test_annotation.py, with the real injector.)"""

from __future__ import annotations

from typing import Any

import numpy as np

from desklink.agent.client import AgentClient, AgentOptions
from desklink.agent.overlay import Board


class RecordingUI:
    """Stands where the Tk UI would: it only records what the client posts."""

    supports_overlay = True

    def __init__(self) -> None:
        self.posted: list[tuple[str, tuple[Any, ...]]] = []

    def run(self) -> None:
        return None

    def post(self, command: str, *args: Any) -> None:
        self.posted.append((command, args))


def stroke(i: str, x: int) -> dict[str, Any]:
    return {"t": "annotate", "op": "stroke", "id": i, "tool": "pen", "color": "#ff0000", "width": 4, "points": [[x, 10], [x + 20, 10]]}


def test_strokes_before_the_board_are_painted_once_it_exists() -> None:
    ui = RecordingUI()
    client = AgentClient(AgentOptions(server="http://127.0.0.1:1", code="000000000"), ui)
    client._annotate(stroke("a", 10))
    client._annotate(stroke("b", 50))
    client._annotate({"t": "annotate", "op": "undo", "id": "a"})
    assert ui.posted == [] and len(client._early_strokes) == 3

    client.board = Board(200, 100)
    client._replay_early_strokes()  # what _share does right after making the board
    assert client._early_strokes == []
    assert client.board.ids == ["b"]  # in order: a, b, then a's undo
    assert [args[0]["id"] for cmd, args in ui.posted if cmd == "annotate"] == ["a", "b", "a"]
    assert not client.board.view().shown.any()  # nothing captured yet: beneath unknown, nothing shown
    version = client.board.version
    client.board.mask(np.zeros((100, 200, 4), np.uint8))  # the first capture
    assert client.board.version > version  # so the overlay's tick repaints...
    assert client.board.view().shown.any()  # ...and may now show the stroke


def test_without_an_overlay_nothing_is_kept() -> None:
    ui = RecordingUI()
    ui.supports_overlay = False  # type: ignore[misc]
    client = AgentClient(AgentOptions(server="http://127.0.0.1:1", code="000000000"), ui)
    client._annotate(stroke("a", 10))
    assert client._early_strokes == []

