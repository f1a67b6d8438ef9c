"""H.264 for video regions (encoding 5): one stream per region, with PyAV.

Why H.264: a region that changes at video rates (a playing video, a game,
an animation) costs tiles a JPEG of every changed tile in every frame; a
video codec sends only what moved between pictures. libx264 (in PyAV's
wheels) encodes a 640x360 region in a few milliseconds at ``ultrafast``,
and every browser's WebCodecs ``VideoDecoder`` decodes it.

One :class:`H264Encoder` per region: ``tune=zerolatency`` (no lookahead, one
access unit out per picture in), no B-frames, yuv420p, constant quality
(``crf``, :data:`DEFAULT_CRF`) under a bitrate cap (``max_kbit_s``: x264's
VBV with a tenth of a second of buffer, so a noisy picture, which constant
quality would code at any cost, stays bounded; :func:`max_kbit_s_for` scales
it with the region, :data:`DEFAULT_MAX_BITS_PER_PIXEL`). Rate control assumes :data:`NOMINAL_FPS` pictures a second (x264's
quality and its cap depend on the rate; the real rate varies with flow
control). A key unit (IDR with its SPS and PPS in
front, Annex B) starts each stream and comes again whenever asked
(``key=True``: a viewer's refresh, a key frame). No periodic key frames:
the screen channel never drops a frame, so a stream only restarts when a
viewer needs it to.

4:2:0 needs even sides: a region of odd width or height is padded by one
column or row (its edge repeated) and the viewer crops the picture to the
rectangle (:func:`coded_size`).

:class:`H264Decoder` is the reference viewer's side (``desklink.testing`` and
:class:`~desklink.agent.encode.canvas.Canvas`): one per region stream, made
by a key unit; a delta with no stream before it, or bytes that are not
H.264, raise ``ProtocolError``. Before libavcodec sees a unit, every SPS in
it must give the region's coded size (:func:`desklink.agent.encode.sps.check_unit`):
the codec sizes its buffers from the SPS, so a unit claiming 16384x16384
in a 64x64 rectangle is refused instead of allocated for.

PyAV is optional (the ``video`` extra, docs/architecture.md): without it
:func:`available` is false and the agent never enters video mode.
"""

from __future__ import annotations

import importlib.util
from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt

from desklink.agent.encode.sps import check_unit
from desklink.errors import ProtocolError

__all__ = [
    "DEFAULT_CRF", "DEFAULT_MAX_BITS_PER_PIXEL", "DEFAULT_PRESET", "MAX_VIDEO_SIDE", "NOMINAL_FPS", "H264Decoder", "H264Encoder",
    "available", "coded_size", "is_key_unit", "max_kbit_s_for", "nal_types",
]

#: x264's constant-quality factor for video regions (lower is better and
#: bigger; 23 is x264's own default: about 1.7 dB under the tiles' motion
#: JPEGs at well under half their bytes, docs/performance.md).
DEFAULT_CRF = 23
#: Most bits a picture a region's stream may take, per pixel (x264's
#: vbv-maxrate, from the region's size at NOMINAL_FPS): 0.4 gives a 640x360
#: region 2.8 Mbit/s (about 11.5 KB a picture at 30 fps) and 1080p 25 Mbit/s.
DEFAULT_MAX_BITS_PER_PIXEL = 0.4
#: The cap of a stream without a size to scale by, kilobits a second.
DEFAULT_MAX_KBIT_S = 3000
#: The lowest cap x264 is given, kilobits a second.
MIN_KBIT_S = 100
#: The picture rate x264's rate control assumes.
NOMINAL_FPS = 30


def max_kbit_s_for(width: int, height: int, bits_per_pixel: float = DEFAULT_MAX_BITS_PER_PIXEL) -> int:
    """The bitrate cap of a ``width x height`` region's stream."""
    return max(MIN_KBIT_S, int(bits_per_pixel * width * height * NOMINAL_FPS / 1000))
#: x264's speed preset: ``ultrafast`` keeps a 30 fps region well under a
#: fifth of a core (docs/performance.md).
DEFAULT_PRESET = "ultrafast"
#: Largest region side a stream accepts (H.264 level 5.1 holds 4096).
MAX_VIDEO_SIDE = 4096

_NAL_IDR = 5
_NAL_SPS = 7


def available() -> bool:
    """Whether PyAV with an H.264 encoder is installed (checked once)."""
    global _AVAILABLE
    if _AVAILABLE is None:
        _AVAILABLE = False
        if importlib.util.find_spec("av") is not None:
            try:
                import av

                _AVAILABLE = "libx264" in av.codecs_available and "h264" in av.codecs_available
            except ImportError:  # a broken install: no video, nothing else changes
                _AVAILABLE = False
    return _AVAILABLE


_AVAILABLE: bool | None = None


def coded_size(w: int, h: int) -> tuple[int, int]:
    """The even size a ``w x h`` region is coded at (4:2:0 chroma)."""
    return w + (w & 1), h + (h & 1)


def nal_types(unit: bytes) -> list[int]:
    """The NAL unit types of an Annex B access unit, in order."""
    types = []
    i = unit.find(b"\x00\x00\x01")
    while i >= 0 and i + 3 < len(unit):
        types.append(unit[i + 3] & 0x1F)
        i = unit.find(b"\x00\x00\x01", i + 3)
    return types


