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
