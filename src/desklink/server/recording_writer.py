"""The recording writer: the relay's ``Record`` effects in, durable segments out.

Theory of operation: the relay core emits :class:`~desklink.relay.effects.Record`
effects while a session is recorded; the pump hands them to
:meth:`RecordingHub.put`, which never waits: it feeds the session's
:class:`~desklink.protocol.recording.Recorder` (pure, in memory) and queues
each closed segment. One writer task stores the queued segments in order,
through the :class:`~.recording_store.RecordingStore` port in a worker thread,
and then moves the database's head hash to the segment just stored. A clock
task closes segments that are due (``recording_segment_s``) even when
nothing new arrives, so a crash loses at most the open segment.

Bounded memory: closed segments waiting for the disk are at most
``recording_max_pending_bytes`` for the node; past it the recording of the
session that would pass it fails (the relay never waits for the disk, and
a recording with a hole would not verify). A store failure (full disk,
permission) fails that session's recording: ``on_failure`` tells the relay
(which tells the viewers and the visitor, and under ``always`` stops
sharing), and the ``recordings`` row says why.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from desklink.protocol import recording as rec
from desklink.relay.effects import Record
from desklink.server.recording_store import RecordingStorageFailed, RecordingStore
from desklink.store import Store

if TYPE_CHECKING:
    from desklink.server.metrics import Metrics

log = logging.getLogger("desklink.recording")

_KINDS = {"screen": rec.Kind.SCREEN, "cursor": rec.Kind.CURSOR, "pointer": rec.Kind.POINTER, "event": rec.Kind.EVENT}
FELL_BEHIND = "the recording fell behind the disk"
#: How often the clock closes due segments, as a share of ``segment_s``.
_CLOCK_SHARE = 0.25


@dataclass
class _Session:
    request_id: str
    recorder: rec.Recorder
    active: bool = True
    failed: str | None = None
    asked_key_for: int = 0
    started_row: bool = False


@dataclass
class _Job:
    session_id: str
    request_id: str
    kind: str  # "start" | "segment" | "end"
    number: int = 0
    data: bytes = b""
    end_t_ms: int = 0
    done: asyncio.Event = field(default_factory=asyncio.Event)
    #: When the job was queued (the recording lag is measured from here).
    queued: float = field(default_factory=time.monotonic)


class RecordingHub:
    def __init__(
        self,
        store: Store,
        segments: RecordingStore,
        *,
        segment_s: float,
        max_pending_bytes: int,
        on_failure: Callable[[str, str], object] | None = None,
        on_key: Callable[[str], object] | None = None,
    ) -> None:
        self.store = store
        self.segments = segments
        self.segment_s = segment_s
        self.max_pending_bytes = max_pending_bytes
        self.on_failure = on_failure
        self.on_key = on_key
        self.sessions: dict[str, _Session] = {}
        self._jobs: deque[_Job] = deque()
        self._ready = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self.pending_bytes = 0
        self.segments_written = 0
        self.bytes_written = 0
        self.failures = 0
        #: The node's metrics (recording lag), set by the app.
        self.metrics: Metrics | None = None

    # -------------------------------------------------------- the tap side
    def put(self, r: Record) -> None:
        """One effect from the relay; never blocks, never raises into the relay."""
        try:
            self._put(r)
        except Exception:  # pragma: no cover - a bug here must not break forwarding
            log.exception("recording of session %s failed", r.session_id)

    def _put(self, r: Record) -> None:
        s = self.sessions.get(r.session_id)
        if r.kind == "start":
            if s is None:
                s = self.sessions[r.session_id] = _Session(r.request_id, rec.Recorder(r.session_id, r.at, self.segment_s))
            s.active, s.failed = True, None
            s.asked_key_for = s.recorder.number  # the relay asks for a key frame as recording starts
            self._queue(_Job(r.session_id, r.request_id, "start"))
            return
        if s is None or not s.active:
            return
        if r.kind == "stop":
            self._close(r.session_id, s, s.recorder.finish(r.at))
            s.active = False
            self._queue(_Job(r.session_id, r.request_id, "end", end_t_ms=s.recorder.t_ms(r.at)))
            return
        closed = s.recorder.add(r.at, _KINDS[r.kind], r.data)
        self._close(r.session_id, s, closed)
        if s.recorder.wants_key and s.asked_key_for != s.recorder.number and s.active:
            s.asked_key_for = s.recorder.number
            if self.on_key is not None:
                self.on_key(r.session_id)

    def tick(self, now: float) -> None:
        """Close every segment that is due."""
        for sid, s in list(self.sessions.items()):
            if s.active:
                self._close(sid, s, s.recorder.tick(now))

    def _close(self, session_id: str, s: _Session, data: bytes | None) -> None:
        if data is None or not s.active:
            return
        if self.pending_bytes + len(data) > self.max_pending_bytes:
            self._fail(session_id, s, FELL_BEHIND)
            return
        header, _ = rec.read_header(data)
        self.pending_bytes += len(data)
        self._queue(_Job(session_id, s.request_id, "segment", header.number, data, header.end_t_ms))

    def _queue(self, job: _Job) -> None:
        self._jobs.append(job)
        self._idle.clear()
        self._ready.set()

    def _fail(self, session_id: str, s: _Session, error: str) -> None:
        if s.failed is not None:
            return
        s.failed, s.active = error, False
        self.failures += 1
        log.warning("recording of session %s failed: %s", session_id, error)
        self._queue(_Job(session_id, s.request_id, "end", data=error.encode()))
        if self.on_failure is not None:
            self.on_failure(session_id, error)

    def forget(self, session_id: str) -> None:
        self.sessions.pop(session_id, None)

    # -------------------------------------------------------- the disk side
    async def run(self) -> None:
        """The writer and the clock (one task each)."""
        clock = asyncio.create_task(self._clock())
        try:
            await self._write_loop()
        finally:
            clock.cancel()

    async def _clock(self) -> None:
        while True:
            await asyncio.sleep(self.segment_s * _CLOCK_SHARE)
            self.tick(time.monotonic())

    async def _write_loop(self) -> None:
        while True:
            await self._ready.wait()
            self._ready.clear()
            while self._jobs:
                job = self._jobs.popleft()
                try:
                    await self._do(job)
                except Exception:
                    log.exception("recording job %s of session %s failed", job.kind, job.session_id)
                finally:
                    if job.kind == "segment":
                        self.pending_bytes -= len(job.data)
                    job.done.set()
            self._idle.set()

    async def _do(self, job: _Job) -> None:
        s = self.sessions.get(job.session_id)
        now = datetime.now(UTC)
        if job.kind == "start":
            await self.store.start_recording(job.session_id, job.request_id, now)
            return
        if job.kind == "end":
            await self.store.end_recording(job.session_id, now, error=job.data.decode())
            return
        if s is not None and s.failed is not None:
            return  # nothing after a hole
        try:
            await asyncio.to_thread(self.segments.write_segment, job.session_id, job.number, job.data)
        except RecordingStorageFailed as exc:
            if s is not None:
                self._fail(job.session_id, s, exc.message)
            return
        await self.store.add_recording_segment(
            job.session_id, job.number, len(job.data), rec.segment_hash(job.data).hex(), job.end_t_ms
        )
        self.segments_written += 1
        self.bytes_written += len(job.data)
        if self.metrics is not None:
            self.metrics.recording_lag.observe(time.monotonic() - job.queued)

    async def drain(self) -> None:
        """Wait until everything queued so far is stored (shutdown, tests)."""
        await self._idle.wait()

    async def finish_all(self, now: float) -> None:
        """Shutdown: close every open segment and store it."""
        for sid, s in list(self.sessions.items()):
            if s.active:
                self._close(sid, s, s.recorder.finish(now))
                s.active = False
                self._queue(_Job(sid, s.request_id, "end", end_t_ms=s.recorder.t_ms(now)))
        await self.drain()

    def statistics(self) -> dict[str, int]:
        return {
            "recording": sum(1 for s in self.sessions.values() if s.active),
            "pending_bytes": self.pending_bytes,
            "segments_written": self.segments_written,
            "bytes_written": self.bytes_written,
            "failures": self.failures,
        }


__all__ = ["FELL_BEHIND", "RecordingHub"]
