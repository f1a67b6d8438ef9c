"""The picture size an H.264 sequence parameter set claims, read before a codec sees it.

Why: a video region's decoder (PyAV's libavcodec here, WebCodecs in the
browser, ``web/viewer/decoders/sps.js`` being this module's twin) sizes its
picture buffers from the SPS (NAL type 7) of the stream, not from the
rectangle. A malformed or hostile unit whose SPS claims 16384x16384 would
make it allocate for that. :func:`check_unit` compares every SPS in an
access unit with the size the rectangle's stream is coded at first, and
:class:`~desklink.agent.encode.h264.H264Decoder` refuses the unit otherwise.

Sans-I/O and bounded: the reader finds the SPS units of an Annex B access
unit (at most :data:`MAX_SPS_PER_UNIT`), strips emulation-prevention bytes
(``00 00 03``) and reads the fields of ITU-T H.264 section 7.3.2.1.1 up to
the frame cropping (the VUI after it says nothing about the size). Every
read is bounded: running past the end of the NAL unit, an exp-Golomb code
with more than :data:`MAX_LEADING_ZEROS` leading zeros, a field outside the
range the standard allows or a list longer than its bound raises
:class:`~desklink.errors.ProtocolError` saying which.

A byte sequence ``00 00 00`` or ``00 00 02`` inside an SPS (which the
standard forbids, and at which libavcodec would end the unit early) is
refused too, so the bits read here are the bits the codec reads.
"""

from __future__ import annotations

from dataclasses import dataclass

from desklink.errors import ProtocolError

__all__ = ["MAX_LEADING_ZEROS", "MAX_SPS_PER_UNIT", "NAL_SPS", "Sps", "check_unit", "expected_sizes", "read_sps", "sps_units"]

NAL_SPS = 7
#: Most SPS units one access unit may carry (the standard's 32 ids; x264 writes one).
MAX_SPS_PER_UNIT = 32
#: Most leading zeros of an exp-Golomb code: 31 gives values up to 2**32 - 2,
#: the largest any field of an SPS holds.
MAX_LEADING_ZEROS = 31
#: Most entries of the picture order count cycle (type 1), as the standard allows.
MAX_POC_CYCLE = 255
#: Most reference frames (the standard's largest decoded picture buffer).
MAX_REF_FRAMES = 16
#: Profiles whose SPS carries chroma format, bit depths and scaling matrices.
HIGH_PROFILES = frozenset({100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135})


@dataclass(frozen=True)
class Sps:
    """What an SPS says about the picture: the coded size (whole macroblocks)
    and the size after the frame cropping, in pixels."""

    sps_id: int
    profile_idc: int
    level_idc: int
    chroma_format_idc: int
    frame_mbs_only: bool
    coded_width: int
    coded_height: int
    width: int
    height: int


