"""The SPS reader (agent/encode/sps.py) and the H.264 decoder's check with it.

The reader gives the sizes of real libx264 units (baseline at ``ultrafast``,
high profile at ``medium``, a custom scaling matrix, interlaced), and of
hand-made SPS for the branches x264 never writes (picture order count type 1
with its cycle). On anything else it raises ``ProtocolError`` and nothing
else, quickly. ``H264Decoder`` refuses a unit whose SPS claims another size
(16384x16384, or another region's) before PyAV sees the bytes.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desklink.agent.encode import Canvas
from desklink.agent.encode.h264 import H264Decoder, H264Encoder, coded_size, is_key_unit
from desklink.agent.encode.sps import MAX_LEADING_ZEROS, MAX_SPS_PER_UNIT, Sps, check_unit, expected_sizes, read_sps, sps_units
from desklink.errors import ProtocolError
from desklink.protocol.screen import FLAG_KEY, Enc, Frame, Rect

SIZES = [(64, 64), (2, 2), (1, 1), (33, 17), (100, 50), (201, 121), (640, 360), (1920, 1080), (4096, 16)]


# -- a small bit writer: SPS the tests make by hand ----------------------------


class BitWriter:
    def __init__(self) -> None:
        self.bits: list[int] = []

    def u(self, n: int, value: int) -> BitWriter:
        self.bits += [(value >> (n - 1 - i)) & 1 for i in range(n)]
        return self

    def ue(self, value: int) -> BitWriter:
        code = value + 1
        return self.u(code.bit_length() - 1, 0).u(code.bit_length(), code)

    def se(self, value: int) -> BitWriter:
        return self.ue(2 * value - 1 if value > 0 else -2 * value)

    def rbsp(self) -> bytes:
        bits = self.bits + [1]  # rbsp_stop_one_bit
        bits += [0] * (-len(bits) % 8)
        return bytes(int("".join(map(str, bits[i : i + 8])), 2) for i in range(0, len(bits), 8))


def escape(rbsp: bytes) -> bytes:
    """Insert emulation-prevention bytes (00 00 0x, x <= 3 -> 00 00 03 0x)."""
    out = bytearray()
    zeros = 0
    for byte in rbsp:
        if zeros >= 2 and byte <= 3:
            out.append(3)
            zeros = 0
        out.append(byte)
        zeros = zeros + 1 if byte == 0 else 0
    return bytes(out)


def sps_nal(width_mbs: int, height_mbs: int, *, profile: int = 66, crop: tuple[int, int, int, int] | None = None,
            poc_cycle: list[int] | None = None, scaling: bool = False, frame_mbs_only: bool = True, sps_id: int = 0) -> bytes:
    """An SPS NAL unit (header byte 0x67 first) for a ``16*width_mbs x 16*height_mbs`` 4:2:0 picture."""
    w = BitWriter().u(8, profile).u(8, 0xC0).u(8, 51).ue(sps_id)
    if profile >= 100:
        w.ue(1).ue(0).ue(0).u(1, 0).u(1, int(scaling))  # 4:2:0, 8 bits, no bypass
        if scaling:
            for i in range(8):
                w.u(1, 1)
                for j in range(16 if i < 6 else 64):
                    w.se(-8 if j == 0 and i == 7 else 1)  # list 7 ends at once (next scale 0: use the default)
                    if j == 0 and i == 7:
                        break
    w.ue(0)  # log2_max_frame_num_minus4
    if poc_cycle is None:
        w.ue(2)
    else:
        w.ue(1).u(1, 0).se(-1).se(2).ue(len(poc_cycle))
        for offset in poc_cycle:
            w.se(offset)
    w.ue(1).u(1, 0)  # one reference frame, no gaps
    w.ue(width_mbs - 1).ue(height_mbs - 1).u(1, int(frame_mbs_only))
    if not frame_mbs_only:
        w.u(1, 0)
    w.u(1, 1)  # direct_8x8_inference
    if crop is None:
        w.u(1, 0)
    else:
        w.u(1, 1)
        for offset in crop:
            w.ue(offset)
    w.u(1, 0)  # no VUI
    return b"\x67" + escape(w.rbsp())


def annexb(*nals: bytes) -> bytes:
    return b"".join(b"\x00\x00\x00\x01" + n for n in nals)


def nals_of(unit: bytes) -> list[bytes]:
    return [part.rstrip(b"\x00") for part in unit.split(b"\x00\x00\x01")[1:]]


def noise(w: int, h: int, seed: int = 1) -> np.ndarray:
    img = np.random.default_rng(seed).integers(0, 256, (h, w, 4), dtype=np.uint8)
    img[:, :, 3] = 255
    return img


def x264_unit(w: int, h: int, params: str, preset: str = "ultrafast") -> bytes:
    """A key unit straight from libx264 with extra ``x264-params`` (what H264Encoder does not expose)."""
    import av

    ctx: Any = av.CodecContext.create("libx264", "w")
    ctx.width, ctx.height, ctx.pix_fmt = w, h, "yuv420p"
    ctx.time_base = Fraction(1, 30)
    ctx.options = {"preset": preset, "tune": "zerolatency", "x264-params": params}
    ctx.open()
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(noise(w, h)[:, :, :3]), format="bgr24").reformat(format="yuv420p")
    frame.pts = 0
    return b"".join(bytes(p) for p in ctx.encode(frame))


# -- the reader on libx264's units ----------------------------------------------


@pytest.mark.parametrize("preset", ["ultrafast", "medium"])
@pytest.mark.parametrize(("w", "h"), SIZES)
def test_the_reader_gives_the_size_of_x264s_units(w: int, h: int, preset: str) -> None:
    enc = H264Encoder(w, h, preset=preset)
    key = enc.encode(noise(w, h))
    delta = enc.encode(noise(w, h, 2))
    nals = sps_units(key)
    assert len(nals) == 1
    s = read_sps(nals[0])
    cw, ch = coded_size(w, h)
    assert (s.width, s.height) == (cw, ch)
    assert (s.coded_width, s.coded_height) == ((cw + 15) // 16 * 16, (ch + 15) // 16 * 16)
    assert s.profile_idc == (66 if preset == "ultrafast" else 100)
    assert s.frame_mbs_only and s.chroma_format_idc == 1
    assert ((s.coded_width, s.coded_height), (s.width, s.height)) == expected_sizes(cw, ch)
    assert check_unit(key, cw, ch) == [s]
    assert sps_units(delta) == [] and check_unit(delta, cw, ch) == []


def test_a_scaling_matrix_is_skipped_as_libavcodec_skips_it() -> None:
    # x264 keeps its matrices in the PPS, so the SPS here is hand-made: x264's
    # own fields for an 80x48 stream (ultrafast), raised to High profile with
    # all 8 scaling lists. libavcodec decodes x264's pictures under it at
    # 80x48: both read the size after the lists from the same bits.
    unit = H264Encoder(80, 48).encode(noise(80, 48))
    for nal in (sps_nal(5, 3), sps_nal(5, 3, profile=100), sps_nal(5, 3, profile=100, scaling=True)):
        swapped = swap_sps(unit, nal)
        [s] = check_unit(swapped, 80, 48)
        assert (s.coded_width, s.coded_height, s.width, s.height) == (80, 48, 80, 48)
        assert H264Decoder(80, 48).decode(swapped).shape == (48, 80, 3)


def test_an_interlaced_sps_counts_field_pairs() -> None:
    unit = x264_unit(320, 240, "interlaced=1", preset="medium")  # frame_mbs_only_flag 0: map units are field pairs
    [s] = [read_sps(n) for n in sps_units(unit)]
    assert not s.frame_mbs_only
    assert (s.coded_width, s.coded_height, s.width, s.height) == (320, 256, 320, 240)


def test_hand_made_sps_branches() -> None:
    cases: list[tuple[bytes, tuple[int, int, int, int]]] = [
        (sps_nal(4, 4), (64, 64, 64, 64)),
        (sps_nal(3, 2, crop=(0, 7, 0, 4)), (48, 32, 34, 24)),
        (sps_nal(4, 4, poc_cycle=[1, -2, 3] * 85), (64, 64, 64, 64)),  # a cycle of 255, the most allowed
        (sps_nal(5, 3, profile=100, scaling=True), (80, 48, 80, 48)),
        (sps_nal(5, 3, profile=100, frame_mbs_only=False, crop=(1, 0, 0, 1)), (80, 96, 78, 92)),
        (sps_nal(1024, 1024), (16384, 16384, 16384, 16384)),
    ]
    for nal, (cw, ch, w, h) in cases:
        s = read_sps(nal)
        assert (s.coded_width, s.coded_height, s.width, s.height) == (cw, ch, w, h)


def test_emulation_prevention_bytes_are_removed() -> None:
    # 2**16 macroblocks a side: exp-Golomb codes with long runs of zero bits, which need escaping.
    nal = sps_nal(1 << 16, 1 << 16, crop=(0, 0, 0, 0))
    assert b"\x00\x00\x03" in nal
    s = read_sps(nal)
    assert (s.coded_width, s.coded_height, s.width, s.height) == (16 << 16, 16 << 16, 16 << 16, 16 << 16)


# -- the reader refuses, clearly -------------------------------------------------


@pytest.mark.parametrize(("nal", "message"), [
    (b"\x67\x42\xc0", "H.264 SPS ends inside level_idc"),
    (sps_nal(4, 4)[:6], "H.264 SPS ends inside"),
    (sps_nal(4, 4, poc_cycle=[0] * 256), "num_ref_frames_in_pic_order_cnt_cycle is 256, more than 255"),
    (sps_nal(4, 4, sps_id=32), "seq_parameter_set_id is 32, more than 31"),
    (sps_nal(2, 2, crop=(0, 16, 0, 0)), "crops its 32x32 picture to nothing"),
    (b"\x67\x42\xc0\x1f\x00\x00\x00\x01", "forbids"),
    (b"\x68\xce\x0f\xc8", "not an H.264 SPS unit"),
])
def test_malformed_sps_raise_a_clear_protocol_error(nal: bytes, message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        read_sps(nal)


def test_an_exp_golomb_code_of_32_zeros_is_refused() -> None:
    nal = b"\x67\x42\xc0\x1f" + b"\x00\x00\x03" + b"\x00\x00\x03" + b"\x00\x00\x03\x00\x80"  # id: 32 zeros then a one
    with pytest.raises(ProtocolError, match=f"seq_parameter_set_id has more than {MAX_LEADING_ZEROS} leading zeros"):
        read_sps(nal)


def test_too_many_sps_in_one_unit() -> None:
    with pytest.raises(ProtocolError, match=f"more than {MAX_SPS_PER_UNIT} SPS"):
        sps_units(annexb(*[sps_nal(4, 4)] * (MAX_SPS_PER_UNIT + 1)))


def real_sps() -> bytes:
    return sps_units(H264Encoder(100, 50, preset="medium").encode(noise(100, 50)))[0]


REAL_SPS = [real_sps(), sps_nal(5, 3, profile=100, scaling=True), sps_nal(4, 4, poc_cycle=[5, -5, 7])]


def _only_protocol_errors(nal: bytes) -> Sps | None:
    try:
        return read_sps(nal)
    except ProtocolError as exc:
        assert str(exc).startswith(("H.264 SPS", "not an H.264 SPS")), str(exc)
        return None


@settings(max_examples=300)
@given(st.binary(max_size=200))
def test_random_bytes_only_raise_protocol_error(data: bytes) -> None:
    _only_protocol_errors(b"\x67" + data)
    try:
        check_unit(b"\x00\x00\x01\x67" + data, 64, 64)
    except ProtocolError:
        pass


@settings(max_examples=300)
@given(st.sampled_from(REAL_SPS), st.data())
def test_truncated_and_bit_flipped_sps_only_raise_protocol_error(nal: bytes, data: st.DataObject) -> None:
    cut = data.draw(st.integers(1, len(nal)))
    _only_protocol_errors(nal[:cut])
    flipped = bytearray(nal)
    for bit in data.draw(st.lists(st.integers(8, 8 * len(nal) - 1), min_size=1, max_size=8)):
        flipped[bit >> 3] ^= 0x80 >> (bit & 7)
    s = _only_protocol_errors(bytes(flipped))
    if s is not None:
        assert s.width >= 1 and s.height >= 1 and s.width <= s.coded_width and s.height <= s.coded_height


@settings(max_examples=200)
@given(st.integers(1, 1 << 20), st.integers(1, 1 << 20), st.integers(0, 3), st.lists(st.integers(-1000, 1000), max_size=20))
def test_any_size_written_is_read_back(width_mbs: int, height_mbs: int, crop: int, cycle: list[int]) -> None:
    s = read_sps(sps_nal(width_mbs, height_mbs, crop=(0, crop, crop, 0), poc_cycle=cycle))  # 2*3 < 16: never empty
    assert (s.coded_width, s.coded_height) == (16 * width_mbs, 16 * height_mbs)
    assert (s.width, s.height) == (16 * width_mbs - 2 * crop, 16 * height_mbs - 2 * crop)


# -- the decoder refuses before PyAV sees the bytes --------------------------------


class NoCodec:
    """Stands in for PyAV's codec context: any call to it fails the test."""

    def decode(self, packet: Any) -> Any:
        raise AssertionError("the unit reached the codec")


