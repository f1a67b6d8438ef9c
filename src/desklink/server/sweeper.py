"""The node's sweeper: every ``sweep_interval_s``, one round of housekeeping
parts, each surviving anything (a failure is logged and tried again next
round; broker failures go to the node's outage watch, logged once).

Which parts a node runs depends on its role (:func:`parts_for`):

* **web work** (web and all nodes): expiry and abandonment of requests
  (judging absence only while this node trusts presence), expired logins
  and old access changes, presence-log stretches not renewed for
  ``presence_log_stale_s`` (closed at their ``seen_at``);
* **local bytes** (every node, relay nodes included): files past
  ``file_retention_s`` and idle transfers (:mod:`desklink.server.file_retention`;
  an agent's transfers live on the relay node holding it), recordings past
  ``recording_retention_days`` (:mod:`desklink.server.recording_retention`;
  written where the screen is relayed).

A relay node never sweeps requests or logins: it serves no chat, so it
neither decides that a visitor left nor races the web nodes doing so.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta

from desklink.broker import BROKER_ERRORS
from desklink.server.access import purge_old_changes
from desklink.server.context import Context
from desklink.server.file_retention import sweep_files
from desklink.server.recording_retention import sweep_recordings

__all__ = ["LOCAL_PARTS", "WEB_PARTS", "parts_for", "run"]

log = logging.getLogger("desklink")

Part = Callable[[Context], Awaitable[None]]


async def _requests(ctx: Context) -> None:
    try:
        closed = await ctx.dispatcher.sweep(broker_ok=not ctx.hub.watch.down)
        if closed:
            log.info("sweeper closed %d requests", closed)
    except BROKER_ERRORS as exc:
        ctx.hub.watch.report("the sweeper", exc)


async def _logins(ctx: Context) -> None:
    await ctx.store.purge_auth_sessions(datetime.now(UTC))
    await purge_old_changes(ctx.store, datetime.now(UTC))


async def _presence_log(ctx: Context) -> None:
    stale = datetime.now(UTC) - timedelta(seconds=ctx.settings.presence_log_stale_s)
    ended = await ctx.store.close_stale_presence(older_than=stale)
    if ended:
        log.info("sweeper closed %d presence-log stretches of dead nodes at their last renewal", ended)


async def _files(ctx: Context) -> None:
    expired, orphans = await sweep_files(ctx.store, ctx.file_store, ctx.settings.file_retention_s, datetime.now(UTC))
    if expired or orphans:
        log.info("sweeper expired %d files and removed %d orphans", expired, orphans)
    idle = await ctx.transfers.cancel_idle(ctx.settings.file_idle_s, datetime.now(UTC))
    if idle:
        log.info("sweeper cancelled %d idle transfers", idle)


async def _recordings(ctx: Context) -> None:
    gone = await sweep_recordings(ctx.store, ctx.recordings.segments, ctx.settings.recording_retention_days, datetime.now(UTC))
    if gone:
        log.info("sweeper removed %d recordings past recording_retention_days", gone)


#: What only a node serving chat sweeps.
WEB_PARTS: tuple[Part, ...] = (_requests, _logins, _presence_log)
#: What every node sweeps: the bytes on its own disk.
LOCAL_PARTS: tuple[Part, ...] = (_files, _recordings)


def parts_for(role: str) -> tuple[Part, ...]:
    return LOCAL_PARTS if role == "relay" else (*WEB_PARTS, *LOCAL_PARTS)


async def run(ctx: Context, parts: Sequence[Part]) -> None:
    """Sweep every ``sweep_interval_s`` until cancelled."""
    while True:
        await asyncio.sleep(ctx.settings.sweep_interval_s)
        for part in parts:
            try:
                await part(ctx)
            except Exception:
                log.exception("sweep %s failed; trying again next round", part.__name__.lstrip("_"))
