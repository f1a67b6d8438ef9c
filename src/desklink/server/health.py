"""Can this node write? The part of ``/readyz`` that looks at the disk.

A node whose data directory is full or read-only still answers, but every
request that stores something fails; the load balancer should send work to
another node before that. These checks are cheap (a ``statvfs`` and an
``access`` per directory, microseconds) and write nothing, so a probe every
second costs nothing and never grows a file.

Limits: free space is what unprivileged writers may use (``f_bavail``); a
disk that fills between two probes is caught by the next one, and meanwhile
the writes fail cleanly (``500 internal``, nothing half-stored).
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.engine import make_url

from desklink.config import Settings


def local_paths(settings: Settings) -> list[Path]:
    """The directories this node writes to: the data directory, and the
    SQLite database's own directory when it lives elsewhere."""
    paths = [settings.data_dir]
    url = make_url(settings.effective_database_url)
    if url.get_backend_name() == "sqlite" and url.database:
        db_dir = Path(url.database).parent
        if db_dir.resolve() != settings.data_dir.resolve():
            paths.append(db_dir)
    return paths


def disk_problem(path: Path, min_free_bytes: int) -> str | None:
    """Why nothing can be written under ``path``, or None when it can."""
    try:
        st = os.statvfs(path)
    except OSError as exc:
        return f"{path}: {exc.strerror or exc}"
    if st.f_flag & os.ST_RDONLY:
        return f"{path} is on a read-only file system"
    if not os.access(path, os.W_OK):
        return f"{path} is not writable by this process"
    free = st.f_bavail * st.f_frsize
    if free < min_free_bytes:
        return f"{path} has {free // 1024} KiB free, less than the {min_free_bytes // 1024} KiB min_free_disk_bytes"
    return None


def disk_problems(settings: Settings) -> list[str]:
    """Every reason the node cannot write locally (empty: it can)."""
    found = (disk_problem(p, settings.min_free_disk_bytes) for p in local_paths(settings))
    return [p for p in found if p is not None]


# ---------------------------------------------------------------- readiness
#
# What ``/readyz`` means (Kubernetes' readiness: should this node get new
# traffic?). It fails for the node's own problems, which another node does
# not share: draining, a data directory it cannot write. It does not fail
# for a shared dependency that fails on every node at once, since taking
# every node out sends clients nowhere while the nodes still serve what
# they can (established chats keep their own echo through a Redis outage):
#
# * the broker (Redis) not answering is reported (``broker: false``, the
#   reason under ``degraded``) and never fails readiness; alert on
#   ``desklink_broker_watch_up`` instead;
# * the store (the database) not answering or refusing writes is reported
#   the same way, and fails readiness only once it has lasted
#   ``ready_store_grace_s`` as this node's probes saw it: a node whose own
#   pool stays broken leaves the balancer, a blip or a failover does not
#   empty it.


class Outage:
    """Since when (monotonic seconds) the probes have seen a dependency fail;
    forgotten at the first probe that finds it well."""

    def __init__(self) -> None:
        self.since: float | None = None

    def note(self, ok: bool, now: float) -> float:
        """Record a probe; how long the dependency has been failing (0: well)."""
        if ok:
            self.since = None
            return 0.0
        if self.since is None:
            self.since = now
        return now - self.since


def readiness(
    *, store_ok: bool, db_writable: bool, broker_ok: bool, disk: list[str], store_failing_s: float, store_grace_s: float
) -> tuple[bool, dict[str, object]]:
    """Ready or not, and the body ``/readyz`` answers with (not draining:
    a draining node answers before any check)."""
    problems = list(disk)
    degraded: list[str] = []
    store_reasons = []
    if not broker_ok:
        degraded.append("the broker does not answer")
    if not store_ok:
        store_reasons.append("the store does not answer")
    elif not db_writable:
        store_reasons.append("the database refuses writes")
    if store_reasons and store_failing_s >= store_grace_s:
        problems[:0] = store_reasons
    else:
        degraded[:0] = store_reasons
    body: dict[str, object] = {
        "store": store_ok, "broker": broker_ok, "writable": store_ok and db_writable and not disk, "draining": False,
        "problems": problems, "degraded": degraded,
    }
    return not problems, body
