"""Retention: files leave the server ``file_retention_s`` after they were offered.

Theory of operation: the server holds a file only so the parties can finish
and download it; it is not an archive. Each round of the node's sweeper
(every ``sweep_interval_s``) calls :func:`sweep_files`, which

1. marks ``expired`` every transfer offered more than ``file_retention_s``
   ago that is no longer travelling (the row stays: it is the session's
   record of what was sent), and removes its bytes. Unfinished transfers
   are never expired under a live upload: the sweeper cancels idle ones
   through the transfer hub (``TransferHub.cancel_idle``, ``file_idle_s``),
   which tells both parties;
2. removes *orphans*: bytes in the file store whose row is gone, or says
   they are no longer wanted (``expired``, ``cancelled``, ``refused``,
   ``failed``). The transfer hub removes those itself when it ends a
   transfer; this catches what a crash or a failed removal left behind.

A row is always created before its first byte is written, so a partial file
of an upload that is just starting is never taken for an orphan. Several
nodes sharing one data directory may all sweep: each step is idempotent.
After expiry the download answers 404 and ``file.state`` says ``expired``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from desklink.server.file_store import FileStore
from desklink.store import Store


async def sweep_files(store: Store, files: FileStore, retention_s: float, now: datetime) -> tuple[int, int]:
    """One round: ``(transfers expired, orphans removed)``."""
    expired = await store.expire_transfers(before=now - timedelta(seconds=retention_s), now=now)
    for row in expired:
        files.remove(row.id)
    held = files.stored_ids()
    orphans = held - await store.transfers_holding_bytes(held)
    for transfer_id in orphans:
        files.remove(transfer_id)
    return len(expired), len(orphans)
