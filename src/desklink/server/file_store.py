"""Where transferred files live while the server holds them.

Theory of operation: a file crosses the server in two legs (the sender
uploads it, the receiver takes it), and the server keeps the bytes in
between, so that either side may drop and resume and the receiver may
download the file later. :class:`FileStore` is that port; the transfer hub
(``server/transfers.py``) talks to nothing else. :class:`LocalFileStore`, the
default, keeps each file in one directory (``<data_dir>/files``, mode 0700):

* ``<id>.part`` while bytes are still arriving. Bytes are only ever added at
  its end, so its size is the number of bytes held: the authoritative resume
  offset after a restart (the ``received`` column may lag behind it).
* ``<id>`` once the sender finished and the hub verified it: ``finish`` fsyncs
  the partial file and renames it in one atomic step, so a finished file is
  always whole.

Failure: a full disk (``ENOSPC``/``EDQUOT``), or an append that would leave
less than ``min_free_bytes`` free (the same floor under which ``/readyz``
reports the node not ready), raises :class:`StorageFull`; any other
operating-system error while writing raises :class:`StorageFailed`. In both
cases the partial file is removed first: a transfer that failed for lack of
room holds no room. Writes are small (one chunk, ``file_chunk_bytes``) and
synchronous; the caller runs them between awaits.

Limits: files are named by the transfer's numeric id, never by anything a
client sent, so no name can escape the directory. The store is node-local: a
deployment with several web nodes needs a shared ``data_dir`` or sticky
routing (docs/deploy.md).
"""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path
from typing import NoReturn, Protocol

from desklink.errors import DeskLinkError

#: The largest id a transfer row can have (64-bit in both databases).
MAX_ID = 2**63 - 1
#: ``errno`` values that mean "no room", not "broken".
_NO_ROOM = frozenset({errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)})


class StorageFull(DeskLinkError):
    """The disk (or quota, or free-space floor) has no room; the partial file is already removed."""

    code = "storage_full"


class StorageFailed(DeskLinkError):
    """Writing failed for another reason (permission, I/O); the partial file is already removed."""

    code = "storage_failed"


class FileStore(Protocol):
    """Bytes of transfers by transfer id (see the module docstring)."""

    def partial_size(self, transfer_id: int) -> int:
        """Bytes held of an unfinished file (0: none); authoritative for resume."""
        ...

    def append(self, transfer_id: int, offset: int, data: bytes) -> None:
        """Add ``data`` at ``offset``, which must equal :meth:`partial_size`
        (``ValueError`` otherwise: the caller's bug)."""
        ...

    def read(self, transfer_id: int, offset: int, length: int) -> bytes:
        """Up to ``length`` bytes at ``offset`` of the partial or finished file."""
        ...

    def finish(self, transfer_id: int, size: int) -> None:
        """Make the partial file durable and finished. Refused
        (:class:`StorageFailed`) unless the partial holds exactly ``size``
        bytes: an empty one is made only for an empty file."""
        ...

    def is_finished(self, transfer_id: int) -> bool: ...

    def path(self, transfer_id: int) -> Path:
        """The finished file's path."""
        ...

    def remove(self, transfer_id: int) -> None:
        """Remove the partial and the finished file; quiet if absent."""
        ...

    def stored_ids(self) -> set[int]:
        """Every transfer id with a partial or finished file (for the retention sweep)."""
        ...


