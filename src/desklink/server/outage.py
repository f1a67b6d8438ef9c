"""How one node lives through a broker outage and heals after it.

Theory of operation
-------------------
The store is the truth; the broker carries presence, claims and the news
that something was stored. While the broker cannot be reached a node keeps
serving everything that needs only the store, and whatever talks to the
broker in the background (heartbeats, the sweeper, the hub, news) reports its
failures to the node's one :class:`BrokerWatch`:

* :meth:`BrokerWatch.report` logs the first failure of an outage once (one
  warning line, no traceback) and only counts the rest, so a thousand
  heartbeats failing every few seconds write one line, not a flood.
* News the node could not publish has already been handed to the node's own
  sockets (by the hub); its channel is remembered here
  (:meth:`BrokerWatch.missed`, at most :data:`MAX_MISSED_CHANNELS`).
* One task then asks the broker (``ping``, at most :data:`PING_TIMEOUT_S`
  each, backing off from :data:`RETRY_MIN_S` to :data:`RETRY_MAX_S`, or at
  once when a heartbeat or the hub got through: :meth:`BrokerWatch.poke`). Once it
  answers, presence is marked as having a gap (no node abandons a waiting
  visitor until heartbeats had a full grace period to fill it in again),
  every remembered channel gets a ``resync`` note (each socket on it, on
  every node, catches up from the store: see ``ws_visitor``/``ws_rep``), and
  one line says the broker is back.

The hub re-opens its own subscription on its own schedule and has its local
sockets catch up once it is back, since whatever was published in the gap
never reached this node.

Limits: a node that stayed in touch with the broker cannot know that another
node was cut off; if that lasts longer than ``visitor_grace_s``, the cut-off
node's waiting visitors look gone and may be abandoned (they get the notice
when their node is back). Past :data:`MAX_MISSED_CHANNELS` channels in one
outage the oldest are forgotten: their sockets on other nodes catch up only
if those nodes lost their subscription too (as they do when Redis itself
went down).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from desklink.broker.base import BROKER_ERRORS, Broker
from desklink.dispatch import channels as ch

log = logging.getLogger("desklink.broker")

#: Bounds of the wait between two checks while the broker is unreachable:
#: quick for a blip, at most a couple of seconds of news held back after it.
RETRY_MIN_S = 0.2
RETRY_MAX_S = 2.0
#: Longest a health check may take (a hung Redis answers nothing for its
#: whole socket timeout).
PING_TIMEOUT_S = 2.0
#: Channels remembered for a ``resync`` note in one outage (~100 bytes each,
#: so about 1 MB); one per conversation or queue that had news meanwhile.
MAX_MISSED_CHANNELS = 10_000
#: What a socket on a channel gets once the broker is back: catch up from the store.
RESYNC_NOTE = ch.envelope("X", {"op": "resync"})


class BrokerWatch:
    """One node's view of its broker: down or up, and what to heal."""

    def __init__(self, broker: Broker) -> None:
        self.broker = broker
        self._missed: dict[str, None] = {}  # insertion-ordered set
        self._trouble = asyncio.Event()
        self._poke = asyncio.Event()
        self._down_since: float | None = None
        self._failed_now = 0
        self._task: asyncio.Task[None] | None = None
        #: Totals for the metrics endpoint.
        self.failures = 0
        self.outages = 0
        self.forgotten_channels = 0

    @property
    def down(self) -> bool:
        """True from the first reported failure until the broker answered
        again and the recovery steps ran."""
        return self._down_since is not None

    def report(self, what: str, exc: BaseException) -> None:
        """A broker call failed. Logged once per outage; never raises."""
        self.failures += 1
        self._failed_now += 1
        if self._down_since is None:
            self._down_since = time.monotonic()
            self._failed_now = 1
            self.outages += 1
            log.warning("broker unreachable (%s: %s); serving from the store and retrying", what, exc)
        else:
            log.debug("broker still unreachable (%s: %s)", what, exc)
        self._trouble.set()

    def missed(self, channel: str) -> None:
        """News for ``channel`` did not go out: send it a ``resync`` note later."""
        if channel in self._missed:
            return
        if len(self._missed) >= MAX_MISSED_CHANNELS:
            del self._missed[next(iter(self._missed))]
            self.forgotten_channels += 1
        self._missed[channel] = None

    def poke(self) -> None:
        """A broker call just worked: while down, check again now instead of
        waiting out the back-off."""
        if self._down_since is not None:
            self._poke.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="desklink-broker-watch")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        while True:
            await self._trouble.wait()
            self._trouble.clear()
            delay = RETRY_MIN_S
            while not await self._recover():
                self._poke.clear()
                try:
                    async with asyncio.timeout(delay):
                        await self._poke.wait()
                except TimeoutError:
                    pass
                delay = min(delay * 2, RETRY_MAX_S)

    async def _recover(self) -> bool:
        """One check; on an answer run the recovery steps. True when done.
        Never raises (the one task that heals the node must not die)."""
        try:
            return await self._try_recover()
        except Exception:
            log.exception("checking the broker failed; trying again")
            return False

    async def _try_recover(self) -> bool:
        try:
            async with asyncio.timeout(PING_TIMEOUT_S):
                answered = await self.broker.ping()
        except TimeoutError:
            answered = False
        if not answered:
            return False
        told = 0
        try:
            await self.broker.mark_presence_gap()
            while self._missed:
                channel = next(iter(self._missed))
                await self.broker.publish(channel, RESYNC_NOTE)
                del self._missed[channel]
                told += 1
        except BROKER_ERRORS:
            return False
        if self._down_since is not None:
            log.warning(
                "broker reachable again after %.1f s (%d calls failed meanwhile); %d channels told to catch up",
                time.monotonic() - self._down_since, self._failed_now, told,
            )
        self._down_since = None
        return True

    def statistics(self) -> dict[str, int]:
        return {
            "up": 0 if self.down else 1,
            "failures": self.failures,
            "outages": self.outages,
            "missed_channels": len(self._missed),
            "forgotten_channels": self.forgotten_channels,
        }


async def keep_beating(interval: float, beat: Callable[[], Awaitable[None]], watch: BrokerWatch, what: str) -> None:
    """Call ``beat`` every ``interval`` seconds until cancelled. A broker
    failure is reported to ``watch`` and the next beat comes as usual, so a
    heartbeat outlives any outage and refills presence by itself. Any other
    error is logged with its traceback once per heartbeat, and it beats on."""
    logged = False
    while True:
        await asyncio.sleep(interval)
        try:
            await beat()
        except BROKER_ERRORS as exc:
            watch.report(what, exc)
        except Exception:
            if not logged:
                log.exception("%s failed; it keeps beating (further failures are not logged)", what)
                logged = True
        else:
            watch.poke()
