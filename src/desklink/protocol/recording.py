"""Screen recordings: the session's own stream, in hash-chained segments.

Theory of operation
-------------------
A recording is what the relay forwards to the rep holding the session, with
the time it went by: screen messages exactly as delivered to viewers
(channel byte included: frames, video chunks, cursor shapes, pointer
positions) and the JSON control messages a replay needs (annotations,
control events, screen state). It is written in *segments*, each closed at
least every ``recording_segment_s`` seconds, so a crash (``kill -9``) loses
at most the open segment.

Every segment proves its own bytes (a trailer holding the SHA-256 of all
before it) and its place (its header holds the SHA-256 of the previous
segment's complete bytes, or zeros for the first). So a truncated or flipped
segment fails its trailer; a removed, reordered or replaced segment breaks
the chain. Only the newest segment has nothing after it to vouch for it:
its hash is also kept in the database (``recordings.head_hash``) and
:func:`verify` compares it when given.

Rules:

1. Nothing is replayed silently past damage: :func:`read_segment` raises
   :class:`RecordingDamaged` and :func:`verify` says up to where the
   recording holds ("verified up to segment N at t=..., then ...").
2. A segment holds what a replay can paint from whenever the screen moves
   in it: the recorder asks the agent for a key frame (the relay's
   ``screen.refresh`` path) as a segment opens after a change, or at the
   first change in a segment without one, and the header notes the time of
   the segment's first key frame. A replay seeking to t paints from the
   newest key frame at or before t (an idle segment has none and needs
   none: nothing changed since the one before).
3. Every size is bounded (:data:`MAX_RECORD_BYTES`, :data:`MAX_SEGMENT_BYTES`);
   a reader never trusts a length it has not checked against what is left.

Format (integers big-endian)::

    segment := header | record* | trailer
    header  := "DLRECSEG" | u16 version=1 | u8 id_len | session_id[id_len]
               | u32 segment_no | u32 start_t_ms | u32 end_t_ms
               | u32 first_key_t_ms (NO_KEY: none) | u32 records
               | prev_sha256[32]
    record  := u32 t_ms | u8 kind | u32 length | payload[length]
    trailer := "DLRECEND" | sha256[32] (of header and records)

``t_ms`` counts from the start of the recording (not of the segment).
Kinds: 1 SCREEN (frame or video chunk, channel byte first), 2 CURSOR (shape),
3 POINTER (position), 4 EVENT (a UTF-8 JSON control message as viewers got it).
Sans-I/O: bytes in, records out.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import IntEnum

from desklink.errors import DeskLinkError
from desklink.protocol import screen

MAGIC = b"DLRECSEG"
TRAILER_MAGIC = b"DLRECEND"
VERSION = 1
ZERO_HASH = bytes(32)
#: ``first_key_t_ms`` of a segment without a key frame.
NO_KEY = 0xFFFFFFFF
#: Largest record payload: a 4K key frame with room to spare.
MAX_RECORD_BYTES = 32 * 1024 * 1024
#: Largest segment; the recorder closes a segment early when it would pass
#: this, so a burst of frames never holds more than this in memory.
MAX_SEGMENT_BYTES = 64 * 1024 * 1024
#: Longest session id in a header (ids are 32-hex tokens today).
MAX_SESSION_ID = 128

_HEAD = struct.Struct(">8sHB")
_HEAD_TAIL = struct.Struct(">IIIII32s")
_RECORD = struct.Struct(">IBI")
TRAILER_BYTES = len(TRAILER_MAGIC) + 32


class Kind(IntEnum):
    SCREEN = 1
    CURSOR = 2
    POINTER = 3
    EVENT = 4


class RecordingDamaged(DeskLinkError):
    """A segment that is not what was written: ``segment`` is its number,
    ``what`` says how (``truncated``, ``corrupted``, ``chain``, ``missing``,
    ``head``, ``bad``)."""

    code = "recording_damaged"

    def __init__(self, segment: int, what: str, detail: str = "") -> None:
        super().__init__(f"segment {segment} is {what}" + (f": {detail}" if detail else ""))
        self.segment = segment
        self.what = what
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Record:
    t_ms: int
    kind: Kind
    payload: bytes


@dataclass(frozen=True, slots=True)
class SegmentHeader:
    session_id: str
    number: int
    start_t_ms: int
    end_t_ms: int
    first_key_t_ms: int | None
    records: int
    prev_hash: bytes


def is_key(payload: bytes) -> bool:
    """A SCREEN record a replay can paint from alone (a KEY frame or chunk)."""
    return (
        len(payload) >= 3 and payload[1] in (screen.KIND_FRAME, screen.KIND_VIDEO) and bool(payload[2] & screen.FLAG_KEY)
    )


def segment_hash(data: bytes) -> bytes:
    """What the next segment's header (or the database head) holds."""
    return hashlib.sha256(data).digest()


