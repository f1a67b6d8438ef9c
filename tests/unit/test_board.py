"""The live board's pure part (dispatch/board.py): modes from mode marks,
reps from presence groups, and the snapshot's counts and cuts."""

from __future__ import annotations

from datetime import UTC, datetime

from desklink.dispatch.board import RepSeen, modes_of, reps_seen, snapshot
from desklink.store.records import BoardSession, Queue, Request

T = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def test_modes_follow_the_newest_event_of_each_kind() -> None:
    assert modes_of({}) == ["chat"]
    assert modes_of({("sharing_started", ""): 1}) == ["chat", "screen"]
    assert modes_of({("sharing_started", ""): 1, ("sharing_stopped", ""): 2}) == ["chat"]
    assert modes_of({("sharing_started", ""): 3, ("sharing_stopped", ""): 2}) == ["chat", "screen"]  # shared again
    control = {("sharing_started", ""): 1, ("privilege_granted", "control"): 2}
    assert modes_of(control) == ["chat", "screen", "control"]
    assert modes_of(control | {("privilege_revoked", "control"): 3}) == ["chat", "screen"]
    assert modes_of(control | {("privilege_released", "control"): 3}) == ["chat", "screen"]
    assert modes_of(control | {("privilege_granted", "control"): 4, ("privilege_revoked", "control"): 3}) == [
        "chat", "screen", "control"]
    # control without a shared screen is not shown (the sharing stop ends it)
    assert modes_of({("privilege_granted", "control"): 2}) == ["chat"]
    assert modes_of({("privilege_granted", "files"): 2}) == ["chat", "files"]
    assert modes_of({("privilege_granted", "files"): 2, ("privilege_revoked", "files"): 5}) == ["chat"]
    assert modes_of({}, files_travelling=True) == ["chat", "files"]


def test_reps_online_anywhere_are_online() -> None:
    reps = reps_seen({1: [10], 2: []}, {1: [10, 11], 2: [10, 12]})
    assert reps == [RepSeen(10, "online", (1, 2)), RepSeen(11, "away", (1,)), RepSeen(12, "away", (2,))]
    assert reps_seen({}, {}) == []


def _queue(qid: int) -> Queue:
    return Queue(id=qid, slug=f"q{qid}", name=f"Q{qid}", allowed_origins=(), created_at=T)


def test_snapshot_counts_and_cuts() -> None:
    q1, q2 = _queue(1), _queue(2)
    req = Request(id="r1", queue_id=1, visitor_name="<b>x</b>", visitor_email="", question="?", ip="", origin="",
                  status="waiting", rep_id=None, created_at=T, accepted_at=None, closed_at=None)
    sess = BoardSession("s1", "r2", 2, "Vi", 10, "Ann", T)
    board = snapshot(
        queues=[q1, q2], waiting_counts={1: 3}, waiting=[req], sessions=[sess], session_total=1,
        modes={"r2": ["chat", "screen"]}, reps=[RepSeen(10, "online", (2,)), RepSeen(11, "away", (1, 2))],
        names={10: "Ann", 11: "Bob"}, loads={10: 1}, presence_known=True, now=T,
    )
    assert board["at"] == "2026-12-04T12:00:00Z"
    assert [(q["id"], q["waiting"], q["online"], q["away"]) for q in board["queues"]] == [(1, 3, 0, 1), (2, 0, 1, 1)]
    assert board["waiting"] == [{"request_id": "r1", "queue_id": 1, "name": "<b>x</b>", "since": "2026-12-04T12:00:00Z"}]
    assert board["reps"][1] == {"id": 11, "name": "Bob", "status": "away", "load": 0, "queues": [1, 2]}
    assert board["sessions"][0]["modes"] == ["chat", "screen"] and board["sessions"][0]["rep"] == {"id": 10, "name": "Ann"}
    assert board["totals"] == {"waiting": 3, "sessions": 1}
    assert board["truncated"] == {"waiting": True, "sessions": False}
