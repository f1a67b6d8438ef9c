"""The Redis broker: presence, claims and fan-out shared by several nodes.

Layout in Redis (``P`` is the configured prefix, e.g. ``desklink:``):

=====================  ===========================================  ==========
what                   Redis object                                 expiry
=====================  ===========================================  ==========
channel ``c``          pub/sub channel ``P c``                      -
presence group ``g``   sorted set ``P presence: g``, member ->      key PEXPIRE
                       expiry time in ms (Redis ``TIME``)           = latest
claim / counter ``k``  string ``P k``                               PX / PEXPIRE
directory group ``g``  sorted set ``P dir: g`` (member -> expiry,    key PEXPIRE
                       Redis ``TIME``) and hash ``P dir-data: g``   = latest
                       (member -> data)
=====================  ===========================================  ==========

Every multi-step operation is one Lua script, so it is atomic and costs one
round trip. Presence uses the Redis server's ``TIME`` inside the script, so
nodes with skewed clocks still agree on who is present.

Each :class:`RedisSubscription` owns one pub/sub connection (from a pool
separate from the command pool, so subscriptions never starve commands) and
one reader task that drains it into the subscription's bounded queue. The
reader resolves SUBSCRIBE/UNSUBSCRIBE confirmations too, which is how
``subscribe()`` knows Redis has registered the channels. When idle it pings
every ``ping_interval`` seconds; a ping left unanswered for another interval,
or a lost connection, closes the subscription with the error as the cause of
:class:`BrokerClosed`: the node opens a new subscription and resynchronises
from the store (messages in the gap are lost, as pub/sub always may).

Any command Redis does not answer (refused, reset, past ``SOCKET_TIMEOUT``,
no pooled connection within ``POOL_TIMEOUT``) raises
:class:`~desklink.broker.base.BrokerUnavailable` chained to redis-py's error.
Only a lost connection is retried, once and at once
(``RETRIES_ON_LOST_CONNECTION``), so a caller never waits much longer than
those bounds.

Presence's "kept since" mark (``P presence-since``, Redis ``TIME`` in ms) has
no expiry: a Redis restart that lost the data loses the mark too, and the
first :meth:`RedisBroker.presence_age` after it sets a fresh one, so every
node sees the gap.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable
from typing import Any, TypeVar

from redis.asyncio import BlockingConnectionPool, ConnectionPool, Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from desklink.broker._common import (
    MAX_PENDING_MESSAGES,
    Counters,
    QueueSubscription,
    to_millis,
)
from desklink.broker.base import Broker, BrokerMessage, Subscription
from desklink.errors import BrokerClosed, BrokerUnavailable

__all__ = ["MAX_CONNECTIONS", "PING_INTERVAL", "RedisBroker", "RedisSubscription"]

#: Command connections per broker; more concurrent calls wait for a free one
#: (up to POOL_TIMEOUT) instead of opening connections without bound.
MAX_CONNECTIONS = 50
POOL_TIMEOUT = 5.0
#: Connect and command timeout, unless the URL's query string says otherwise.
SOCKET_TIMEOUT = 5.0
#: Idle seconds after which a subscription pings Redis to detect a dead link.
PING_INTERVAL = 15.0
#: A command that finds its pooled connection dead (Redis restarted, or
#: closed an idle connection: a reset socket passes the pool's own check) is
#: sent once more on a fresh connection. Never on a timeout, so a hung Redis
#: still costs one ``SOCKET_TIMEOUT``, and never on a subscription. Every
#: broker command is idempotent or harmless twice (a repeated PUBLISH is
#: dropped by ``seq`` or is a nudge; a counter may count one extra failure).
RETRIES_ON_LOST_CONNECTION = 1

_PRESENCE_SET = """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local ttl = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1
"""
_PRESENCE_MEMBERS = """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return redis.call('ZRANGE', KEYS[1], 0, -1)
"""
_DIRECTORY_PUT = """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local ttl = tonumber(ARGV[2])
local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
if #gone > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
  redis.call('HDEL', KEYS[2], unpack(gone))
end
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
for i = 1, 2 do
  if redis.call('PTTL', KEYS[i]) < ttl then redis.call('PEXPIRE', KEYS[i], ttl) end
end
return 1
"""
_DIRECTORY_ENTRIES = """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
if #gone > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
  redis.call('HDEL', KEYS[2], unpack(gone))
