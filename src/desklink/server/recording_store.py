"""Where recording segments live: a port with a local-disk default.

Theory of operation: the recording writer (server/recording_writer.py) hands
closed segments (protocol/recording.py) to a :class:`RecordingStore`; the
reading API and ``desklink recording verify`` read them back. The port is
synchronous and small; callers run it in a worker thread
(``asyncio.to_thread``) so a slow disk never blocks the event loop.

:class:`LocalRecordingStore` keeps ``<data_dir>/recordings/<session_id>/<n>.dlrec``
(directories mode 0700). A segment is written to ``<n>.dlrec.tmp``, fsynced,
renamed over its final name, and the directory fsynced: a segment that is
listed is whole, and a crash leaves at most a ``.tmp`` that listing ignores.

Failure: any operating-system error while writing (a full disk, a
read-only or permission-denied directory) raises
:class:`RecordingStorageFailed` with words for people, after removing the
temporary file; the writer turns it into ``recording_failed``, never into
an exception in the relay.

Limits: names are built from the session id (checked against
:data:`SESSION_ID_CHARS`) and the segment number only, never from anything
else a client sent.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
from pathlib import Path
from typing import Protocol

from desklink.errors import DeskLinkError

SUFFIX = ".dlrec"
_SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
SESSION_ID_CHARS = "letters, digits, '-' and '_' (at most 64)"


class RecordingStorageFailed(DeskLinkError):
    """A segment could not be stored (no room, no permission, I/O)."""

    code = "storage_failed"


class RecordingStore(Protocol):
    def write_segment(self, session_id: str, number: int, data: bytes) -> None: ...

    def list_segments(self, session_id: str) -> list[int]:
        """Stored segment numbers, ascending."""
        ...

    def read_segment(self, session_id: str, number: int) -> bytes:
        """``FileNotFoundError`` for a segment that is not stored."""
        ...

    def remove(self, session_id: str) -> None: ...

    def usage(self) -> int:
        """Bytes held by every recording."""
        ...


def check_session_id(session_id: str) -> str:
    if not _SESSION_ID.match(session_id):
        raise ValueError(f"a session id is {SESSION_ID_CHARS}")
    return session_id


class LocalRecordingStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _dir(self, session_id: str) -> Path:
        return self.root / check_session_id(session_id)

    def write_segment(self, session_id: str, number: int, data: bytes) -> None:
        if number < 0:
            raise ValueError("segment numbers start at 0")
        folder = self._dir(session_id)
        final = folder / f"{number}{SUFFIX}"
        tmp = folder / f"{number}{SUFFIX}.tmp"
        try:
            self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
            folder.mkdir(mode=0o700, exist_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, final)
            dfd = os.open(folder, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
                raise RecordingStorageFailed("the recordings disk is full") from exc
            if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
                raise RecordingStorageFailed("the recordings directory cannot be written") from exc
            raise RecordingStorageFailed(f"the recording could not be written ({exc.strerror})") from exc

    def list_segments(self, session_id: str) -> list[int]:
        folder = self._dir(session_id)
        try:
            names = os.listdir(folder)
        except FileNotFoundError:
            return []
        numbers = [int(n[: -len(SUFFIX)]) for n in names if n.endswith(SUFFIX) and n[: -len(SUFFIX)].isdigit()]
        return sorted(numbers)

    def read_segment(self, session_id: str, number: int) -> bytes:
        return (self._dir(session_id) / f"{int(number)}{SUFFIX}").read_bytes()

    def remove(self, session_id: str) -> None:
        shutil.rmtree(self._dir(session_id), ignore_errors=True)

    def usage(self) -> int:
        total = 0
        for dirpath, _dirs, files in os.walk(self.root):
            for name in files:
                with contextlib.suppress(OSError):
                    total += os.stat(os.path.join(dirpath, name)).st_size
        return total


__all__ = ["LocalRecordingStore", "RecordingStorageFailed", "RecordingStore", "check_session_id"]