class SegmentBuilder:
    """Records in, the bytes of one closed segment out."""

    def __init__(self, session_id: str, number: int, start_t_ms: int, prev_hash: bytes = ZERO_HASH) -> None:
        sid = session_id.encode()
        if not 0 < len(sid) <= MAX_SESSION_ID:
            raise ValueError(f"a session id is 1 to {MAX_SESSION_ID} bytes")
        if len(prev_hash) != 32:
            raise ValueError("prev_hash is a SHA-256 digest")
        self.session_id = session_id
        self.number = number
        self.start_t_ms = start_t_ms
        self.prev_hash = prev_hash
        self.first_key_t_ms: int | None = None
        self.end_t_ms = start_t_ms
        self.records = 0
        self._body: list[bytes] = []
        self.size = _HEAD.size + len(sid) + _HEAD_TAIL.size + TRAILER_BYTES

    def add(self, t_ms: int, kind: Kind, payload: bytes) -> None:
        if len(payload) > MAX_RECORD_BYTES:
            raise ValueError(f"a record is at most {MAX_RECORD_BYTES} bytes")
        t_ms = max(t_ms, self.end_t_ms)  # time never runs backwards within a recording
        if kind == Kind.SCREEN and self.first_key_t_ms is None and is_key(payload):
            self.first_key_t_ms = t_ms
        self._body.append(_RECORD.pack(t_ms, kind, len(payload)))
        self._body.append(payload)
        self.end_t_ms = t_ms
        self.records += 1
        self.size += _RECORD.size + len(payload)

    def would_overflow(self, payload_bytes: int) -> bool:
        return self.records > 0 and self.size + _RECORD.size + payload_bytes > MAX_SEGMENT_BYTES

    def close(self, end_t_ms: int | None = None) -> bytes:
        end = max(self.end_t_ms, end_t_ms or 0)
        sid = self.session_id.encode()
        key = NO_KEY if self.first_key_t_ms is None else self.first_key_t_ms
        head = _HEAD.pack(MAGIC, VERSION, len(sid)) + sid + _HEAD_TAIL.pack(
            self.number, self.start_t_ms, end, key, self.records, self.prev_hash
        )
        h = hashlib.sha256(head)
        for part in self._body:
            h.update(part)
        return b"".join([head, *self._body, TRAILER_MAGIC, h.digest()])


