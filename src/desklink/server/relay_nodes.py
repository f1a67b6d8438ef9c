"""The relay nodes in the broker: a relay node's heartbeat, and the web
node's look-up and choice (the choice itself is :func:`desklink.relay.nodes.choose`).

Each relay node renews its announcement (:class:`~desklink.relay.nodes.RelayNode`)
every ``relay_heartbeat_s`` in the broker's directory group
:data:`GROUP`, to expire ``relay_stale_s`` later: a node that dies drops out
of the choice within ``relay_stale_s`` with nobody cleaning up, and one that
stops cleanly withdraws at once. Only these small announcements pass through
the broker; screen, file and recording data go straight between the clients
and the relay node.

A web node that hands a session to a relay node records it for
``relay_handout_hold_s`` in the group :data:`HANDOUTS` (member: the session,
data: the node's name), and the choice counts these beside each node's
announced load (:func:`desklink.relay.nodes.choose`), so hand-outs made
between two heartbeats are seen by every web node at once. Choosing and
reserving run under one broker claim (:meth:`RelayDirectory.choosing`), so
two escalations at the same moment on two web nodes take turns instead of
both reading the same loads; a lock not had within ``relay_choice_wait_s``
(its holder died or the broker is slow) is done without, as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable

from desklink.broker import BROKER_ERRORS, Broker
from desklink.relay.nodes import RelayNode, choose, decode, encode

__all__ = ["GROUP", "HANDOUTS", "RelayDirectory"]

log = logging.getLogger("desklink.relay_nodes")

#: The broker directory group the relay nodes announce themselves in.
GROUP = "relay-nodes"
#: The group of recent hand-outs (session -> relay node name), each kept
#: ``relay_handout_hold_s``.
HANDOUTS = "relay-handouts"
#: The broker claim held while a web node chooses and reserves.
CHOICE_LOCK = "relay-choice"
#: How often a web node tries the choice lock again while another holds it.
CHOICE_RETRY_S = 0.005


class RelayDirectory:
    """The relay nodes as the broker knows them. ``clock`` is wall-clock
    Unix time (``seen_at`` is compared across nodes)."""

    def __init__(self, broker: Broker, *, stale_s: float, clock: Callable[[], float] = time.time) -> None:
        self.broker = broker
        self.stale_s = stale_s
        self.clock = clock

    async def announce(self, name: str, public_url: str, capacity: int, load: int) -> RelayNode:
        """Say (again) that this node is alive, where and how full; lasts
        ``stale_s``. Raises the broker's errors."""
        node = RelayNode(name=name, public_url=public_url, capacity=capacity, load=load, seen_at=self.clock())
        await self.broker.directory_put(GROUP, name, encode(node), self.stale_s)
        return node

    async def withdraw(self, name: str) -> None:
        await self.broker.directory_remove(GROUP, name)

    async def nodes(self) -> list[RelayNode]:
        """Every node with a live announcement (unreadable ones left out),
        by name."""
        entries = await self.broker.directory_entries(GROUP)
        found = [node for data in entries.values() if (node := decode(data)) is not None]
        return sorted(found, key=lambda n: n.name)

    async def get(self, name: str) -> RelayNode | None:
        """The node called ``name`` if it is alive."""
        for node in await self.nodes():
            if node.name == name:
                return node
        return None

    async def reserve(self, name: str, session_id: str, hold_s: float) -> None:
        """Count ``session_id`` against node ``name`` for ``hold_s`` seconds
        (the node's own load shows it by then). Asked again, the session
        still counts once, for ``hold_s`` from now."""
        await self.broker.directory_put(HANDOUTS, session_id, name.encode(), hold_s)

    async def reserved(self) -> Counter[str]:
        """Sessions handed out recently, per node name."""
        entries = await self.broker.directory_entries(HANDOUTS)
        return Counter(data.decode(errors="replace") for data in entries.values())

    @contextlib.asynccontextmanager
    async def choosing(self, wait_s: float) -> AsyncIterator[bool]:
        """Hold the cluster's choice lock for the block (yields True), or
        go on without it (False) once ``wait_s`` has passed. The claim
        expires after ``wait_s`` too, so a web node dying while it holds it
        delays the others by at most that."""
        me = secrets.token_hex(8)
        deadline = time.monotonic() + wait_s
        held = False
        while True:
            held = await self.broker.claim(CHOICE_LOCK, me, wait_s) == me
            if held or time.monotonic() >= deadline:
                break
            await asyncio.sleep(CHOICE_RETRY_S)
        try:
            yield held
        finally:
            if held:
                await self.broker.release(CHOICE_LOCK, me)

    async def choose(self) -> RelayNode | None:
        """The node a new screen session goes to, or None when every node is
        full, dead or none is known; recent hand-outs count as load."""
        return choose(await self.nodes(), self.clock(), self.stale_s, await self.reserved())

    async def heartbeat(
        self, name: str, public_url: str, capacity: int, load: Callable[[], int], interval_s: float,
        stop: asyncio.Event,
    ) -> None:
        """Announce every ``interval_s`` until ``stop`` is set (then the node
        calls :meth:`withdraw`). A stop event, not cancellation: a Redis
        command cancelled half-way can leave its pooled connection hanging. A broker outage is logged once and the beat goes on:
        the node is back in the choice with the first announcement Redis takes."""
        failing = False
        while not stop.is_set():
            try:
                await self.announce(name, public_url, capacity, load())
                if failing:
                    log.info("relay node %s announced again", name)
                failing = False
            except BROKER_ERRORS as exc:
                if not failing:
                    log.warning("relay node %s could not announce itself: %s", name, exc)
                failing = True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval_s)