class _Bits:
    """A big-endian bit reader over one NAL unit's payload (RBSP)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0
        self.end = len(data) * 8

    def u(self, n: int, what: str) -> int:
        if self.pos + n > self.end:
            raise ProtocolError(f"H.264 SPS ends inside {what}")
        value = 0
        for _ in range(n):
            value = (value << 1) | ((self.data[self.pos >> 3] >> (7 - (self.pos & 7))) & 1)
            self.pos += 1
        return value

    def flag(self, what: str) -> bool:
        return self.u(1, what) == 1

    def ue(self, what: str, most: int | None = None) -> int:
        zeros = 0
        while self.u(1, what) == 0:
            zeros += 1
            if zeros > MAX_LEADING_ZEROS:
                raise ProtocolError(f"H.264 SPS: {what} has more than {MAX_LEADING_ZEROS} leading zeros")
        value = (1 << zeros) - 1 + self.u(zeros, what)
        if most is not None and value > most:
            raise ProtocolError(f"H.264 SPS: {what} is {value}, more than {most}")
        return value

    def se(self, what: str) -> int:
        k = self.ue(what)
        return (k + 1) // 2 if k & 1 else -(k // 2)


def sps_units(unit: bytes) -> list[bytes]:
    """The SPS NAL units of an Annex B access unit (header byte included,
    emulation-prevention bytes still in), in order."""
    found: list[bytes] = []
    i = unit.find(b"\x00\x00\x01")
    while i >= 0 and i + 3 < len(unit):
        start = i + 3
        nxt = unit.find(b"\x00\x00\x01", start)
        if unit[start] & 0x1F == NAL_SPS:
            if len(found) == MAX_SPS_PER_UNIT:
                raise ProtocolError(f"H.264 unit carries more than {MAX_SPS_PER_UNIT} SPS")
            found.append(unit[start : nxt if nxt >= 0 else len(unit)].rstrip(b"\x00"))
        i = nxt
    return found


def _rbsp(nal: bytes) -> bytes:
    body = nal[1:]
    if b"\x00\x00\x00" in body or b"\x00\x00\x02" in body:
        raise ProtocolError("H.264 SPS holds a byte sequence the standard forbids (00 00 00 or 00 00 02)")
    return body.replace(b"\x00\x00\x03", b"\x00\x00")


def _skip_scaling_list(bits: _Bits, size: int, what: str) -> None:
    last = nxt = 8
    for _ in range(size):
        if nxt != 0:
            delta = bits.se(what)
            if not -128 <= delta <= 127:
                raise ProtocolError(f"H.264 SPS: {what} has delta_scale {delta}, outside -128..127")
            nxt = (last + delta + 256) % 256
        last = nxt if nxt != 0 else last


def read_sps(nal: bytes) -> Sps:
    """Read one SPS NAL unit (its header byte first, as :func:`sps_units` gives it)."""
    if not nal or nal[0] & 0x1F != NAL_SPS:
        raise ProtocolError("not an H.264 SPS unit")
    b = _Bits(_rbsp(nal))
    profile = b.u(8, "profile_idc")
    b.u(8, "the constraint flags")
    level = b.u(8, "level_idc")
    sps_id = b.ue("seq_parameter_set_id", 31)
    chroma = 1
    separate_planes = False
    if profile in HIGH_PROFILES:
        chroma = b.ue("chroma_format_idc", 3)
        if chroma == 3:
            separate_planes = b.flag("separate_colour_plane_flag")
        b.ue("bit_depth_luma_minus8", 6)
        b.ue("bit_depth_chroma_minus8", 6)
        b.flag("qpprime_y_zero_transform_bypass_flag")
        if b.flag("seq_scaling_matrix_present_flag"):
            for i in range(8 if chroma != 3 else 12):
                if b.flag(f"seq_scaling_list_present_flag[{i}]"):
                    _skip_scaling_list(b, 16 if i < 6 else 64, f"scaling list {i}")
    b.ue("log2_max_frame_num_minus4", 12)
    poc_type = b.ue("pic_order_cnt_type", 2)
    if poc_type == 0:
        b.ue("log2_max_pic_order_cnt_lsb_minus4", 12)
    elif poc_type == 1:
        b.flag("delta_pic_order_always_zero_flag")
        b.se("offset_for_non_ref_pic")
        b.se("offset_for_top_to_bottom_field")
        cycle = b.ue("num_ref_frames_in_pic_order_cnt_cycle", MAX_POC_CYCLE)
        for i in range(cycle):
            b.se(f"offset_for_ref_frame[{i}]")
    b.ue("max_num_ref_frames", MAX_REF_FRAMES)
    b.flag("gaps_in_frame_num_value_allowed_flag")
    width_mbs = b.ue("pic_width_in_mbs_minus1") + 1
    height_units = b.ue("pic_height_in_map_units_minus1") + 1
    frame_mbs_only = b.flag("frame_mbs_only_flag")
    if not frame_mbs_only:
        b.flag("mb_adaptive_frame_field_flag")
    b.flag("direct_8x8_inference_flag")
    coded_w = 16 * width_mbs
    coded_h = 16 * height_units * (2 - frame_mbs_only)
    left = right = top = bottom = 0
    if b.flag("frame_cropping_flag"):
        left = b.ue("frame_crop_left_offset")
        right = b.ue("frame_crop_right_offset")
        top = b.ue("frame_crop_top_offset")
        bottom = b.ue("frame_crop_bottom_offset")
    # Crop units (the standard's CropUnitX / CropUnitY, table 6-1).
    unit_x = 1 if chroma == 0 or separate_planes or chroma == 3 else 2
    unit_y = (2 if chroma == 1 and not separate_planes else 1) * (2 - frame_mbs_only)
    width = coded_w - unit_x * (left + right)
    height = coded_h - unit_y * (top + bottom)
    if width < 1 or height < 1:
        raise ProtocolError(f"H.264 SPS crops its {coded_w}x{coded_h} picture to nothing")
    return Sps(sps_id, profile, level, chroma, frame_mbs_only, coded_w, coded_h, width, height)


def expected_sizes(width: int, height: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """The sizes a ``width x height`` stream's SPS must give: whole
    macroblocks at or above ``width x height``, cropped to exactly it. (x264
    codes a size that is not a multiple of 16 in whole macroblocks with
    frame cropping, and a multiple of 16 without.)"""
    return ((width + 15) // 16 * 16, (height + 15) // 16 * 16), (width, height)


def check_unit(unit: bytes, width: int, height: int, what: str = "H.264 unit") -> list[Sps]:
    """Every SPS in ``unit`` must give a ``width x height`` picture coded in the
    fewest whole macroblocks (:func:`expected_sizes`); ``ProtocolError``
    naming the claimed size otherwise. Returns the SPS read."""
    try:
        found = [read_sps(nal) for nal in sps_units(unit)]
    except ProtocolError as exc:
        raise ProtocolError(f"{what}: {exc}") from None
    coded, cropped = expected_sizes(width, height)
    for s in found:
        if (s.coded_width, s.coded_height) != coded or (s.width, s.height) != cropped:
            raise ProtocolError(
                f"{what}: its SPS claims a {s.width}x{s.height} picture ({s.coded_width}x{s.coded_height} coded); "
                f"the stream is {width}x{height} ({coded[0]}x{coded[1]} coded)"
            )
    return found
