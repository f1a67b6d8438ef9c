"""The visitor's pen (sans-I/O): pointer positions in, stroke messages out."""

from __future__ import annotations

import itertools

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from desklink.agent.overlay.pen import VISITOR_COLOR, Pen
from desklink.protocol.messages import Annotate, decode_agent


def pen(**kw: object) -> Pen:
    ids = (f"v-{i}" for i in itertools.count(1))
    return Pen(1920, 1080, new_id=lambda: next(ids), **kw)  # type: ignore[arg-type]


def test_a_drag_is_one_stroke_sent_when_the_button_goes_up() -> None:
    p = pen()
    cur = p.down(10, 20)
    assert cur["points"] == [[10, 20]] and cur["color"] == VISITOR_COLOR and cur["tool"] == "pen"
    assert p.move(11, 20) == [] and p.move(11, 20) == []  # a repeat adds nothing
    assert p.move(30, 40) == []
    [done] = p.up(31, 41)
    assert done["id"] == "v-1" and done["points"] == [[10, 20], [11, 20], [30, 40], [31, 41]]
    assert p.current is None and p.mine == ["v-1"]
    assert p.up() == [] and p.move(5, 5) == []  # nothing under way


def test_positions_are_clamped_to_the_monitor() -> None:
    p = pen()
    p.down(-50, 5000)
    p.move(99999, -3)
    [done] = p.up()
    assert done["points"] == [[0, 1079], [1919, 0]]


def test_a_long_stroke_is_split_at_the_protocol_limit_and_carries_on() -> None:
    p = pen(max_points=5)
    p.down(0, 0)
    finished = []
    for x in range(1, 12):
        finished += p.move(x, 0)
    finished += p.up()
    assert [len(s["points"]) for s in finished] == [5, 5, 4]
    for a, b in zip(finished, finished[1:], strict=False):
        assert b["points"][0] == a["points"][-1]  # no gap where it was split
    assert [pt[0] for s in finished for pt in s["points"]] == [0, 1, 2, 3, 4, 4, 5, 6, 7, 8, 8, 9, 10, 11]
    assert p.mine == ["v-1", "v-2", "v-3"]


def test_the_last_point_overflowing_sends_both_strokes() -> None:
    p = pen(max_points=2)
    p.down(0, 0)
    p.move(1, 0)
    done = p.up(2, 0)
    assert [s["points"] for s in done] == [[[0, 0], [1, 0]], [[1, 0], [2, 0]]]


def test_undo_takes_back_the_newest_stroke_still_on_the_board() -> None:
    p = pen()
    for x in (1, 2, 3):
        p.down(x, x)
        p.up()
    gone = {"v-3"}  # the rep cleared it meanwhile, say
    assert p.undo(live=lambda i: i not in gone) == {"t": "annotate", "op": "undo", "id": "v-2"}
    assert p.undo() == {"t": "annotate", "op": "undo", "id": "v-1"}
    assert p.undo() is None


def test_cancel_drops_the_stroke_under_way() -> None:
    p = pen()
    p.down(1, 1)
    assert p.cancel() is not None and p.current is None and p.mine == []


def test_max_points_below_two_is_refused() -> None:
    with pytest.raises(ValueError):
        Pen(10, 10, max_points=1)


@given(st.lists(st.tuples(st.integers(-5000, 5000), st.integers(-5000, 5000)), min_size=1, max_size=300))
def test_every_stroke_is_a_valid_agent_message(path: list[tuple[int, int]]) -> None:
    """Whatever the pointer does, the relay accepts what the pen sends."""
    p = Pen(800, 600, max_points=50)
    p.down(*path[0])
    out = []
    for x, y in path[1:]:
        out += p.move(x, y)
    out += p.up()
    for msg in out:
        decoded = decode_agent(msgspec.json.encode(msg))
        assert isinstance(decoded, Annotate) and decoded.op == "stroke"
        assert all(0 <= x < 800 and 0 <= y < 600 for x, y in msg["points"])
