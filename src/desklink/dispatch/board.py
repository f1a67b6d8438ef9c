"""The live board: queues, waiting visitors, reps and active sessions at a
glance, for supervisors and admins. (Not the shared whiteboard: that is
relay/board.py.)

Theory of operation
-------------------
The board is computed, never kept. Every input lives where any node can read
it: waiting requests and open sessions in the store, a session's modes in its
events and transfers (written by whichever node relayed them), reps' presence
in the broker. So any web node builds the same snapshot, and a node that
restarts loses nothing. This module is the pure part: it turns those inputs
into the ``board`` message; server/board_view.py gathers them and
server/ws_board.py sends them.

A session's modes: ``chat`` always; ``screen`` while its newest sharing event
is ``sharing_started``; ``control`` while the screen is shared and its newest
control-privilege event is a grant; ``files`` while its newest
files-privilege event is a grant (the agent may send and receive files) or a
file transfer is still on its way. Several at once.

A rep's status: ``online`` when present in a queue's rep group (taking
requests), ``away`` when only their console is connected (the console group).
Load: the open sessions they hold, in any queue.

Limits: ``board_max_waiting`` visitors and ``board_max_sessions`` sessions are
listed at most, oldest first; ``queues[].waiting`` and ``totals`` still count
them all, and ``truncated`` says when the lists were cut.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal

from desklink.store.records import BoardSession, Queue, Request

Mode = Literal["chat", "screen", "control", "files"]
Status = Literal["online", "away"]

#: Event kinds after which a session's modes may have changed: the server
#: sends a "board changed" note when it has stored one (server/relay_io.py).
MODE_CHANGING_KINDS: Final[frozenset[str]] = frozenset(
    {
        "sharing_started",
        "sharing_stopped",
        "privilege_granted",
        "privilege_revoked",
        "privilege_released",
        "agent_lost",
        "file_offered",
        "file_transferred",
        "file_delivered",
        "file_refused",
        "file_cancelled",
        "file_failed",
    }
)

_ENDS = ("privilege_revoked", "privilege_released")


def _newest(marks: Mapping[tuple[str, str], int], kinds: Iterable[str], privilege: str = "") -> int:
    return max((marks.get((k, privilege), 0) for k in kinds), default=0)


def modes_of(marks: Mapping[tuple[str, str], int], files_travelling: bool = False) -> list[Mode]:
    """A session's modes from its mode marks (newest event id per kind and
    privilege, see store/_board.py) and whether a file is on its way."""
    modes: list[Mode] = ["chat"]
    screen = _newest(marks, ("sharing_started",)) > _newest(marks, ("sharing_stopped",))
    if screen:
        modes.append("screen")
        if _newest(marks, ("privilege_granted",), "control") > _newest(marks, _ENDS, "control"):
            modes.append("control")
    if files_travelling or _newest(marks, ("privilege_granted",), "files") > _newest(marks, _ENDS, "files"):
        modes.append("files")
    return modes


@dataclass(frozen=True, slots=True)
class RepSeen:
    """One rep on the board: status and the scoped queues they are in."""

    user_id: int
    status: Status
    queue_ids: tuple[int, ...]


def reps_seen(online: Mapping[int, Iterable[int]], connected: Mapping[int, Iterable[int]]) -> list[RepSeen]:
    """Reps from presence: ``online`` and ``connected`` map a queue id to the
    user ids in its rep group and its console group. Online in any queue
    makes a rep online; the queues listed are those of either group. Sorted
    by user id."""
    queues: dict[int, set[int]] = {}
    on: set[int] = set()
    for group, status_online in ((online, True), (connected, False)):
        for queue_id, members in group.items():
            for user_id in members:
                queues.setdefault(user_id, set()).add(queue_id)
                if status_online:
                    on.add(user_id)
    return [
        RepSeen(uid, "online" if uid in on else "away", tuple(sorted(qs))) for uid, qs in sorted(queues.items())
    ]


def iso(dt: datetime) -> str:
    return dt.isoformat().replace("+00:00", "Z")


def snapshot(
    *,
    queues: Sequence[Queue],
    waiting_counts: Mapping[int, int],
    waiting: Sequence[Request],
    sessions: Sequence[BoardSession],
    session_total: int,
    modes: Mapping[str, Sequence[Mode]],
    reps: Sequence[RepSeen],
    names: Mapping[int, str],
    loads: Mapping[int, int],
    presence_known: bool,
    now: datetime,
) -> dict[str, Any]:
    """The ``board`` message (docs/protocol.md, "Live board")."""
    online = {q.id: 0 for q in queues}
    away = {q.id: 0 for q in queues}
    for rep in reps:
        for qid in rep.queue_ids:
            if qid in online:
                (online if rep.status == "online" else away)[qid] += 1
    waiting_total = sum(waiting_counts.get(q.id, 0) for q in queues)
    return {
        "t": "board",
        "at": iso(now),
        "queues": [
            {
                "id": q.id,
                "slug": q.slug,
                "name": q.name,
                "waiting": waiting_counts.get(q.id, 0),
                "online": online[q.id],
                "away": away[q.id],
            }
            for q in queues
        ],
        "waiting": [
            {"request_id": r.id, "queue_id": r.queue_id, "name": r.visitor_name, "since": iso(r.created_at)}
            for r in waiting
        ],
        "reps": [
            {
                "id": rep.user_id,
                "name": names.get(rep.user_id, ""),
                "status": rep.status,
                "load": loads.get(rep.user_id, 0),
                "queues": list(rep.queue_ids),
            }
            for rep in reps
        ],
        "presence_known": presence_known,
        "sessions": [
            {
                "id": s.session_id,
                "request_id": s.request_id,
                "queue_id": s.queue_id,
                "visitor": s.visitor_name,
                "rep": {"id": s.rep_id, "name": s.rep_name},
                "since": iso(s.started_at),
                "modes": list(modes.get(s.request_id, ("chat",))),
            }
            for s in sessions
        ],
        "totals": {"waiting": waiting_total, "sessions": session_total},
        "truncated": {"waiting": len(waiting) < waiting_total, "sessions": len(sessions) < session_total},
    }
