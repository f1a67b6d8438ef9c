"""Retention: recordings leave the server ``recording_retention_days`` after
they started.

Theory of operation: each round of the node's sweeper (every
``sweep_interval_s``) calls :func:`sweep_recordings`, which takes the
finished recordings (``done`` or ``failed``; never one still being written)
that started before the cutoff, oldest first, at most
:data:`RECORDINGS_PER_ROUND` of them, and for each removes its segments
from the recording store, then its row. The row goes only once the
segments are gone: a removal that failed (permission, I/O) leaves the row,
and the next round tries again, so nothing is left on disk without a row
that points at it. Disk work runs in a worker thread. Several nodes
sharing one data directory may all sweep: each step is idempotent.

After removal the session's timeline still says it was recorded
(``recording_started`` ...); the reading API answers that there is no
recording.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from desklink.server.recording_store import RecordingStore
from desklink.store import Store

log = logging.getLogger("desklink.recording")

#: Recordings removed per sweeper round at most: a backlog (a retention
#: shortened by an admin) drains over a few rounds instead of holding the
#: sweeper for minutes.
RECORDINGS_PER_ROUND = 200


async def sweep_recordings(store: Store, segments: RecordingStore, retention_days: float, now: datetime) -> int:
    """One round: how many recordings were removed."""
    cutoff = now - timedelta(days=retention_days)
    removed = 0
    for rec in await store.recordings_started_before(cutoff, limit=RECORDINGS_PER_ROUND):
        await asyncio.to_thread(segments.remove, rec.session_id)
        left = await asyncio.to_thread(segments.list_segments, rec.session_id)
        if left:
            log.warning("recording of session %s: %d segments could not be removed; trying again next round",
                        rec.session_id, len(left))
            continue
        await store.delete_recording(rec.session_id)
        removed += 1
    return removed