def key_unit(w: int, h: int) -> bytes:
    unit = H264Encoder(w, h).encode(noise(w, h))
    assert is_key_unit(unit)
    return unit


def swap_sps(unit: bytes, sps: bytes) -> bytes:
    return annexb(*[sps if n[0] & 0x1F == 7 else n for n in nals_of(unit)])


def test_a_key_unit_claiming_16384x16384_is_refused_before_decoding() -> None:
    hostile = swap_sps(key_unit(64, 64), sps_nal(1024, 1024))
    assert is_key_unit(hostile)
    dec = H264Decoder(64, 64)
    dec._ctx = NoCodec()
    with pytest.raises(ProtocolError) as info:
        dec.decode(hostile)
    assert str(info.value) == ("H.264 unit for the 64x64 rectangle: its SPS claims a 16384x16384 picture "
                               "(16384x16384 coded); the stream is 64x64 (64x64 coded)")


def test_a_key_unit_of_another_regions_size_is_refused() -> None:
    other = key_unit(128, 64)
    dec = H264Decoder(64, 64)
    dec._ctx = NoCodec()
    with pytest.raises(ProtocolError, match=r"claims a 128x64 picture .* the stream is 64x64"):
        dec.decode(other)
    # Odd sides: a 33x17 region is coded at 34x18 (48x32 in macroblocks); a 34x18 unit is its twin, 35x17's is not.
    assert H264Decoder(33, 17).decode(key_unit(34, 18)).shape == (17, 33, 3)
    dec = H264Decoder(33, 17)
    dec._ctx = NoCodec()
    with pytest.raises(ProtocolError, match=r"claims a 36x18 picture \(48x32 coded\); the stream is 34x18 \(48x32 coded\)"):
        dec.decode(key_unit(35, 17))