class LocalFileStore:
    """:class:`FileStore` in one local directory (created 0700 on first use)."""

    def __init__(self, root: Path, *, min_free_bytes: int = 0) -> None:
        self.root = Path(root)
        self.min_free_bytes = min_free_bytes
        self._made = False

    # -- paths -------------------------------------------------------------

    def path(self, transfer_id: int) -> Path:
        return self.root / str(_id(transfer_id))

    def _part(self, transfer_id: int) -> Path:
        return self.root / f"{_id(transfer_id)}.part"

    def _ensure_root(self) -> None:
        if self._made:
            return
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)
        self._made = True

    # -- the port ----------------------------------------------------------

    def partial_size(self, transfer_id: int) -> int:
        try:
            return self._part(transfer_id).stat().st_size
        except (FileNotFoundError, NotADirectoryError):
            return 0

    def append(self, transfer_id: int, offset: int, data: bytes) -> None:
        held = self.partial_size(transfer_id)
        if offset != held:
            raise ValueError(f"transfer {transfer_id}: append at {offset}, but {held} bytes are held")
        part = self._part(transfer_id)
        try:
            self._ensure_root()
            if self.min_free_bytes > 0 and self._free() - len(data) < self.min_free_bytes:
                raise OSError(errno.ENOSPC, "below the free-space floor (min_free_disk_bytes)")
            fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                view = memoryview(data)
                while view:
                    written = os.write(fd, view)
                    view = view[written:]
            finally:
                os.close(fd)
        except OSError as exc:
            self._fail(part, exc)

    def read(self, transfer_id: int, offset: int, length: int) -> bytes:
        if offset < 0 or length < 0:
            raise ValueError("offset and length must be >= 0")
        for candidate in (self.path(transfer_id), self._part(transfer_id)):
            try:
                with open(candidate, "rb") as f:
                    f.seek(offset)
                    return f.read(length)
            except (FileNotFoundError, NotADirectoryError):
                continue
        raise FileNotFoundError(f"transfer {transfer_id} holds no file")

    def finish(self, transfer_id: int, size: int) -> None:
        part = self._part(transfer_id)
        if not part.exists() and self.is_finished(transfer_id) and self.path(transfer_id).stat().st_size == size:
            return  # finished before (a retry after a restart): never replace it with nothing
        held = self.partial_size(transfer_id)
        if held != size or (size > 0 and not part.exists()):
            # The bytes went away (expiry, a cancel on another node, the
            # orphan sweep) or never all arrived: never hand over less.
            _quietly_remove(part)
            raise StorageFailed(f"the server no longer holds this file ({held} of {size} bytes)")
        try:
            self._ensure_root()
            flags = os.O_WRONLY | (os.O_CREAT if size == 0 else 0)  # only an empty file has no partial yet
            fd = os.open(part, flags, 0o600)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(part, self.path(transfer_id))
            dir_fd = os.open(self.root, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError as exc:
            self._fail(part, exc)

    def _fail(self, part: Path, exc: OSError) -> NoReturn:
        """Remove the partial file and raise the error the hub reports."""
        _quietly_remove(part)
        self._made = False  # the directory may be what went away: make it again next time
        if exc.errno in _NO_ROOM:
            raise StorageFull("the server has no room for this file") from exc
        raise StorageFailed(f"the server could not store this file ({exc.strerror or exc})") from exc

    def is_finished(self, transfer_id: int) -> bool:
        return self.path(transfer_id).is_file()

    def remove(self, transfer_id: int) -> None:
        _quietly_remove(self._part(transfer_id))
        _quietly_remove(self.path(transfer_id))

    # -- for the retention sweep -------------------------------------------

    def stored_ids(self) -> set[int]:
        """Every transfer id with a partial or finished file here."""
        try:
            names = os.listdir(self.root)
        except FileNotFoundError:
            return set()
        ids: set[int] = set()
        for name in names:
            stem = name.removesuffix(".part")
            # Only names this store writes: canonical decimal ids a row can have.
            if stem.isascii() and stem.isdigit() and str(int(stem)) == stem and int(stem) <= MAX_ID:
                ids.add(int(stem))
        return ids

    def _free(self) -> int:
        st = os.statvfs(self.root)
        return st.f_bavail * st.f_frsize


def _id(transfer_id: int) -> int:
    # A bool or a string here would be a caller's bug; a negative id would
    # still be a safe name, but no row has one.
    if not isinstance(transfer_id, int) or isinstance(transfer_id, bool) or transfer_id < 0:
        raise ValueError(f"bad transfer id {transfer_id!r}")
    return transfer_id


def _quietly_remove(path: Path) -> None:
    # Absent is fine; any other error is already being reported by the caller.
    with contextlib.suppress(OSError):
        path.unlink()
