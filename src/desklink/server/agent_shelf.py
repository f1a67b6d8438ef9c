"""The agent folder (``agent_dir``) as the download page sees it: which
files it offers, their sizes and SHA-256 (each file hashed once per size and
mtime, so a rebuilt agent gets its new hash without a restart). Only names
matching the agent or wheel patterns, at most ``max_agent_files`` of them,
each at most ``max_agent_file_bytes``, are listed."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from desklink.config import Settings
from desklink.protocol import agent_names

log = logging.getLogger("desklink.downloads")

_WHEEL = re.compile(r"^desklink-[0-9][A-Za-z0-9.+!_]*-py3-none-any\.whl$")
_HASH_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class AgentFile:
    name: str
    path: Path
    size: int
    sha256: str
    #: ``linux``/``windows``/``macos`` for a one-file agent, "" for the wheel.
    system: str

    @property
    def is_wheel(self) -> bool:
        return not self.system

    @property
    def machine(self) -> str:
        stem = self.name.removesuffix(".exe")
        return stem.split("-")[-1] if self.system else ""


class AgentShelf:
    """The agent folder's listing, with hashes cached by (size, mtime)."""

    def __init__(self, settings: Settings) -> None:
        self.folder = settings.effective_agent_dir
        self.max_files = settings.max_agent_files
        self.max_bytes = settings.max_agent_file_bytes
        self._hashes: dict[str, tuple[int, int, str]] = {}

    def scan(self) -> list[AgentFile]:
        """The listed files, sorted by name (blocking: hashes new files)."""
        try:
            entries = sorted(os.scandir(self.folder), key=lambda e: e.name)
        except OSError:
            return []
        out: list[AgentFile] = []
        for entry in entries:
            name = entry.name
            if not agent_names.SAFE_NAME.match(name):
                continue
            system = agent_names.system_of_file(name)
            if system is None and not _WHEEL.match(name):
                continue
            try:
                if not entry.is_file(follow_symlinks=False):  # regular files only: a link could point anywhere
                    continue
                st = entry.stat()
            except OSError:
                continue
            if st.st_size > self.max_bytes:
                log.warning("not offering %s: %d bytes is over max_agent_file_bytes", name, st.st_size)
                continue
            if len(out) >= self.max_files:
                log.warning("the agent folder lists more than max_agent_files (%d); the rest is not offered", self.max_files)
                break
            digest = self._digest(Path(entry.path), st.st_size, st.st_mtime_ns)
            if digest is not None:
                out.append(AgentFile(name, Path(entry.path), st.st_size, digest, system or ""))
        return out

    def wheel_name(self) -> str | None:
        """The newest-named agent wheel in the folder, without hashing (cheap
        enough for the event loop: one directory listing)."""
        try:
            names = [e.name for e in os.scandir(self.folder) if _WHEEL.match(e.name) and e.is_file(follow_symlinks=False)]
        except OSError:
            return None
        return max(names) if names else None

    async def listing(self) -> list[AgentFile]:
        return await asyncio.to_thread(self.scan)

    def _digest(self, path: Path, size: int, mtime_ns: int) -> str | None:
        cached = self._hashes.get(path.name)
        if cached is not None and cached[:2] == (size, mtime_ns):
            return cached[2]
        h = hashlib.sha256()
        try:
            with path.open("rb") as f:
                while chunk := f.read(_HASH_CHUNK):
                    h.update(chunk)
        except OSError:
            return None
        self._hashes[path.name] = (size, mtime_ns, h.hexdigest())
        return h.hexdigest()
