"""One node's router between the broker and its local sockets.

A node holds a single broker subscription. Sockets *join* the channels they
care about (a rep's queues while online, the conversations they hold); the
hub subscribes to a channel when its first local listener joins and drops it
when the last one leaves. Each broker message is decoded once and handed to
every listener of its channel with a plain method call (no task, no copy),
which is what keeps alert fan-out fast.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from desklink.errors import BrokerClosed
from desklink.broker.base import Broker

log = logging.getLogger("desklink.hub")

#: Back-off bounds when re-opening a lost broker subscription, seconds.
RESUBSCRIBE_MIN_S = 0.2
RESUBSCRIBE_MAX_S = 5.0


class Listener(Protocol):
    def deliver(self, channel: str, text: str) -> None: ...


class Hub:
    def __init__(self, broker: Broker) -> None:
        self.broker = broker
        self._sub = broker.subscription()
        self._listeners: dict[str, set[Listener]] = {}
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self.delivered = 0
        self.received = 0
        self.resubscribed = 0
        self._stopping = False

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="desklink-hub")

    async def stop(self) -> None:
        self._stopping = True
        await self._sub.aclose()
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, BrokerClosed):
                pass

    async def join(self, channel: str, listener: Listener) -> None:
        """Deliver ``channel`` to ``listener`` from now on (once subscribed)."""
        async with self._lock:
            listeners = self._listeners.get(channel)
            if listeners is None:
                listeners = self._listeners[channel] = set()
                await self._sub.subscribe(channel)
            listeners.add(listener)

    async def leave(self, channel: str, listener: Listener) -> None:
        async with self._lock:
            listeners = self._listeners.get(channel)
            if listeners is None:
                return
            listeners.discard(listener)
            if not listeners:
                del self._listeners[channel]
                await self._sub.unsubscribe(channel)

    async def _reopen(self) -> None:
        """The broker dropped our subscription (a lost Redis connection):
        open a new one and subscribe every channel again, backing off while
        the broker is unreachable. Messages published in the gap are lost;
        clients recover them on their next resume from the store."""
        delay = RESUBSCRIBE_MIN_S
        while not self._stopping:
            try:
                async with self._lock:
                    self._sub = self.broker.subscription()
                    if self._listeners:
                        await self._sub.subscribe(*self._listeners)
                self.resubscribed += 1
                log.warning("broker subscription re-opened with %d channels", len(self._listeners))
                return
            except Exception:
                log.exception("re-opening the broker subscription failed; retrying in %.1f s", delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RESUBSCRIBE_MAX_S)

    async def _run(self) -> None:
        while True:
            try:
                message = await self._sub.get()
            except BrokerClosed:
                if self._stopping:
                    return
                log.error("broker subscription lost")
                await self._reopen()
                continue
            self.received += 1
            listeners = self._listeners.get(message.channel)
            if not listeners:
                continue
            text = message.data.decode("utf-8")
            for listener in tuple(listeners):
                try:
                    listener.deliver(message.channel, text)
                    self.delivered += 1
                except Exception:  # one broken socket must not stop the node's routing
                    log.exception("delivery to a listener of %s failed", message.channel)

    def statistics(self) -> dict[str, int]:
        return {
            "channels": len(self._listeners),
            "listeners": sum(len(v) for v in self._listeners.values()),
            "received": self.received,
            "delivered": self.delivered,
            "resubscribed": self.resubscribed,
        }