def read_header(data: bytes, number: int = -1) -> tuple[SegmentHeader, int]:
    """The header and the offset of the first record (no trailer check)."""
    if len(data) < _HEAD.size:
        raise RecordingDamaged(number, "truncated", "shorter than a header")
    magic, version, id_len = _HEAD.unpack_from(data)
    if magic != MAGIC:
        raise RecordingDamaged(number, "bad", "not a DeskLink recording segment")
    if version != VERSION:
        raise RecordingDamaged(number, "bad", f"version {version} (this DeskLink reads {VERSION})")
    at = _HEAD.size
    if len(data) < at + id_len + _HEAD_TAIL.size:
        raise RecordingDamaged(number, "truncated", "shorter than a header")
    try:
        sid = data[at : at + id_len].decode()
    except UnicodeDecodeError:
        raise RecordingDamaged(number, "corrupted", "session id is not text") from None
    at += id_len
    no, start, end, key, records, prev = _HEAD_TAIL.unpack_from(data, at)
    header = SegmentHeader(sid, no, start, end, None if key == NO_KEY else key, records, prev)
    return header, at + _HEAD_TAIL.size


def check_trailer(data: bytes, number: int = -1) -> None:
    if len(data) < TRAILER_BYTES or data[-TRAILER_BYTES:-32] != TRAILER_MAGIC:
        raise RecordingDamaged(number, "truncated", "its trailer is missing")
    if hashlib.sha256(memoryview(data)[:-TRAILER_BYTES]).digest() != data[-32:]:
        raise RecordingDamaged(number, "corrupted", "its bytes do not match its trailer")


def read_segment(data: bytes, number: int = -1) -> tuple[SegmentHeader, list[Record]]:
    """Check a segment's trailer, then parse it: its header and records, or
    :class:`RecordingDamaged`. Does not check the chain (see :func:`verify`)."""
    if len(data) > MAX_SEGMENT_BYTES + 1024:
        raise RecordingDamaged(number, "bad", f"over {MAX_SEGMENT_BYTES} bytes")
    header, at = read_header(data, number)
    check_trailer(data, number)
    end = len(data) - TRAILER_BYTES
    records: list[Record] = []
    while at < end:
        if end - at < _RECORD.size:
            raise RecordingDamaged(number, "corrupted", "a record header runs past the end")
        t_ms, kind, length = _RECORD.unpack_from(data, at)
        at += _RECORD.size
        if length > min(MAX_RECORD_BYTES, end - at):
            raise RecordingDamaged(number, "corrupted", "a record runs past the end")
        try:
            k = Kind(kind)
        except ValueError:
            raise RecordingDamaged(number, "corrupted", f"unknown record kind {kind}") from None
        records.append(Record(t_ms, k, data[at : at + length]))
        at += length
    if len(records) != header.records:
        raise RecordingDamaged(number, "corrupted", "its record count does not match")
    return header, records


@dataclass
class Verification:
    """How far a recording holds. ``ok``: every segment and the chain verify
    (and the head, when it was given)."""

    segments: int = 0  # segments that verified, in order from 0
    last_segment: int | None = None
    verified_to_t_ms: int = 0
    problem: RecordingDamaged | None = None
    index: list[SegmentHeader] = field(default_factory=list)
    #: Segments stored after the newest one the database confirms (a crash
    #: between writing one and recording its hash): set by the reader that
    #: cuts the chain there, never replayed.
    unconfirmed: int = 0

    @property
    def ok(self) -> bool:
        return self.problem is None

    def describe(self) -> str:
        if self.last_segment is None:
            reach = "nothing verified"
        else:
            reach = f"verified up to segment {self.last_segment} at t={self.verified_to_t_ms / 1000:.3f} s"
        if self.problem is None:
            return f"ok: {self.segments} segments, {reach}"
        return f"{reach}, then {self.problem}"


