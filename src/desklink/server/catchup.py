"""What a socket has passed on, so it can catch up after news was lost.

After a broker outage a visitor or rep socket asks the store what it missed
(see :mod:`desklink.server.outage`). To send only what is missing, it
remembers which chat ``seq`` of each conversation it passed on
(:class:`SeqsSent`) and, on a rep's console, which alerts are showing.
Both are read from the pre-encoded text the hub forwards: alerts by their
prefix alone (they are the fan-out hot path and are never decoded per
socket), chat lines by decoding two fields.

The prefixes hold because the dispatcher builds these messages as dicts with
``t`` first and the id next, and msgspec keeps dict order
(``tests/server/test_catchup.py`` checks it against the real encoder).
"""

from __future__ import annotations

import msgspec

#: A chat line on a conversation channel (to both sides).
CHAT_PREFIX = 'A{"t":"chat",'
#: An alert on a queue channel; the request id follows.
ALERT_PREFIX = 'R{"t":"alert","request":{"id":"'
#: A withdrawn alert on a queue channel; the request id follows.
WITHDRAWN_PREFIX = 'R{"t":"alert.withdrawn","request_id":"'
#: A rep joined (to the visitor).
JOINED_PREFIX = 'V{"t":"joined",'
#: Seqs above the floor remembered per conversation (a gap left by a lost
#: message keeps them there until a catch-up fills it); past this the oldest
#: gap is given up, so memory stays bounded in a long conversation.
MAX_SEQS_ABOVE_FLOOR = 4096


class _ChatHead(msgspec.Struct):
    request_id: str
    seq: int


_chat_decoder = msgspec.json.Decoder(_ChatHead)


def chat_head(text: str) -> tuple[str, int] | None:
    """(request id, seq) of a forwarded chat line (``text`` starts with
    :data:`CHAT_PREFIX`), or None if it does not decode."""
    try:
        head = _chat_decoder.decode(text[1:])
    except msgspec.DecodeError:
        return None
    return head.request_id, head.seq


def quoted_id(text: str, prefix: str) -> str:
    """The JSON string right after ``prefix`` in ``text`` (ids hold no quotes)."""
    start = len(prefix)
    end = text.find('"', start)
    return text[start:end] if end > start else ""


class SeqsSent:
    """The chat seqs of one conversation that reached the client: all up to
    ``floor`` (what it said it had, then what followed without a gap) and
    the few above it."""

    __slots__ = ("_above", "floor")

    def __init__(self, floor: int = 0) -> None:
        self.floor = floor
        self._above: set[int] = set()

    def add(self, seq: int) -> None:
        if seq <= self.floor:
            return
        above = self._above
        above.add(seq)
        if len(above) > MAX_SEQS_ABOVE_FLOOR:  # give up the oldest gap
            self.floor = min(above)
            above.discard(self.floor)
        while self.floor + 1 in above:
            self.floor += 1
            above.discard(self.floor)

    def __contains__(self, seq: int) -> bool:
        return seq <= self.floor or seq in self._above
