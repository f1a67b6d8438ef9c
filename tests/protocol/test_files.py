"""The file transfer machine (protocol/files.py) without any I/O: the chunk
codec, the Sender's credit window, naks and resume, the Receiver's in-order
rule, and a lossy, reordering, corrupting wire on which every transfer still
ends with identical bytes."""

from __future__ import annotations

import random
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desklink.errors import ProtocolError
from desklink.protocol.files import (
    CHUNK_HEAD_BYTES,
    FINAL,
    Chunk,
    Nak,
    Receiver,
    Sender,
    Take,
    decode_chunk,
    encode_chunk,
)

TID = 42


def chunk(offset: int, data: bytes, *, crc: int | None = None, tid: int = TID) -> Chunk:
    return Chunk(tid, offset, zlib.crc32(data) if crc is None else crc, data)


# ------------------------------------------------------------------ codec


def test_chunk_round_trip() -> None:
    payload = encode_chunk(TID, 2**40, b"hello")
    assert len(payload) == CHUNK_HEAD_BYTES + 5
    c = decode_chunk(payload, 16)
    assert (c.transfer_id, c.offset, c.crc32, c.data, c.end) == (TID, 2**40, zlib.crc32(b"hello"), b"hello", 2**40 + 5)


@pytest.mark.parametrize(
    "payload, code",
    [
        (b"", "bad_message"),
        (encode_chunk(TID, 0, b"x")[:CHUNK_HEAD_BYTES], "bad_message"),  # a head and no data
        (b"\x02" + encode_chunk(TID, 0, b"x")[1:], "bad_type"),
        (encode_chunk(TID, 0, b"x" * 17), "too_large"),  # one byte past the chunk size
    ],
)
def test_decode_refuses(payload: bytes, code: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        decode_chunk(payload, 16)
    assert caught.value.code == code


def test_decode_takes_exactly_the_chunk_size() -> None:
    assert decode_chunk(encode_chunk(TID, 0, b"x" * 16), 16).data == b"x" * 16


@given(st.binary(max_size=64))
def test_decode_never_raises_anything_else(payload: bytes) -> None:
    try:
        decode_chunk(payload, 32)
    except ProtocolError:
        pass


def test_final_statuses() -> None:
    assert FINAL == {"delivered", "refused", "cancelled", "failed", "expired"}


# ------------------------------------------------------------------ receiver


def test_receiver_takes_in_order_and_grants_credit() -> None:
    r = Receiver(TID, size=10, window_bytes=4)
    assert r.until == 4
    first = r.feed(chunk(0, b"abc"))
    assert isinstance(first, Take) and (first.acked, first.until) == (3, 7)
    second = r.feed(chunk(3, b"defg"))
    assert isinstance(second, Take) and (second.acked, second.until) == (7, 10)  # credit stops at the size
    assert not r.complete
    last = r.feed(chunk(7, b"hij"))
    assert isinstance(last, Take) and last.acked == 10 and r.complete and r.naks == 0


def test_receiver_refuses_a_chunk_past_the_credit() -> None:
    r = Receiver(TID, size=10, window_bytes=4)
    with pytest.raises(ProtocolError, match="past the credit") as caught:
        r.feed(chunk(0, b"abcde"))  # the window is 4
    assert caught.value.code == "bad_state" and r.acked == 0
    with pytest.raises(ProtocolError, match="past the credit"):
        r.feed(chunk(0, b"a"), until=0)  # paused: the caller grants nothing past acked
    assert r.acked == 0
    assert isinstance(r.feed(chunk(0, b"abcd")), Take)


def test_receiver_naks_a_bad_crc_and_takes_the_resend() -> None:
    r = Receiver(TID, size=6, window_bytes=100)
    bad = r.feed(chunk(0, b"abc", crc=zlib.crc32(b"abd")))
    assert bad == Nak(0, "checksum mismatch") and r.acked == 0 and r.naks == 1
    assert isinstance(r.feed(chunk(0, b"abc")), Take)
    assert r.acked == 3


def test_receiver_ignores_duplicates() -> None:
    r = Receiver(TID, size=6, window_bytes=100)
    r.feed(chunk(0, b"abc"))
    assert r.feed(chunk(0, b"abc")) is None
    assert r.feed(chunk(1, b"bc")) is None  # ends at or below what is held
    assert r.acked == 3 and r.naks == 0


def test_receiver_naks_out_of_order_once_until_the_expected_chunk_comes() -> None:
    r = Receiver(TID, size=12, window_bytes=100)
    r.feed(chunk(0, b"ab"))
    assert r.feed(chunk(4, b"ef")) == Nak(2, "out of order")
    assert r.feed(chunk(6, b"gh")) is None  # the sender is on its way back: no second nak
    assert r.feed(chunk(8, b"ij")) is None
    assert r.feed(chunk(1, b"bcd")) is None  # an overlapping chunk changes nothing either
    assert r.naks == 1
    assert isinstance(r.feed(chunk(2, b"cd")), Take)
    # Back in order: the next gap is naked again.
    assert r.feed(chunk(8, b"ij")) == Nak(4, "out of order")
    assert r.naks == 2


def test_receiver_refuses_other_transfers_and_bytes_past_the_end() -> None:
    r = Receiver(TID, size=4, window_bytes=100)
    with pytest.raises(ProtocolError):
        r.feed(chunk(0, b"ab", tid=TID + 1))
    with pytest.raises(ProtocolError) as caught:
        r.feed(chunk(2, b"abc"))
    assert caught.value.code == "too_large"
    assert r.acked == 0


def test_receiver_resumes_from_a_durable_offset() -> None:
    r = Receiver(TID, size=10, window_bytes=4, acked=6)
    assert r.until == 10
    assert r.feed(chunk(0, b"abcdef")) is None
    assert isinstance(r.feed(chunk(6, b"ghij")), Take) and r.complete
    with pytest.raises(ValueError):
        Receiver(TID, size=10, window_bytes=4, acked=11)
    with pytest.raises(ValueError):
        Receiver(TID, size=10, window_bytes=0)


def test_an_empty_file_is_complete_at_once() -> None:
    assert Receiver(TID, size=0, window_bytes=4).complete
    s = Sender(0, 4)
    assert s.finished and s.complete and s.next_span() is None


# ------------------------------------------------------------------ sender


def test_sender_respects_the_credit_window() -> None:
    s = Sender(size=10, chunk_bytes=3)
    assert s.next_span() is None  # no credit before the first ack
    s.ack(0, 5)
    assert s.next_span() == (0, 3)
    s.sent(3)
    assert s.next_span() == (3, 2)  # cut at the window's edge
    s.sent(5)
    assert s.next_span() is None
    s.ack(5, 10)
    assert s.next_span() == (5, 3)
    s.sent(8)
    assert s.next_span() == (8, 2)
    s.sent(10)
    assert s.finished and not s.complete and s.next_span() is None
    s.ack(10, 10)
    assert s.complete and s.resent_bytes == 0


def test_sender_sends_only_what_is_available() -> None:
    s = Sender(size=10, chunk_bytes=4)
    s.ack(0, 10)
    assert s.next_span(available=0) is None
    assert s.next_span(available=2) == (0, 2)
    s.sent(2)
    assert s.next_span(available=2) is None
    assert s.next_span(available=50) == (2, 4)


def test_sender_nak_rewinds_and_counts_resent_bytes() -> None:
    s = Sender(size=12, chunk_bytes=4)
    s.ack(0, 12)
    for end in (4, 8, 12):
        s.sent(end)
    s.ack(4, 12)
    s.nak(4)
    assert s.position == 4 and s.next_span() == (4, 4)
    s.sent(8)
    s.sent(12)
    assert s.resent_bytes == 8
    with pytest.raises(ProtocolError):
        s.nak(2)  # below what the receiver already acknowledged
    with pytest.raises(ProtocolError):
        s.nak(13)


def test_sender_pause_sends_nothing() -> None:
    s = Sender(size=10, chunk_bytes=4)
    s.ack(0, 10)
    s.paused = True
    assert s.next_span() is None
    s.paused = False
    assert s.next_span() == (0, 4)


def test_sender_resume_from() -> None:
    s = Sender(size=10, chunk_bytes=4)
    s.ack(0, 10)
    s.sent(4)
    s.sent(8)
    s.resume_from(6, 10)  # the receiver held 6 bytes when the link dropped
    assert (s.position, s.acked) == (6, 6) and s.next_span() == (6, 4)
    s.sent(10)
    assert s.resent_bytes == 2
    for acked, until in ((11, 11), (5, 4), (-1, 3)):
        with pytest.raises(ProtocolError):
            s.resume_from(acked, until)


def test_sender_rewinds_when_the_receiver_lost_bytes() -> None:
    s = Sender(size=10, chunk_bytes=4)
    s.ack(0, 10)
    s.sent(4)
    s.sent(8)
    s.ack(8, 10)
    s.ack(2, 6)  # it restarted from an older state
    assert (s.position, s.acked, s.until) == (2, 2, 6)
    for acked, until in ((11, 12), (3, 2)):
        with pytest.raises(ProtocolError):
            s.ack(acked, until)
    with pytest.raises(ValueError):
        Sender(-1, 4)
    with pytest.raises(ValueError):
        Sender(10, 0)


# ------------------------------------------------------------------ the whole leg


def simulate(data: bytes, *, chunk_bytes: int, window: int, rng: random.Random, loss: float, corrupt: float, reorder: float) -> tuple[bytes, Sender, Receiver]:
    """One leg over a wire that drops, corrupts and swaps chunks and drops
    control messages. A stalled link is what a reconnect resolves: the
    sender resumes from the receiver's durable offset (file.resume)."""
    sender = Sender(len(data), chunk_bytes)
    receiver = Receiver(TID, len(data), window)
    sender.ack(receiver.acked, receiver.until)  # the answer to file.offer
    held = bytearray()
    for _ in range(20_000):
        if receiver.complete:
            return bytes(held), sender, receiver
        wire: list[Chunk] = []
        while (span := sender.next_span()) is not None:
            offset, length = span
            piece = data[offset : offset + length]
            if rng.random() < corrupt:
                damaged = bytearray(piece)
                damaged[rng.randrange(len(damaged))] ^= 0xFF
                wire.append(Chunk(TID, offset, zlib.crc32(piece), bytes(damaged)))
            elif rng.random() >= loss:
                wire.append(chunk(offset, piece))
            sender.sent(offset + length)
        for i in range(len(wire) - 1):
            if rng.random() < reorder:
                wire[i], wire[i + 1] = wire[i + 1], wire[i]
        answers: list[Take | Nak] = []
        for c in wire:
            out = receiver.feed(c)
            if isinstance(out, Take):
                assert out.chunk.offset == len(held)
                held += out.chunk.data
            if out is not None and rng.random() >= loss:
                answers.append(out)
        for a in answers:
            if isinstance(a, Take):
                sender.ack(a.acked, a.until)
            else:
                sender.nak(a.offset)
        if not wire and not answers:
            sender.resume_from(receiver.acked, receiver.until)
    raise AssertionError("the transfer never completed")


@pytest.mark.parametrize("seed", range(60))
def test_a_lossy_reordering_wire_always_ends_with_identical_bytes(seed: int) -> None:
    rng = random.Random(seed)
    data = rng.randbytes(rng.randrange(0, 3000))
    chunk_bytes = rng.choice([1, 7, 64, 256])
    held, sender, receiver = simulate(
        data,
        chunk_bytes=chunk_bytes,
        window=rng.choice([1, 8, 32]) * chunk_bytes + rng.randrange(chunk_bytes),  # windows of 1 to 32 chunks
        rng=rng,
        loss=rng.choice([0.0, 0.05, 0.3]),
        corrupt=rng.choice([0.0, 0.05, 0.3]),
        reorder=rng.choice([0.0, 0.1, 0.5]),
    )
    assert held == data
    assert receiver.acked == len(data)


def test_a_perfect_wire_resends_nothing() -> None:
    data = random.Random(1).randbytes(10_000)
    held, sender, receiver = simulate(data, chunk_bytes=256, window=1024, rng=random.Random(1), loss=0, corrupt=0, reorder=0)
    assert held == data and sender.resent_bytes == 0 and receiver.naks == 0


def test_a_damaged_wire_counts_its_resends() -> None:
    data = random.Random(2).randbytes(10_000)
    held, sender, receiver = simulate(data, chunk_bytes=256, window=1024, rng=random.Random(2), loss=0, corrupt=0.2, reorder=0)
    assert held == data and sender.resent_bytes > 0 and receiver.naks > 0


@settings(max_examples=60, deadline=None)
@given(
    data=st.binary(max_size=3000),
    chunk_bytes=st.integers(8, 600),
    window=st.integers(1, 2000),
    seed=st.integers(0, 2**32),
)
def test_hypothesis_wire(data: bytes, chunk_bytes: int, window: int, seed: int) -> None:
    held, _, _ = simulate(data, chunk_bytes=chunk_bytes, window=window, rng=random.Random(seed), loss=0.1, corrupt=0.1, reorder=0.2)
    assert held == data