def test_the_right_size_with_padding_macroblocks_is_refused() -> None:
    # Cropped to 64x64 but coded as 1024x1024 macroblocks' worth: the codec would allocate the coded size.
    padded = swap_sps(key_unit(64, 64), sps_nal(64, 64, crop=(0, 480, 0, 480)))
    dec = H264Decoder(64, 64)
    dec._ctx = NoCodec()
    with pytest.raises(ProtocolError, match=r"claims a 64x64 picture \(1024x1024 coded\)"):
        dec.decode(padded)


def test_a_delta_carrying_an_sps_is_checked_too() -> None:
    enc = H264Encoder(64, 64)
    key = enc.encode(noise(64, 64))
    delta = enc.encode(noise(64, 64, 2))
    own_sps = sps_units(key)[0]
    dec = H264Decoder(64, 64)
    dec.decode(key)
    assert dec.decode(annexb(own_sps, *nals_of(delta))).shape == (64, 64, 3)  # its own SPS again: fine
    with pytest.raises(ProtocolError, match="claims a 16384x16384 picture"):
        dec.decode(annexb(sps_nal(1024, 1024), *nals_of(enc.encode(noise(64, 64, 3)))))


def test_a_first_unit_with_no_sps_is_refused() -> None:
    enc = H264Encoder(64, 64)
    enc.encode(noise(64, 64))
    dec = H264Decoder(64, 64)
    dec._ctx = NoCodec()
    with pytest.raises(ProtocolError, match="starts its stream with no SPS"):
        dec.decode(enc.encode(noise(64, 64, 2)))


