"""Access changes reach every open socket: the node's watcher.

An admin change to a user's role, queues, status (disabled, password) or
name appends a row to ``access_changes`` (``desklink.admin.AdminActions``),
whichever process made it: a node's admin center or ``desklink admin`` on
the command line. Every node runs one :class:`AccessWatcher`, which reads the
rows after the last one it saw every ``access_poll_interval_s`` and tells that
user's sockets on this node to re-check (``Connection.access_changed``):
they re-read the login and the user's queues from the store and leave,
narrow or close as the new rules say. A broker note (``{"op": "access"}`` on
the user's channel) makes the same re-check happen at once where the
changer's broker reaches; the watcher is what guarantees it.

Reading "rows after id N" is only safe if ids become visible in order. On
SQLite they do (one writer at a time, and the store never purges the newest
row, so ids are not reused). On PostgreSQL two transactions can commit their
sequence ids out of order, so :class:`AccessCursor` remembers the ids it
skipped over and keeps reading from below them for :data:`GAP_WAIT_S`
(an id rolled back never shows up; after that wait it is given up).

Limits: a node that cannot reach the store re-checks nothing until it can
again; it then reads everything it missed (rows are kept for
:data:`ACCESS_CHANGE_KEEP_S`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from desklink.store import Store
from desklink.store.records import AccessChange

log = logging.getLogger("desklink.access")

#: How long a skipped id may still appear (a PostgreSQL transaction that
#: took its id before another one but committed after it), seconds. Far
#: longer than any admin change's transaction.
GAP_WAIT_S = 10.0
#: Skipped ids remembered at most; past it the oldest are given up first.
MAX_GAPS = 1000
#: Rows read per query; the watcher reads again while pages come back full.
PAGE = 500
#: Access changes are purged by the sweeper after this long, seconds: far
#: past any gap wait, and long enough for a node restarting in a rolling
#: upgrade (it starts from the newest id anyway).
ACCESS_CHANGE_KEEP_S = 600.0


class AccessCursor:
    """Which access changes are new, from the rows read after :attr:`floor`.
    Pure: ids and times in, user ids out."""

    def __init__(self, start_id: int, gap_wait_s: float = GAP_WAIT_S) -> None:
        self.last = start_id
        self.gap_wait_s = gap_wait_s
        #: Ids below :attr:`last` not seen yet, with when they were first missed.
        self.gaps: dict[int, float] = {}

    @property
    def floor(self) -> int:
        """Read rows with an id above this."""
        return min(self.gaps) - 1 if self.gaps else self.last

    def take(self, rows: Iterable[AccessChange], now: float) -> set[int]:
        """The users of the rows not seen before. Rows must come in id order."""
        users: set[int] = set()
        for row in rows:
            if row.id > self.last:
                for skipped in range(max(self.last + 1, row.id - MAX_GAPS), row.id):
                    self.gaps[skipped] = now
                self.last = row.id
                users.add(row.user_id)
            elif self.gaps.pop(row.id, None) is not None:
                users.add(row.user_id)
        for gap, since in list(self.gaps.items()):
            if now - since > self.gap_wait_s:
                del self.gaps[gap]
        while len(self.gaps) > MAX_GAPS:
            del self.gaps[min(self.gaps)]
        return users


class AccessWatcher:
    """Polls the store for access changes and hands the users to ``notify``.
    Survives store errors: it logs once per outage and carries on from the
    last id it saw when the store answers again."""

    def __init__(
        self,
        store: Store,
        interval_s: float,
        notify: Callable[[set[int]], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.interval_s = interval_s
        self.notify = notify
        self.clock = clock
        self.cursor: AccessCursor | None = None
        self.polls = 0
        self.changes = 0
        self.errors = 0
        self._failing = False

    async def run(self) -> None:
        while True:
            try:
                await self.poll()
            except asyncio.CancelledError:
                raise
            except Exception:
                self.errors += 1
                if not self._failing:
                    log.exception("reading access changes failed; trying again every %.1f s", self.interval_s)
                self._failing = True
            else:
                if self._failing:
                    log.warning("reading access changes works again")
                self._failing = False
            await asyncio.sleep(self.interval_s)

    async def poll(self) -> set[int]:
        """Read what is new once; returns (and notifies) the changed users."""
        if self.cursor is None:
            # Changes made before this node started need no re-check: its
            # sockets all opened after them.
            self.cursor = AccessCursor(await self.store.last_access_change_id())
            return set()
        users: set[int] = set()
        floor = self.cursor.floor
        while True:
            rows = await self.store.access_changes_after(floor, PAGE)
            users |= self.cursor.take(rows, self.clock())
            if len(rows) < PAGE:
                break
            floor = rows[-1].id
        self.polls += 1
        if users:
            self.changes += len(users)
            self.notify(users)
        return users

    def statistics(self) -> dict[str, int]:
        return {
            "polls": self.polls,
            "changed_users": self.changes,
            "errors": self.errors,
            "last_id": self.cursor.last if self.cursor else 0,
        }


async def purge_old_changes(store: Store, now: datetime) -> int:
    """The sweeper's part: drop rows every node has long read."""
    return await store.purge_access_changes(now - timedelta(seconds=ACCESS_CHANGE_KEEP_S))


def socket_notifier(forget_name: Callable[[int], None]) -> Callable[[set[int]], None]:
    """What the watcher does with changed users on this node: forget their
    cached display names and ask each of their open sockets to re-check."""
    from desklink.server.connection import Connection

    def notify(users: set[int]) -> None:
        for user_id in users:
            forget_name(user_id)
        for conn in tuple(Connection.live):
            if conn.user_id is not None and conn.user_id in users:
                conn.access_changed()

    return notify
