"""The broker port and its two backends; :func:`open_broker` picks one from
the settings (``redis_url`` empty: in-process, one node; else Redis)."""

from __future__ import annotations

from desklink.broker._common import MAX_PENDING_MESSAGES
from desklink.broker.base import BROKER_ERRORS, Broker, BrokerMessage, Subscription
from desklink.errors import BrokerClosed, BrokerUnavailable
from desklink.broker.memory import MemoryBroker, MemorySubscription
from desklink.broker.redis import RedisBroker, RedisSubscription

__all__ = [
    "BROKER_ERRORS",
    "MAX_PENDING_MESSAGES",
    "Broker",
    "BrokerClosed",
    "BrokerMessage",
    "BrokerUnavailable",
    "MemoryBroker",
    "MemorySubscription",
    "RedisBroker",
    "RedisSubscription",
    "Subscription",
    "open_broker",
]


def open_broker(redis_url: str, prefix: str = "desklink:", *, max_pending: int = MAX_PENDING_MESSAGES) -> Broker:
    """The configured backend. Nothing connects yet: a Redis broker opens its
    connections on first use, so call ``ping()`` for readiness."""
    if not redis_url:
        return MemoryBroker(prefix, max_pending=max_pending)
    return RedisBroker(redis_url, prefix, max_pending=max_pending)
