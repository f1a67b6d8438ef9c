"""One transfer of each kind the files bench times, and a loop that keeps
one kind going back to back (the load beside the busy screen).

Every function returns the seconds the transfer took, measured as the user
would see it:

* ``browser_upload``: the help box's ``file.offer`` sent -> the rep's
  ``file.state`` ``ready`` (every byte at the server, SHA-256 checked).
* ``rep_download``: the rep's ``GET`` of that file's download link, the
  whole body read.
* ``to_agent``: the rep's ``file.offer`` (``to: computer``) -> the rep's
  ``file.state`` ``delivered`` (the agent saved and verified it). The
  visitor's "y" to the offer is written the moment the offer is made.
* ``from_agent``: the visitor's path typed in answer to ``file.ask`` -> the
  rep's ``file.state`` ``ready``. The agent reads and hashes the file first,
  so that is included.

Each checks what arrived (size, or hash where it costs nothing extra) and
deletes the copies it made, so a long run does not fill the disk."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from _files_session import Session

from desklink.testing import login_retrying
from desklink.testing_files import Upload, sha, wait_state

TIMEOUT = 300.0


async def browser_upload(s: Session, data: bytes, digest: str) -> tuple[float, str]:
    """Seconds, and the download link of what arrived."""
    up = Upload(s.visitor, data, f"up-{secrets.token_hex(3)}.bin")
    started = time.monotonic()
    await up.offer()
    await up.send_all(TIMEOUT)
    await up.end(digest)
    ready = await wait_state(s.rep, up.id, "ready", TIMEOUT)
    took = time.monotonic() - started
    assert ready["sha256"] == digest, ready
    return took, str(ready["download"])


#: Downloads answered 404 right after the rep was told ``ready`` (retried).
NOT_YET: list[str] = []


async def rep_download(s: Session, http: httpx.AsyncClient, link: str, size: int) -> float:
    """Seconds for the whole body; a 404 is retried for up to 10 s and noted
    in ``NOT_YET`` (the link should work the moment it is handed out)."""
    deadline = time.monotonic() + 10
    while True:
        started = time.monotonic()
        got = 0
        async with http.stream("GET", link) as r:
            if r.status_code == 404 and time.monotonic() < deadline:
                NOT_YET.append(link)
                await asyncio.sleep(0.05)
                continue
            r.raise_for_status()
            async for part in r.aiter_raw(1 << 20):
                got += len(part)
        took = time.monotonic() - started
        assert got == size, (got, size)
        return took


async def rep_http(s: Session) -> httpx.AsyncClient:
    http = httpx.AsyncClient(base_url=s.server.url, timeout=TIMEOUT)
    await login_retrying(http, s.username, s.password)
    return http


async def to_agent(s: Session, data: bytes, digest: str) -> float:
    name = f"to-{secrets.token_hex(3)}.bin"
    up = Upload(s.rep, data, name, session_id=s.session_id, to="computer")
    started = time.monotonic()
    await up.offer()
    s.answer("y")  # the visitor saves it
    await up.send_all(TIMEOUT)
    await up.end(digest)
    done = await wait_state(s.rep, up.id, "delivered", TIMEOUT)
    took = time.monotonic() - started
    saved = s.inbox / name
    assert done["sha256"] == digest and saved.stat().st_size == len(data), (done, saved)
    saved.unlink()
    return took


async def from_agent(s: Session, path: Path, digest: str) -> float:
    await s.rep.send({"t": "file.ask", "session_id": s.session_id, "note": "bench"})
    started = time.monotonic()
    s.answer(str(path))
    ready = await s.rep.expect("file.state", timeout=TIMEOUT, name=path.name, status="ready")
    took = time.monotonic() - started
    assert ready["sha256"] == digest and ready["via"] == "agent", ready
    return took


class Loop:
    """Runs ``one()`` back to back until stopped; counts bytes and seconds of
    the transfers that finished (the rate while beside the busy screen)."""

    def __init__(self, one: Callable[[], Awaitable[float]], size: int) -> None:
        self.one, self.size = one, size
        self.done_bytes = 0
        self.done_s = 0.0
        self.count = 0
        self.started = asyncio.Event()
        self._stop = False
        self.task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        while not self._stop:
            self.started.set()
            took = await self.one()
            self.done_bytes += self.size
            self.done_s += took
            self.count += 1

    async def stop(self) -> None:
        """Lets the transfer in flight finish."""
        self._stop = True
        await self.task

    @property
    def mb_per_s(self) -> float:
        return self.done_bytes / 1e6 / self.done_s if self.done_s else float("nan")


__all__ = ["NOT_YET", "Loop", "browser_upload", "from_agent", "rep_download", "rep_http", "sha", "to_agent"]
