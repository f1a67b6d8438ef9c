"""Where files go on the visitor's computer: folders, safe final names,
hashing, and what a pick of files or folders sends.

Theory of operation
-------------------
These are the blocking, file-system parts of the agent's transfers
(:mod:`desklink.agent.files` keeps the state). Rules:

1. A received file gets its final name only once verified, and never
   replaces anything: :func:`place` links the temporary file to the first
   free name (``name (2).ext`` ...), so a name taken meanwhile is skipped.
2. Folders in a received name are created under the destination and never
   lead out of it (:func:`inside` refuses a folder that is a symbolic link).
3. A folder the visitor picks goes as its regular files, named
   ``folder/relative/path``; symbolic links and special files stay behind;
   at most :data:`MAX_PICKED_FILES` files.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desklink.protocol import filenames, limits

#: Suffix of the hidden temporary file an incoming file is written to.
PART_SUFFIX = ".desklink-part"
#: Read size when hashing a file, bytes.
HASH_BLOCK_BYTES = 1 << 20
#: Most files one pick (a folder) may hold; the server has its own limit.
MAX_PICKED_FILES = limits.MAX_FILES_PER_SESSION


def state_dir() -> Path:
    """Where the agent keeps its resume records (XDG_STATE_HOME or ~/.local/state)."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "desklink"


def downloads_dir() -> Path:
    """The visitor's Downloads folder: ``xdg-user-dir DOWNLOAD`` where it
    answers with a real folder, else ``~/Downloads``."""
    home = Path.home()
    if shutil.which("xdg-user-dir"):
        try:
            out = subprocess.run(["xdg-user-dir", "DOWNLOAD"], capture_output=True, text=True, timeout=2, check=False).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            out = ""
        if out and Path(out) != home:
            return Path(out)
    return home / "Downloads"


def size_words(n: int) -> str:
    """``1.5 MB``: a size as people read it."""
    size = float(n)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{int(size)} bytes" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{n} bytes"


def reason_words(exc: OSError, folder: Path | None = None) -> str:
    """An operating-system error in words a visitor understands."""
    where = f" in {folder}" if folder is not None else ""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        text = f"the disk is full (no room to save the file{where})"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        text = f"permission denied: cannot write{where}"
    else:
        text = f"could not save the file{where}: {exc.strerror or exc}"
    return text[: limits.MAX_FILE_REASON_CHARS]


@dataclass(frozen=True)
class Picked:
    """A file the visitor picked, with the relative name it is sent under."""

    path: Path
    name: str
    size: int


def expand_picks(paths: Iterable[str | Path]) -> list[Picked]:
    """The files to send for what the visitor picked: a file as itself, a
    folder as its files under ``folder/relative/path`` (symbolic links and
    special files are left out). Raises ``ValueError`` past
    :data:`MAX_PICKED_FILES` or when nothing readable is left."""
    picked: list[Picked] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            for root, dirs, files in os.walk(path, followlinks=False):
                dirs.sort()
                for f in sorted(files):
                    full = Path(root) / f
                    if full.is_symlink() or not full.is_file():
                        continue
                    rel = full.relative_to(path.parent).as_posix()
                    picked.append(Picked(full, rel[-limits.MAX_FILE_NAME_CHARS :], full.stat().st_size))
                    if len(picked) > MAX_PICKED_FILES:
                        raise ValueError(f"more than {MAX_PICKED_FILES} files picked")
        elif path.is_file():
            picked.append(Picked(path, path.name[-limits.MAX_FILE_NAME_CHARS :] or "file", path.stat().st_size))
        else:
            raise ValueError(f"{path} is not a file or folder")
    if not picked:
        raise ValueError("nothing to send")
    if len(picked) > MAX_PICKED_FILES:
        raise ValueError(f"more than {MAX_PICKED_FILES} files picked")
    return picked


def hash_file(path: Path, length: int | None = None) -> tuple[Any, int]:
    """SHA-256 of the first ``length`` bytes (all when None) and how many were
    read. Blocking: run it on a worker thread."""
    sha = hashlib.sha256()
    read = 0
    with open(path, "rb") as f:
        while length is None or read < length:
            want = HASH_BLOCK_BYTES if length is None else min(HASH_BLOCK_BYTES, length - read)
            block = f.read(want)
            if not block:
                break
            sha.update(block)
            read += len(block)
    return sha, read


def hash_fd(fd: int, length: int) -> tuple[Any, int]:
    """SHA-256 of the first ``length`` bytes of an open file, read with
    ``pread`` (the file position is left alone). Blocking."""
    sha = hashlib.sha256()
    read = 0
    while read < length:
        block = os.pread(fd, min(HASH_BLOCK_BYTES, length - read), read)
        if not block:
            break
        sha.update(block)
        read += len(block)
    return sha, read


def create_new(path: Path) -> int:
    """A new, empty file at ``path`` for writing, created by us: never a link
    someone planted there (``O_EXCL`` does not follow links, ``O_NOFOLLOW``
    refuses one). A leftover of ours (a plain file or a link) is removed
    first: ``unlink`` removes the link itself, never its target."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
    try:
        return os.open(path, flags, 0o600)
    except FileExistsError:
        os.unlink(path)
        return os.open(path, flags, 0o600)


def free_name(folder: Path, base: str) -> Path:
    """The first name in ``folder`` not taken: ``base``, ``base (2)``, ..."""
    candidate = folder / base
    n = 1
    while candidate.exists() or candidate.is_symlink():
        n += 1
        candidate = folder / filenames.numbered(base, n)
    return candidate


def place(temp: Path, folder: Path, base: str) -> Path:
    """Give the verified temporary file its final name without ever
    overwriting: a hard link fails if the name was taken meanwhile (then the
    next number is tried); where links are not possible, a rename to a name
    just seen free."""
    for _ in range(10_000):
        final = free_name(folder, base)
        try:
            os.link(temp, final)
        except FileExistsError:
            continue
        except OSError:
            if final.exists():
                continue
            os.replace(temp, final)
            return final
        temp.unlink()
        return final
    raise OSError(errno.EEXIST, "no free name left")


def inside(dest: Path, folders: list[str]) -> Path:
    """``dest/folders...``, refusing any that would lead outside ``dest``
    (a folder there that is a symbolic link elsewhere)."""
    folder = dest.joinpath(*folders)
    root = dest.resolve()
    current = root
    for part in folders:
        current = current / part
        if current.is_symlink() or (current.exists() and not current.resolve().is_relative_to(root)):
            raise ValueError(f"{folder} leads outside {dest}")
    return folder
