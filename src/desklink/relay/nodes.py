"""Relay nodes: what one announces, and which one takes a new screen
session. Pure: no clock of its own, no broker (server/relay_nodes.py keeps
the announcements in the broker and renews this node's).

A relay node (``desklink serve --role relay``) announces itself every
``relay_heartbeat_s``: its name, the URL clients reach it at, how many
screen sessions it takes (``capacity``) and holds now (``load``), and when
it said so (``seen_at``, Unix seconds). An announcement older than
``relay_stale_s`` is a dead node's: the broker forgets it then too, and
:func:`choose` also skips it by ``seen_at``, so a node whose clock or broker
entry lags is not picked either.

When a session escalates to the screen, the web node calls :func:`choose`:
the alive node with the lowest load for its capacity (ties: fewer sessions,
then the name, so the choice is the same on every web node); a full node
(load at capacity) is never chosen. ``None`` means no relay can take it.

``load`` lags: a node says how many sessions it holds only at its next
heartbeat, and a session handed out to it is not there before its first
socket opens. So the choice also counts ``reserved``: per node, the
sessions handed out to it within the last ``relay_handout_hold_s``
(server/relay_nodes.py keeps them in the broker). Two escalations at the
same moment then see each other's hand-out and do not both pick one node
while another is emptier. A session counted both ways for that short while
only spreads the load further.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import msgspec

__all__ = ["RelayNode", "alive", "choose", "decode", "encode", "with_reserved"]

#: Longest node name; it travels in every relay token.
MAX_NODE_NAME_CHARS = 64


class RelayNode(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    public_url: str
    capacity: int
    load: int
    seen_at: float

    @property
    def share(self) -> float:
        """How full the node is: 0 (empty) to 1 (full)."""
        return self.load / self.capacity if self.capacity > 0 else 1.0


_decoder = msgspec.json.Decoder(RelayNode)


def encode(node: RelayNode) -> bytes:
    return msgspec.json.encode(node)


def decode(data: bytes) -> RelayNode | None:
    """The announcement in ``data``, or None when it is not one (another
    version's, or damaged): a node that cannot be read is not chosen."""
    try:
        node = _decoder.decode(data)
    except msgspec.DecodeError:
        return None
    if not node.name or len(node.name) > MAX_NODE_NAME_CHARS or node.capacity < 1 or node.load < 0:
        return None
    return node


def alive(node: RelayNode, now: float, stale_s: float) -> bool:
    """Announced within the last ``stale_s`` seconds (a clock a little ahead
    of ours counts as just now)."""
    return now - node.seen_at < stale_s


def with_reserved(node: RelayNode, reserved: int) -> RelayNode:
    """``node`` as if the ``reserved`` sessions handed out to it were
    already in its load."""
    return msgspec.structs.replace(node, load=node.load + max(0, reserved)) if reserved > 0 else node


def choose(
    nodes: Iterable[RelayNode], now: float, stale_s: float, reserved: Mapping[str, int] | None = None
) -> RelayNode | None:
    """The alive, not full node with the lowest share of its capacity in
    use, counting the sessions ``reserved`` for it by name (handed out,
    not yet in its announced load); ties go to fewer sessions, then to the
    lower name. The node returned is the one announced (its own load)."""
    held = reserved or {}
    counted = [(with_reserved(n, held.get(n.name, 0)), n) for n in nodes if alive(n, now, stale_s)]
    open_nodes = [(c, n) for c, n in counted if c.load < c.capacity]
    if not open_nodes:
        return None
    return min(open_nodes, key=lambda cn: (cn[0].share, cn[0].load, cn[0].name))[1]
