"""The recording format: round trips, every kind of damage detected and
named (flipped byte, truncated, removed, reordered, replaced last segment
against the database head), the recorder's clock and key-frame asks, and
Hypothesis fuzzing of the reader (anything in: records or RecordingDamaged)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desklink.protocol import recording as rec
from desklink.protocol import screen
from desklink.protocol.framing import Channel, encode_frame

SID = "s" * 32


def key_frame(seq: int) -> bytes:
    f = screen.Frame(seq, 0, 64, 48, [screen.Rect.fill(0, 0, 64, 48, (1, 2, 3))], flags=screen.FLAG_KEY)
    return encode_frame(Channel.SCREEN, f.encode())


def delta(seq: int) -> bytes:
    f = screen.Frame(seq, 0, 64, 48, [screen.Rect.fill(1, 1, 2, 2, (9, 9, 9))])
    return encode_frame(Channel.SCREEN, f.encode())


def make(n: int = 4, segment_s: float = 2.0) -> list[tuple[int, bytes]]:
    """A recording of ``n`` segments, one second of records apart."""
    r = rec.Recorder(SID, started=100.0, segment_s=segment_s)
    out: list[bytes] = []
    t = 100.0
    seq = 0
    while len(out) < n:
        seq += 1
        payload = key_frame(seq) if r.wants_key else delta(seq)
        closed = r.add(t, rec.Kind.SCREEN, payload)
        if closed:
            out.append(closed)
        r.add(t + 0.1, rec.Kind.EVENT, b'{"type":"screen.state"}')
        t += 1.0
    return list(enumerate(out))


class TestRoundTrip:
    def test_records_come_back_in_order_with_times(self) -> None:
        b = rec.SegmentBuilder(SID, 0, 0)
        b.add(0, rec.Kind.SCREEN, key_frame(1))
        b.add(40, rec.Kind.POINTER, encode_frame(Channel.SCREEN, screen.Pointer(3, 4).encode()))
        b.add(90, rec.Kind.EVENT, b'{"type":"annotate"}')
        data = b.close(100)
        header, records = rec.read_segment(data, 0)
        assert header.session_id == SID and header.number == 0
        assert (header.start_t_ms, header.end_t_ms, header.first_key_t_ms, header.records) == (0, 100, 0, 3)
        assert [(r.t_ms, r.kind) for r in records] == [(0, rec.Kind.SCREEN), (40, rec.Kind.POINTER), (90, rec.Kind.EVENT)]
        assert records[0].payload == key_frame(1)

    def test_a_segment_without_key_frame_says_so(self) -> None:
        b = rec.SegmentBuilder(SID, 0, 0)
        b.add(5, rec.Kind.SCREEN, delta(1))
        header, _ = rec.read_segment(b.close(), 0)
        assert header.first_key_t_ms is None

    def test_a_whole_recording_verifies_and_replays(self) -> None:
        segs = make(5)
        result = rec.verify(segs, SID, rec.segment_hash(segs[-1][1]))
        assert result.ok, result.describe()
        assert result.segments == 5 and result.last_segment == 4
        assert result.verified_to_t_ms == result.index[-1].end_t_ms > 0
        records = list(rec.replay(segs, SID))
        times = [r.t_ms for r in records]
        assert times == sorted(times)
        assert "ok: 5 segments" in result.describe()

    def test_every_segment_holds_a_key_frame_noted_in_its_header(self) -> None:
        for _, data in make(4):
            header, records = rec.read_segment(data)
            keys = [r.t_ms for r in records if r.kind == rec.Kind.SCREEN and rec.is_key(r.payload)]
            if any(r.kind == rec.Kind.SCREEN for r in records):
                assert keys and header.first_key_t_ms == keys[0]


class TestDamage:
    def test_flipped_byte_fails_the_trailer(self) -> None:
        segs = make(3)
        n, data = segs[1]
        bad = bytearray(data)
        bad[len(bad) // 2] ^= 0x01
        segs[1] = (n, bytes(bad))
        result = rec.verify(segs, SID)
        assert not result.ok and result.problem is not None
        assert (result.problem.segment, result.problem.what) == (1, "corrupted")
        assert result.last_segment == 0
        assert result.describe().startswith("verified up to segment 0 at t=")
        with pytest.raises(rec.RecordingDamaged) as exc:
            list(rec.replay(segs, SID))
        assert exc.value.segment == 1

    def test_replay_yields_nothing_of_a_damaged_segment(self) -> None:
        segs = make(2)
        segs[1] = (1, segs[1][1][:-1])
        got = []
        with pytest.raises(rec.RecordingDamaged):
            for r in rec.replay(segs, SID):
                got.append(r)
        first = rec.read_segment(segs[0][1])[1]
        assert got == first

    @pytest.mark.parametrize("cut", [1, 20, 40, 100])
    def test_truncated(self, cut: int) -> None:
        segs = make(3)
        segs[2] = (2, segs[2][1][:-cut])
        result = rec.verify(segs, SID)
        assert result.problem is not None
        assert (result.problem.segment, result.problem.what) in ((2, "truncated"), (2, "corrupted"))
        assert result.segments == 2

    def test_removed_segment_is_missing(self) -> None:
        segs = make(4)
        del segs[1]
        result = rec.verify(segs, SID)
        assert result.problem is not None
        assert (result.problem.segment, result.problem.what) == (1, "missing")

    def test_removed_segment_renumbered_breaks_the_chain(self) -> None:
        segs = make(4)
        data = [d for _, d in segs]
        del data[1]
        result = rec.verify(list(enumerate(data)), SID)
        assert result.problem is not None
        assert (result.problem.segment, result.problem.what) == (1, "chain")

    def test_reordered_segments_break_the_chain(self) -> None:
        segs = make(4)
        data = [d for _, d in segs]
        data[1], data[2] = data[2], data[1]
        result = rec.verify(list(enumerate(data)), SID)
        assert result.problem is not None and result.problem.what == "chain"
        assert result.problem.segment == 1

    def test_replaced_middle_segment_breaks_the_chain(self) -> None:
        segs = make(3)
        forged = rec.SegmentBuilder(SID, 1, 0, rec.segment_hash(segs[0][1]))
        forged.add(0, rec.Kind.EVENT, b"{}")
        segs[1] = (1, forged.close())
        result = rec.verify(segs, SID)
        assert result.problem is not None and (result.problem.segment, result.problem.what) == (2, "chain")

    def test_replaced_last_segment_is_caught_only_by_the_head_hash(self) -> None:
        segs = make(3)
        head = rec.segment_hash(segs[-1][1])
        forged = rec.SegmentBuilder(SID, 2, 0, rec.segment_hash(segs[1][1]))
        forged.add(0, rec.Kind.EVENT, b"{}")
        segs[2] = (2, forged.close())
        assert rec.verify(segs, SID).ok  # the chain alone cannot tell
        result = rec.verify(segs, SID, head)
        assert result.problem is not None and (result.problem.segment, result.problem.what) == (2, "head")

    def test_removed_last_segment_is_caught_by_the_head_hash(self) -> None:
        segs = make(3)
        head = rec.segment_hash(segs[-1][1])
        result = rec.verify(segs[:-1], SID, head)
        assert result.problem is not None and result.problem.what == "head"
        assert rec.verify([], SID, head).problem is not None

    def test_segment_of_another_session(self) -> None:
        other = rec.SegmentBuilder("t" * 32, 0, 0)
        other.add(0, rec.Kind.EVENT, b"{}")
        result = rec.verify([(0, other.close())], SID)
        assert result.problem is not None and result.problem.what == "chain"

    def test_not_a_segment(self) -> None:
        with pytest.raises(rec.RecordingDamaged) as exc:
            rec.read_segment(b"GIF89a" + bytes(200), 3)
        assert exc.value.segment == 3 and exc.value.what == "bad"


class TestLimits:
    def test_record_past_the_limit_is_refused(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(rec, "MAX_RECORD_BYTES", 10)
        b = rec.SegmentBuilder(SID, 0, 0)
        with pytest.raises(ValueError, match="at most 10"):
            b.add(0, rec.Kind.EVENT, bytes(11))

    def test_recorder_closes_early_past_the_segment_limit(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(rec, "MAX_SEGMENT_BYTES", 400)
        r = rec.Recorder(SID, 0.0, 100.0)
        closed = [c for i in range(10) if (c := r.add(i * 0.01, rec.Kind.EVENT, bytes(100)))]
        assert closed and all(len(c) <= 400 for c in closed)

    def test_session_id_bounds(self) -> None:
        with pytest.raises(ValueError):
            rec.SegmentBuilder("x" * (rec.MAX_SESSION_ID + 1), 0, 0)


class TestRecorder:
    def test_segments_close_when_due_and_at_finish(self) -> None:
        r = rec.Recorder(SID, 0.0, 2.0)
        assert r.add(0.0, rec.Kind.SCREEN, key_frame(1)) is None
        assert r.tick(1.9) is None
        first = r.tick(2.0)
        assert first is not None
        r.add(2.5, rec.Kind.EVENT, b"{}")
        last = r.finish(3.0)
        assert last is not None and r.finish(3.1) is None
        assert rec.verify([(0, first), (1, last)], SID, r.prev_hash).ok

    def test_key_frame_asked_when_a_segment_opens_after_a_change(self) -> None:
        r = rec.Recorder(SID, 0.0, 1.0)
        assert r.wants_key  # the very first segment
        r.add(0.0, rec.Kind.SCREEN, key_frame(1))
        assert not r.wants_key
        r.add(0.5, rec.Kind.EVENT, b"{}")
        r.tick(1.0)
        r.add(1.2, rec.Kind.EVENT, b"{}")
        assert not r.wants_key  # nothing changed since the key frame
        r.add(1.3, rec.Kind.SCREEN, delta(2))
        r.tick(2.3)
        r.add(2.4, rec.Kind.POINTER, b"\x02\x03\x00\x01\x00\x01")
        assert r.wants_key


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_fuzz_reader(data: bytes) -> None:
    try:
        rec.read_segment(data)
    except rec.RecordingDamaged:
        pass


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 10_000), st.integers(0, 255))
def test_fuzz_any_flipped_byte_is_caught(where: int, mask: int) -> None:
    segs = make(2)
    data = bytearray(segs[1][1])
    data[where % len(data)] ^= mask or 1
    segs[1] = (1, bytes(data))
    assert not rec.verify(segs, SID).ok