def verify(
    segments: Iterable[tuple[int, bytes]], session_id: str, head_hash: bytes | None = None
) -> Verification:
    """Check a recording's segments (numbered as stored, in order) end to end:
    each trailer, the numbering (a gap is a missing segment), the chain, and
    the newest one's hash against ``head_hash`` (from the database) if given.
    Stops at the first problem and says where."""
    result = Verification()
    prev = ZERO_HASH
    expected = 0
    for number, data in segments:
        try:
            if number != expected:
                raise RecordingDamaged(expected, "missing", f"the next stored segment is {number}")
            header, _ = read_segment(data, number)
            if header.number != number or header.session_id != session_id:
                raise RecordingDamaged(number, "chain", "it belongs to another place or session")
            if header.prev_hash != prev:
                raise RecordingDamaged(number, "chain", "it does not follow the segment before it")
        except RecordingDamaged as exc:
            result.problem = exc
            return result
        prev = segment_hash(data)
        result.index.append(header)
        result.segments += 1
        result.last_segment = number
        result.verified_to_t_ms = header.end_t_ms
        expected += 1
    if head_hash is not None and prev != head_hash:
        last = expected - 1
        if expected == 0:
            result.problem = RecordingDamaged(0, "missing", "the database holds a newer segment than is stored")
        else:
            result.problem = RecordingDamaged(last, "head", "it is not the newest segment the database knows")
    return result


def replay(segments: Iterable[tuple[int, bytes]], session_id: str) -> Iterator[Record]:
    """Every record in order, verifying as it goes: raises
    :class:`RecordingDamaged` before yielding anything of a damaged segment."""
    prev = ZERO_HASH
    for expected, (number, data) in enumerate(segments):
        if number != expected:
            raise RecordingDamaged(expected, "missing")
        header, records = read_segment(data, number)
        if header.prev_hash != prev or header.session_id != session_id or header.number != number:
            raise RecordingDamaged(number, "chain", "it does not follow the segment before it")
        prev = segment_hash(data)
        yield from records


class Recorder:
    """The writing side's clock and chain: records in (with the relay's
    monotonic time), closed segments out when they are due.

    ``add`` and ``tick`` return the bytes of a segment that closed (or None);
    ``wants_key`` turns True when a segment opened after the screen changed,
    for the adapter to ask the agent for a key frame once."""

    def __init__(self, session_id: str, started: float, segment_s: float) -> None:
        self.session_id = session_id
        self.started = started
        self.segment_s = segment_s
        self.number = 0
        self.prev_hash = ZERO_HASH
        self._open: SegmentBuilder | None = None
        self._opened_at = started
        self._changed_since_key = False
        self.wants_key = True

    def t_ms(self, now: float) -> int:
        return max(0, int((now - self.started) * 1000))

    def add(self, now: float, kind: Kind, payload: bytes) -> bytes | None:
        closed = self.tick(now)
        if self._open is not None and self._open.would_overflow(len(payload)):
            closed = self._close(now)  # pragma: no cover - only past MAX_SEGMENT_BYTES
        if self._open is None:
            self._open = SegmentBuilder(self.session_id, self.number, self.t_ms(now), self.prev_hash)
            self._opened_at = now
            if self._changed_since_key:
                self.wants_key = True
        if kind == Kind.SCREEN:
            if is_key(payload):
                self._changed_since_key = False
                self.wants_key = False
            else:
                self._changed_since_key = True
                if self._open.first_key_t_ms is None:
                    self.wants_key = True  # the screen moved in a segment with nothing to paint from
        self._open.add(self.t_ms(now), kind, payload)
        return closed

    def tick(self, now: float) -> bytes | None:
        if self._open is not None and now - self._opened_at >= self.segment_s:
            return self._close(now)
        return None

    def finish(self, now: float) -> bytes | None:
        return self._close(now) if self._open is not None else None

    def _close(self, now: float) -> bytes | None:
        if self._open is None:
            return None
        data = self._open.close(self.t_ms(now))
        self._open = None
        self.prev_hash = segment_hash(data)
        self.number += 1
        return data

    @property
    def open_records(self) -> int:
        return 0 if self._open is None else self._open.records


__all__ = [
    "Kind",
    "Record",
    "Recorder",
    "RecordingDamaged",
    "SegmentBuilder",
    "SegmentHeader",
    "Verification",
    "is_key",
    "read_segment",
    "replay",
    "segment_hash",
    "verify",
]