def test_the_canvas_refuses_the_hostile_unit_and_recovers_on_a_real_key_unit() -> None:
    canvas = Canvas()
    canvas.apply(Frame(1, 1, 128, 128, (Rect.fill(0, 0, 128, 128, (1, 2, 3)),), FLAG_KEY))
    real = key_unit(64, 64)
    hostile = swap_sps(real, sps_nal(1024, 1024))
    with pytest.raises(ProtocolError, match="claims a 16384x16384 picture"):
        canvas.apply(Frame(2, 2, 128, 128, (Rect(8, 8, 64, 64, Enc.H264, hostile),)))
    canvas.apply(Frame(3, 3, 128, 128, (Rect(8, 8, 64, 64, Enc.H264, real),)))
    assert canvas.frames == 2


def test_the_canvas_keeps_its_good_stream_past_a_hostile_unit() -> None:
    """As the browser: a unit refused for its SPS leaves the region's stream
    as it was, so the next delta of the real stream still decodes."""
    canvas = Canvas()
    canvas.apply(Frame(1, 1, 128, 128, (Rect.fill(0, 0, 128, 128, (1, 2, 3)),), FLAG_KEY))
    enc = H264Encoder(64, 64)
    key = enc.encode(noise(64, 64))
    canvas.apply(Frame(2, 2, 128, 128, (Rect(8, 8, 64, 64, Enc.H264, key),)))
    with pytest.raises(ProtocolError, match="claims a 16384x16384 picture"):
        canvas.apply(Frame(3, 3, 128, 128, (Rect(8, 8, 64, 64, Enc.H264, swap_sps(key_unit(64, 64), sps_nal(1024, 1024))),)))
    canvas.apply(Frame(4, 4, 128, 128, (Rect(8, 8, 64, 64, Enc.H264, enc.encode(noise(64, 64, 2))),)))
    assert canvas.frames == 3