end
local members = redis.call('ZRANGE', KEYS[1], 0, -1)
local out = {}
for _, m in ipairs(members) do
  local data = redis.call('HGET', KEYS[2], m)
  if data then
    out[#out + 1] = m
    out[#out + 1] = data
  end
end
return out
"""
_DIRECTORY_REMOVE = """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return 1
"""
_CLAIM = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return ARGV[1] end
return redis.call('GET', KEYS[1])
"""
_REPLACE = """
local held = redis.call('GET', KEYS[1])
if held and held ~= ARGV[1] then return held end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return ARGV[2]
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
_HIT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 or redis.call('PTTL', KEYS[1]) == -1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n
"""
_UNHIT = """
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n > 0 then return redis.call('DECR', KEYS[1]) end
return 0
"""

_PRESENCE_AGE = """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local since = redis.call('GET', KEYS[1])
if not since then
  redis.call('SET', KEYS[1], now)
  return 0
end
return now - tonumber(since)
"""
_MARK_PRESENCE_GAP = """
local t = redis.call('TIME')
redis.call('SET', KEYS[1], t[1] * 1000 + math.floor(t[2] / 1000))
return 1
"""

T = TypeVar("T")
_Waiters = dict[tuple[str, bytes], deque["asyncio.Future[None]"]]


class RedisSubscription(QueueSubscription):
    def __init__(self, broker: RedisBroker, pubsub: PubSub, max_pending: int) -> None:
        super().__init__(broker._counters, max_pending)
        self._broker = broker
        self._pubsub = pubsub
        self._waiters: _Waiters = {}
        self._send_lock = asyncio.Lock()
        self._reader: asyncio.Task[None] | None = None

    async def subscribe(self, *channels: str) -> None:
        """Returns once Redis confirmed every channel."""
        self._raise_if_closed()
        self._channels.update(channels)
        await self._command("subscribe", channels)

    async def unsubscribe(self, *channels: str) -> None:
        """Stop receiving ``channels`` (all of them when none are named);
        returns once Redis confirmed, so ``publish`` no longer counts us."""
        self._raise_if_closed()
        channels = channels or tuple(self._channels)
        self._channels.difference_update(channels)
        await self._command("unsubscribe", channels)

    async def _command(self, kind: str, channels: tuple[str, ...]) -> None:
        self._raise_if_closed()
        if not channels:
            return
        names = [self._broker.prefix + c for c in channels]
        loop = asyncio.get_running_loop()
        pending: list[tuple[deque[asyncio.Future[None]], asyncio.Future[None]]] = []
        # Register and send under one lock: confirmations come back in send
        # order, and each (kind, channel) queue of futures is resolved FIFO.
        async with self._send_lock:
            for name in names:
                future: asyncio.Future[None] = loop.create_future()
                queue = self._waiters.setdefault((kind, name.encode()), deque())
                queue.append(future)
                pending.append((queue, future))
            try:
                if kind == "subscribe":
                    await self._pubsub.subscribe(*names)
                else:
                    await self._pubsub.unsubscribe(*names)
            except BaseException as exc:
                for queue, future in pending:
                    if future in queue:
                        queue.remove(future)
                    future.cancel()
                if isinstance(exc, (RedisError, OSError)):
                    raise BrokerUnavailable(f"Redis did not take the {kind}: {exc}") from exc
                raise
            if self._reader is None:
                self._reader = asyncio.create_task(self._read(), name="desklink-broker-reader")
        await asyncio.gather(*(future for _, future in pending))

    async def _read(self) -> None:
        prefix_len = len(self._broker.prefix)
        interval = self._broker.ping_interval
        unanswered = False
        try:
            while True:
                message = await self._pubsub.get_message(timeout=interval)
                if message is None:
                    if unanswered:
                        raise ConnectionError(f"Redis did not answer a ping within {interval} s")
                    await self._pubsub.ping()
                    unanswered = True
                    continue
                unanswered = False
                kind = message["type"]
                if kind == "message":
                    channel = message["channel"].decode()[prefix_len:]
                    self.put_nowait(BrokerMessage(channel, message["data"]))
                elif kind in ("subscribe", "unsubscribe"):
                    queue = self._waiters.get((kind, message["channel"]))
                    if queue:
                        future = queue.popleft()
                        if not queue:
                            del self._waiters[(kind, message["channel"])]
                        if not future.done():
                            future.set_result(None)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the connection is gone: tell get() and subscribe()
            self._fail(exc)
            self._broker._subscriptions.discard(self)
            # redis-py may already have reconnected and resubscribed while
            # failing; drop that connection so no half-dead subscriber remains.
            await _aclose(self._pubsub)

    def _fail(self, cause: BaseException | None) -> None:
        self._mark_closed(cause)
        error = BrokerClosed("subscription closed")
        if cause is not None:
            error.__cause__ = cause
        for queue in self._waiters.values():
            for future in queue:
                if not future.done():
                    future.set_exception(error)
        self._waiters.clear()

    async def aclose(self) -> None:
        self._fail(None)
        self._broker._subscriptions.discard(self)
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.cancel()
            await asyncio.wait([reader])
        await _aclose(self._pubsub)


class RedisBroker(Broker):
    def __init__(
        self,
        url: str,
        prefix: str = "desklink:",
        *,
        max_pending: int = MAX_PENDING_MESSAGES,
        max_connections: int = MAX_CONNECTIONS,
        ping_interval: float = PING_INTERVAL,
    ) -> None:
        self.prefix = prefix
        self.ping_interval = ping_interval
        self._max_pending = max_pending
        self._counters = Counters()
        self._subscriptions: set[RedisSubscription] = set()
        self._closed = False
        options = {
            "socket_timeout": SOCKET_TIMEOUT,
            "socket_connect_timeout": SOCKET_TIMEOUT,
            "socket_keepalive": True,
            "decode_responses": False,
        }
        # Commands only: a subscription that redis-py quietly reconnected
        # would hide the messages lost in between (see RedisSubscription).
        retry = Retry(NoBackoff(), RETRIES_ON_LOST_CONNECTION, supported_errors=(RedisConnectionError,))
        pool = BlockingConnectionPool.from_url(
            url, max_connections=max_connections, timeout=POOL_TIMEOUT, retry=retry, **options
        )
        if pool.connection_kwargs.get("decode_responses"):
            raise ValueError("the broker's Redis URL must not set decode_responses: payloads are bytes")
        self._redis = Redis.from_pool(pool)
        self._sub_pool = ConnectionPool.from_url(url, **options)
        self._presence_set = self._redis.register_script(_PRESENCE_SET)
        self._presence_members = self._redis.register_script(_PRESENCE_MEMBERS)
        self._claim = self._redis.register_script(_CLAIM)
        self._directory_put = self._redis.register_script(_DIRECTORY_PUT)
        self._directory_entries = self._redis.register_script(_DIRECTORY_ENTRIES)
        self._directory_remove = self._redis.register_script(_DIRECTORY_REMOVE)
        self._release = self._redis.register_script(_RELEASE)
        self._replace = self._redis.register_script(_REPLACE)
        self._hit = self._redis.register_script(_HIT)
        self._unhit = self._redis.register_script(_UNHIT)
        self._presence_age = self._redis.register_script(_PRESENCE_AGE)
        self._mark_presence_gap = self._redis.register_script(_MARK_PRESENCE_GAP)

    @staticmethod
    async def _call(what: str, command: Awaitable[T]) -> T:
        """Await one Redis command; any failure to get an answer becomes
        :class:`BrokerUnavailable`."""
        try:
            return await command
        except (RedisError, OSError) as exc:
            raise BrokerUnavailable(f"Redis did not answer {what}: {exc}") from exc

    # fan-out -------------------------------------------------------------
    async def publish(self, channel: str, data: bytes) -> int:
        """One PUBLISH round trip; returns the number of subscriptions (one
        per node) Redis handed it to."""
        self._check_open()
        self._counters.published += 1
        return int(await self._call("PUBLISH", self._redis.publish(self.prefix + channel, data)))

    def subscription(self) -> Subscription:
        self._check_open()
        subscription = RedisSubscription(self, PubSub(self._sub_pool), self._max_pending)
        self._subscriptions.add(subscription)
        return subscription

    # presence --------------------------------------------------------------
    def _group(self, group: str) -> str:
        return f"{self.prefix}presence:{group}"

    async def presence_set(self, group: str, member: str, ttl: float) -> None:
        self._check_open()
        await self._call("presence_set", self._presence_set(keys=[self._group(group)], args=[member, to_millis(ttl)]))

    async def presence_remove(self, group: str, member: str) -> None:
        self._check_open()
        await self._call("ZREM", self._redis.zrem(self._group(group), member))

    async def presence_members(self, group: str) -> list[str]:
        self._check_open()
        members = await self._call("presence_members", self._presence_members(keys=[self._group(group)]))
        return [m.decode() for m in members]

    async def presence_age(self) -> float:
        self._check_open()
        millis = await self._call("presence_age", self._presence_age(keys=[self._presence_since_key]))
        return max(0, int(millis)) / 1000.0

    async def mark_presence_gap(self) -> None:
        self._check_open()
        await self._call("mark_presence_gap", self._mark_presence_gap(keys=[self._presence_since_key]))

    @property
    def _presence_since_key(self) -> str:
        return f"{self.prefix}presence-since"

    # directory ----------------------------------------------------------------
    def _directory_keys(self, group: str) -> list[str]:
        return [f"{self.prefix}dir:{group}", f"{self.prefix}dir-data:{group}"]

    async def directory_put(self, group: str, member: str, data: bytes, ttl: float) -> None:
        """One script: drop expired members, set this one's expiry (Redis
        ``TIME``) and data, extend both keys' expiry."""
        self._check_open()
        keys = self._directory_keys(group)
        await self._call("directory_put", self._directory_put(keys=keys, args=[member, to_millis(ttl), data]))

    async def directory_remove(self, group: str, member: str) -> None:
        self._check_open()
        await self._call("directory_remove", self._directory_remove(keys=self._directory_keys(group), args=[member]))

    async def directory_entries(self, group: str) -> dict[str, bytes]:
        self._check_open()
        flat = await self._call("directory_entries", self._directory_entries(keys=self._directory_keys(group)))
        return {flat[i].decode(): bytes(flat[i + 1]) for i in range(0, len(flat), 2)}

    # claims ----------------------------------------------------------------
    async def claim(self, key: str, owner: str, ttl: float) -> str:
        """``SET NX PX`` then ``GET``, atomically. A repeated claim by the
        holder returns it and does not extend it."""
        self._check_open()
        holder = await self._call("claim", self._claim(keys=[self.prefix + key], args=[owner, to_millis(ttl)]))
        return holder.decode() if isinstance(holder, bytes) else str(holder)

    async def replace(self, key: str, expected: str, owner: str, ttl: float) -> str:
        """``GET``, compare, ``SET PX``, atomically (one script)."""
        self._check_open()
        holder = await self._call(
            "replace", self._replace(keys=[self.prefix + key], args=[expected, owner, to_millis(ttl)])
        )
        return holder.decode() if isinstance(holder, bytes) else str(holder)

    async def release(self, key: str, owner: str) -> bool:
        self._check_open()
        return bool(await self._call("release", self._release(keys=[self.prefix + key], args=[owner])))

    # counters ----------------------------------------------------------------
    async def hit(self, key: str, window: float) -> int:
        self._check_open()
        return int(await self._call("hit", self._hit(keys=[self.prefix + key], args=[to_millis(window, "window")])))

    async def unhit(self, key: str) -> int:
        """``DECR`` only while above zero (one script), so the counter keeps
        its expiry and never goes negative."""
        self._check_open()
        return int(await self._unhit(keys=[self.prefix + key]))

    async def ttl(self, key: str) -> float:
        self._check_open()
        millis = int(await self._call("PTTL", self._redis.pttl(self.prefix + key)))
        if millis == -2:
            return 0.0
        return float("inf") if millis == -1 else millis / 1000.0

    async def delete(self, key: str) -> None:
        self._check_open()
        await self._call("DEL", self._redis.delete(self.prefix + key))

    # lifecycle ---------------------------------------------------------------
    async def ping(self) -> bool:
        if self._closed:
            return False
        try:
            return bool(await self._redis.ping())
        except (RedisError, OSError):
            return False

    async def aclose(self) -> None:
        """Close every subscription (their ``get`` raises
        :class:`BrokerClosed`), then both connection pools."""
        if self._closed:
            return
        self._closed = True
        for subscription in list(self._subscriptions):
            await subscription.aclose()
        await self._redis.aclose()
        await self._sub_pool.aclose()

    def statistics(self) -> dict[str, int]:
        return {
            "published": self._counters.published,
            "delivered": self._counters.delivered,
            "dropped": self._counters.dropped,
            "subscriptions": len(self._subscriptions),
            "pending": sum(len(s._pending) for s in self._subscriptions),
        }

    def _check_open(self) -> None:
        if self._closed:
            raise BrokerClosed("broker closed")


async def _aclose(pubsub: object) -> None:
    """``PubSub.aclose``: unannotated before redis-py 8.2, annotated since;
    called through ``Any`` so strict mypy passes with either."""
    closing: Any = pubsub
    await closing.aclose()
