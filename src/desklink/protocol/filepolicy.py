"""A queue's file policy, and the check every offered file passes.

Admins set the policy per queue (admin center, ``/api/admin/queues``): may
files go to the visitor, may they come from the visitor, the largest file,
the most files per support session, and extensions refused. Zero means the
server's own setting (``max_file_bytes``, ``max_files_per_session``), which
is also the ceiling: a queue can be stricter than the server, never looser.
Sans-I/O: the transfer hub (``server/transfers.py``) gives the facts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from desklink.errors import Forbidden, LimitExceeded, ProtocolError, TooLarge
from desklink.protocol import filenames

Direction = Literal["to_visitor", "from_visitor"]

#: Longest blocked-extensions list an admin may set, characters.
MAX_BLOCKED_CHARS = 1000
_EXT_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_-")


def parse_extensions(text: str) -> tuple[str, ...]:
    """``"EXE, .bat ,msi"`` -> ``("bat", "exe", "msi")``; ``ProtocolError``
    (``bad_message``) for anything that is not an extension."""
    if len(text) > MAX_BLOCKED_CHARS:
        raise ProtocolError(f"blocked extensions: at most {MAX_BLOCKED_CHARS} characters", code="bad_message")
    out: set[str] = set()
    for raw in text.replace(";", ",").replace(" ", ",").split(","):
        ext = raw.strip().lower().lstrip(".")
        if not ext:
            continue
        if len(ext) > 16 or not set(ext) <= _EXT_CHARS:
            raise ProtocolError(f"{raw.strip()!r} is not a file extension", code="bad_message")
        out.add(ext)
    return tuple(sorted(out))


@dataclass(frozen=True)
class FilePolicy:
    to_visitor: bool = True
    from_visitor: bool = True
    #: 0: the server's setting.
    max_file_bytes: int = 0
    max_files_per_session: int = 0
    blocked_extensions: tuple[str, ...] = ()

    def limits(self, server_max_bytes: int, server_max_files: int) -> tuple[int, int]:
        """The effective (largest file, most files per session)."""
        size = min(self.max_file_bytes, server_max_bytes) if self.max_file_bytes > 0 else server_max_bytes
        files = min(self.max_files_per_session, server_max_files) if self.max_files_per_session > 0 else server_max_files
        return size, files

    def check(
        self,
        direction: Direction,
        name: str,
        size: int,
        files_so_far: int,
        *,
        server_max_bytes: int,
        server_max_files: int,
    ) -> None:
        """Raise ``Forbidden`` (direction not allowed, extension blocked) or
        ``TooLarge`` / ``LimitExceeded`` (``too_many_files``) with words for the sender."""
        if direction == "to_visitor" and not self.to_visitor:
            raise Forbidden("this support queue does not allow sending files to the visitor")
        if direction == "from_visitor" and not self.from_visitor:
            raise Forbidden("this support queue does not allow receiving files from the visitor")
        ext = filenames.extension(name)
        if ext and ext in self.blocked_extensions:
            raise Forbidden(f".{ext} files are not allowed in this support queue")
        max_bytes, max_files = self.limits(server_max_bytes, server_max_files)
        if size > max_bytes:
            raise TooLarge(f"the file is {_size(size)}; the largest allowed is {_size(max_bytes)}")
        if files_so_far >= max_files:
            raise LimitExceeded(f"this session already carried {files_so_far} files, the most allowed", code="too_many_files")


def _size(n: int) -> str:
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"
