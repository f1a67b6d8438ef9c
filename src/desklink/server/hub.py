"""One node's router between the broker and its local sockets.

A node holds a single broker subscription. Sockets *join* the channels they
care about (a rep's queues while online, the conversations they hold); the
hub subscribes to a channel when its first local listener joins and drops it
when the last one leaves. Each broker message is decoded once and handed to
every listener of its channel with a plain method call (no task, no copy),
which is what keeps alert fan-out fast.

Outages never reach a socket adapter through the hub (see
:mod:`desklink.server.outage` for the whole story):

* :meth:`Hub.publish` that the broker does not take hands the message to
  this node's listeners of the channel at once and lets the node's
  :class:`~desklink.server.outage.BrokerWatch` send the channel a
  ``resync`` note once the broker is back. While the watch knows the broker
  is down, publishing does not even try (a hung Redis would hold every
  sender for its socket timeout).
* :meth:`Hub.join` and :meth:`Hub.leave` only record the listener while the
  subscription is down; a subscribe that fails or goes unconfirmed for
  :data:`SUBSCRIBE_TIMEOUT_S` throws the subscription away.
* A lost subscription is re-opened with back-off and every channel is
  subscribed again; then every local listener is asked to ``resync`` (catch
  up from the store), since whatever was published in the gap never arrived.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from desklink.broker.base import BROKER_ERRORS, Broker
from desklink.errors import BrokerClosed
from desklink.server.outage import BrokerWatch

log = logging.getLogger("desklink.hub")

#: Back-off bounds when re-opening a lost broker subscription, seconds.
RESUBSCRIBE_MIN_S = 0.2
RESUBSCRIBE_MAX_S = 5.0
#: Longest a (un)subscribe may wait for the broker's confirmation before the
#: subscription is taken for lost: a hung Redis never confirms, and a socket
#: joining a channel must not wait for it (the same bound as a command).
SUBSCRIBE_TIMEOUT_S = 5.0

_FAILURES: tuple[type[Exception], ...] = (*BROKER_ERRORS, TimeoutError)


class Listener(Protocol):
    def deliver(self, channel: str, text: str) -> None: ...

    def resync(self) -> None:
        """Messages of this listener's channels may have been lost (the
        subscription was down): catch up from the store. Must not block."""


class Hub:
    def __init__(self, broker: Broker, watch: BrokerWatch | None = None) -> None:
        self.broker = broker
        self.watch = watch or BrokerWatch(broker)
        self._sub = broker.subscription()
        self._listeners: dict[str, set[Listener]] = {}
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        #: False while the subscription is known to be lost (being re-opened).
        self._live = True
        self.delivered = 0
        self.received = 0
        self.resubscribed = 0
        self.local_only = 0
        self._stopping = False

    async def start(self) -> None:
        await self.watch.start()
        self._task = asyncio.create_task(self._run(), name="desklink-hub")

    async def stop(self) -> None:
        self._stopping = True
        await self.watch.stop()
        await self._sub.aclose()
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, BrokerClosed):
                pass

    async def publish(self, channel: str, data: bytes) -> None:
        """Send ``data`` to every node's listeners of ``channel``. Never
        raises for the broker: what it cannot take goes to this node's
        listeners now and the other nodes catch up once it is back."""
        if not self.watch.down:
            try:
                await self.broker.publish(channel, data)
                return
            except BROKER_ERRORS as exc:
                self.watch.report(f"publishing on {channel}", exc)
        self.watch.missed(channel)
        self.local_only += 1
        self._route(channel, data)

    async def join(self, channel: str, listener: Listener) -> None:
        """Deliver ``channel`` to ``listener`` from now on (once subscribed)."""
        async with self._lock:
            listeners = self._listeners.get(channel)
            if listeners is None:
                listeners = self._listeners[channel] = set()
                if self._live:
                    try:
                        async with asyncio.timeout(SUBSCRIBE_TIMEOUT_S):
                            await self._sub.subscribe(channel)
                    except _FAILURES as exc:
                        await self._lost(f"subscribing to {channel}", exc)
            listeners.add(listener)

    async def leave(self, channel: str, listener: Listener) -> None:
        async with self._lock:
            listeners = self._listeners.get(channel)
            if listeners is None:
                return
            listeners.discard(listener)
            if not listeners:
                del self._listeners[channel]
                if self._live:
                    try:
                        async with asyncio.timeout(SUBSCRIBE_TIMEOUT_S):
                            await self._sub.unsubscribe(channel)
                    except _FAILURES as exc:
                        await self._lost(f"unsubscribing from {channel}", exc)

    async def _lost(self, what: str, exc: BaseException) -> None:
        """The subscription failed under us (caller holds the lock): close it,
        so the run loop re-opens it with every listed channel."""
        self.watch.report(what, exc)
        self._live = False
        await self._sub.aclose()

    async def _reopen(self) -> None:
        """The subscription is gone (a lost Redis connection): open a new one
        and subscribe every channel again, backing off while the broker is
        unreachable; then have every listener catch up from the store."""
        self._live = False
        delay = RESUBSCRIBE_MIN_S
        while not self._stopping:
            try:
                sub = self.broker.subscription()
            except BrokerClosed:
                return  # the broker itself was closed: the node is stopping
            try:
                async with self._lock:
                    self._sub = sub
                    if self._listeners:
                        async with asyncio.timeout(SUBSCRIBE_TIMEOUT_S):
                            await sub.subscribe(*self._listeners)
                    self._live = True
            except _FAILURES as exc:
                self.watch.report("re-opening the broker subscription", exc)
                await sub.aclose()
                await asyncio.sleep(delay)
                delay = min(delay * 2, RESUBSCRIBE_MAX_S)
                continue
            self.resubscribed += 1
            self.watch.poke()
            log.warning("broker subscription re-opened with %d channels; local sockets catch up", len(self._listeners))
            self._resync_listeners()
            return

    def _resync_listeners(self) -> None:
        for listener in {one for group in self._listeners.values() for one in group}:
            try:
                listener.resync()
            except Exception:  # one broken socket must not keep the others behind
                log.exception("asking a listener to catch up failed")

    def _route(self, channel: str, data: bytes) -> None:
        listeners = self._listeners.get(channel)
        if not listeners:
            return
        text = data.decode("utf-8")
        for listener in tuple(listeners):
            try:
                listener.deliver(channel, text)
                self.delivered += 1
            except Exception:  # one broken socket must not stop the node's routing
                log.exception("delivery to a listener of %s failed", channel)

    async def _run(self) -> None:
        while True:
            try:
                message = await self._sub.get()
            except BrokerClosed as exc:
                if self._stopping:
                    return
                if self._live:  # not already reported by _lost
                    self.watch.report("the broker subscription", exc.__cause__ or exc)
                await self._reopen()
                continue
            self.received += 1
            self._route(message.channel, message.data)

    def statistics(self) -> dict[str, int]:
        return {
            "channels": len(self._listeners),
            "listeners": sum(len(v) for v in self._listeners.values()),
            "received": self.received,
            "delivered": self.delivered,
            "resubscribed": self.resubscribed,
            "local_only": self.local_only,
        }
