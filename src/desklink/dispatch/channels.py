"""Broker channel names and the payload envelope nodes exchange.

Every payload on the broker is one *target* character followed by a JSON
message, so a node can forward it to its sockets without decoding it:

========  =====================================================
``V``     forward to visitor sockets on the channel
``R``     forward to rep sockets on the channel
``A``     forward to all sockets on the channel
``X``     a control note for the adapters (not forwarded): e.g.
          ``{"op": "ended"}`` makes sockets leave the channel
========  =====================================================

Channels:

* ``q:<queue_id>``       alerts and withdrawals for that queue's online reps
* ``q:<queue_id>:pos``   "queue changed": waiting visitors recompute position
* ``r:<request_id>``     one conversation: chat, typing, joined, ended
* ``u:<user_id>``        one user's consoles and viewers: a session they now
                         hold (``accepted``), ``signed_out`` (sockets close),
                         or ``access`` (an admin changed the user: sockets
                         re-check; ``server/access.py`` makes sure of it
                         without the broker)
* ``board:<queue_id>``   "the live board changed" (``X`` ``{"op": "board"}``):
                         a session ended, a session's modes changed, a rep
                         came, went online or away; boards of the queue
                         recompute (dispatch/board.py). Submits, accepts and
                         withdrawals need no note: boards also listen on
                         ``q:<queue_id>``.
"""

from __future__ import annotations

from typing import Any, Literal

from desklink.protocol.messages import encode

Target = Literal["V", "R", "A", "X"]


def queue_channel(queue_id: int) -> str:
    return f"q:{queue_id}"


def position_channel(queue_id: int) -> str:
    return f"q:{queue_id}:pos"


def request_channel(request_id: str) -> str:
    return f"r:{request_id}"


def user_channel(user_id: int) -> str:
    return f"u:{user_id}"


def board_channel(queue_id: int) -> str:
    return f"board:{queue_id}"


#: The note on ``board:<queue_id>``, pre-encoded.
BOARD_NOTE = b'X{"op":"board"}'


def envelope(target: Target, message: dict[str, Any]) -> bytes:
    return (target + encode(message)).encode("utf-8")