def is_key_unit(unit: bytes) -> bool:
    """An access unit that starts a stream: it carries an SPS and an IDR picture."""
    types = nal_types(unit)
    return _NAL_SPS in types and _NAL_IDR in types


class H264Encoder:
    """One region's H.264 stream. ``encode(pixels, key)`` takes the region as
    ``h x w x 4`` BGRA and returns one Annex B access unit."""

    def __init__(self, width: int, height: int, *, crf: int = DEFAULT_CRF, max_kbit_s: int = DEFAULT_MAX_KBIT_S,
                 preset: str = DEFAULT_PRESET) -> None:
        if not available():
            raise RuntimeError("H.264 needs PyAV with libx264: pip install 'desklink[video]'")
        if not (0 < width <= MAX_VIDEO_SIDE and 0 < height <= MAX_VIDEO_SIDE):
            raise ValueError(f"video region {width}x{height} is outside 1..{MAX_VIDEO_SIDE}")
        if not 0 <= crf <= 51:
            raise ValueError(f"crf {crf} is outside 0..51")
        if max_kbit_s < MIN_KBIT_S:
            raise ValueError(f"max_kbit_s {max_kbit_s} is below {MIN_KBIT_S}")
        import av

        self.width, self.height = width, height
        cw, ch = coded_size(width, height)
        ctx: Any = av.CodecContext.create("libx264", "w")
        ctx.width, ctx.height = cw, ch
        ctx.pix_fmt = "yuv420p"
        ctx.time_base = Fraction(1, NOMINAL_FPS)
        ctx.framerate = Fraction(NOMINAL_FPS, 1)
        ctx.max_b_frames = 0
        ctx.gop_size = 1 << 30  # key units only when asked
        ctx.options = {"preset": preset, "tune": "zerolatency", "crf": str(crf), "forced-idr": "1",
                       "x264-params": f"keyint=infinite:scenecut=0:repeat-headers=1:vbv-maxrate={max_kbit_s}:"
                       f"vbv-bufsize={max(1, max_kbit_s // 10)}:"
                       "colorprim=smpte170m:transfer=smpte170m:colormatrix=smpte170m:range=tv"}
        ctx.open()
        self._ctx = ctx
        self._pts = 0
        self.frames = 0
        self.key_units = 0

    def encode(self, pixels: npt.NDArray[np.uint8], key: bool = False) -> bytes:
        """One access unit for ``pixels`` (``h x w x 4`` BGRA of this region's
        size); a key unit when ``key`` or when it is the stream's first."""
        import av
        from av.video.frame import PictureType

        if pixels.shape[:2] != (self.height, self.width):
            raise ValueError(f"region is {self.width}x{self.height}, picture {pixels.shape[1]}x{pixels.shape[0]}")
        cw, ch = coded_size(self.width, self.height)
        if (cw, ch) != (self.width, self.height):
            pixels = np.pad(pixels, ((0, ch - self.height), (0, cw - self.width), (0, 0)), mode="edge")
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(pixels), format="bgra").reformat(format="yuv420p")
        frame.pts = self._pts
        self._pts += 1
        key = key or self.frames == 0
        frame.pict_type = PictureType.I if key else PictureType.NONE
        unit = b"".join(bytes(p) for p in self._ctx.encode(frame))
        if not unit:
            raise RuntimeError("x264 held a picture back (it must not, with tune=zerolatency)")
        self.frames += 1
        self.key_units += int(key)
        return unit


class H264Decoder:
    """One region stream's decoder, for the reference viewer. Made from a key
    unit (``ProtocolError`` otherwise); :meth:`decode` returns the picture as
    ``h x w x 3`` RGB cropped to the region.

    Every SPS a unit carries is read first and must give the picture size of
    the region's stream (:func:`coded_size`, in whole macroblocks, cropped to
    exactly that; :func:`desklink.agent.encode.sps.check_unit`), and the
    first unit must carry one: libavcodec never sees an SPS that was not
    checked, so it never sizes its buffers past the rectangle."""

    def __init__(self, width: int, height: int) -> None:
        if not available():
            raise ProtocolError("this viewer cannot decode H.264 (no PyAV): pip install 'desklink[video]'")
        import av

        self.width, self.height = width, height
        self._ctx: Any = av.CodecContext.create("h264", "r")
        self._ctx.thread_count = 1
        self._has_sps = False

    def decode(self, unit: bytes) -> npt.NDArray[np.uint8]:
        import av

        cw, ch = coded_size(self.width, self.height)
        what = f"H.264 unit for the {self.width}x{self.height} rectangle"
        if check_unit(unit, cw, ch, what):
            self._has_sps = True
        elif not self._has_sps:
            raise ProtocolError(f"{what} starts its stream with no SPS (not a key unit)")
        try:
            packet = av.Packet(unit)
            frames = self._ctx.decode(packet)
        except (av.FFmpegError, ValueError) as exc:
            raise ProtocolError(f"H.264 unit would not decode: {exc}") from None
        if len(frames) != 1:
            raise ProtocolError(f"H.264 unit gave {len(frames)} pictures, not one")
        picture = frames[0]
        if (picture.width, picture.height) != (cw, ch):
            raise ProtocolError(f"H.264 picture is {picture.width}x{picture.height}; the rectangle is {self.width}x{self.height}")
        rgb: npt.NDArray[np.uint8] = picture.to_ndarray(format="rgb24")
        return rgb[: self.height, : self.width]
