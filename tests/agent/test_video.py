"""Video mode: the H.264 stream pair (agent/encode/h264.py), the motion
tracker (motion.py) and the encoder's video regions (video.py), all through
the wire format into the reference Canvas.

Stated error for H.264 at the default crf on the smooth moving test picture
(per RGB channel, 0..255): PSNR above 30 dB and a mean absolute error below
5. Once a region calms down its settled picture must be exact.
"""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from desklink.agent.encode import Canvas, ScreenEncoder
from desklink.agent.encode.h264 import MAX_VIDEO_SIDE, NOMINAL_FPS, H264Decoder, max_kbit_s_for, H264Encoder, available, coded_size, is_key_unit, nal_types
from desklink.agent.encode.motion import MotionTracker, VideoSettings
from desklink.errors import ProtocolError
from desklink.protocol.screen import FLAG_KEY, Enc, Frame, Rect, decode

MIN_PSNR = 30.0
MAX_MEAN = 5.0
FPS = 30
STEP = 1.0 / FPS


def moving(w: int, h: int, t: int) -> np.ndarray:
    """A smooth picture that moves with ``t``: what a video looks like to a codec."""
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.empty((h, w, 4), dtype=np.uint8)
    img[:, :, 0] = (128 + 100 * np.sin((xx + 6 * t) / 23.0)).astype(np.uint8)
    img[:, :, 1] = (128 + 100 * np.cos((yy + 4 * t) / 17.0)).astype(np.uint8)
    img[:, :, 2] = np.abs((xx + yy + 5 * t) % 510 - 255).astype(np.uint8)  # a triangle wave: no hard edge
    img[:, :, 3] = 255
    return img


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(255**2 / mse)


def rgb_of(bgra: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(bgra[:, :, 2::-1])


def test_pyav_with_x264_is_installed_for_the_tests() -> None:
    # The test extra includes the video extra: video mode is really exercised.
    assert available()


# -- the stream pair ---------------------------------------------------------


@pytest.mark.parametrize(("w", "h"), [(640, 360), (641, 361), (64, 64), (130, 17)])
def test_round_trip_within_the_stated_error(w: int, h: int) -> None:
    enc, dec = H264Encoder(w, h), H264Decoder(w, h)
    for t in range(12):
        img = moving(w, h, t)
        unit = enc.encode(img, key=(t == 6))
        assert is_key_unit(unit) == (t in (0, 6)), nal_types(unit)
        assert unit.startswith(b"\x00\x00\x00\x01") or unit.startswith(b"\x00\x00\x01")
        out = dec.decode(unit)
        assert out.shape == (h, w, 3)
        assert psnr(out, rgb_of(img)) > MIN_PSNR
        assert np.abs(out.astype(int) - rgb_of(img).astype(int)).mean() < MAX_MEAN
    assert coded_size(w, h) == (w + w % 2, h + h % 2)
    assert enc.key_units == 2 and enc.frames == 12


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(w=st.integers(2, 200), h=st.integers(2, 120), shift=st.integers(0, 40), frames=st.integers(1, 4))
def test_any_size_and_motion_round_trips(w: int, h: int, shift: int, frames: int) -> None:
    enc, dec = H264Encoder(w, h), H264Decoder(w, h)
    for t in range(frames):
        img = moving(w, h, t * shift)
        out = dec.decode(enc.encode(img))
        assert out.shape == (h, w, 3)
        assert psnr(out, rgb_of(img)) > MIN_PSNR - 4  # tiny pictures have little to average over


def test_encoder_refuses_what_it_cannot_code() -> None:
    with pytest.raises(ValueError, match="outside"):
        H264Encoder(0, 10)
    with pytest.raises(ValueError, match="outside"):
        H264Encoder(MAX_VIDEO_SIDE + 1, 10)
    with pytest.raises(ValueError, match="crf"):
        H264Encoder(64, 64, crf=52)
    enc = H264Encoder(64, 64)
    with pytest.raises(ValueError, match="64x64"):
        enc.encode(moving(32, 64, 0))


def test_the_bitrate_cap_and_crf_bound_a_noisy_stream() -> None:
    # Noise is what constant quality codes at any cost: the cap holds it.
    rng = np.random.default_rng(5)
    pictures = [rng.integers(0, 256, (180, 320, 4), dtype=np.uint8) for _ in range(20)]
    sizes = {}
    for cap in (400, 3000):
        enc = H264Encoder(320, 180, max_kbit_s=cap)
        units = [enc.encode(p) for p in pictures]
        sizes[cap] = sum(len(u) for u in units[5:]) / 15  # after the key unit's buffer drained
    per_picture_at_400 = 400_000 / 8 / NOMINAL_FPS
    assert sizes[400] < 1.5 * per_picture_at_400 < sizes[3000], sizes
    smooth = [moving(320, 180, t) for t in range(12)]
    fine = sum(len(H264Encoder(320, 180, crf=18).encode(p)) for p in smooth[:1])
    coarse = sum(len(H264Encoder(320, 180, crf=35).encode(p)) for p in smooth[:1])
    assert coarse < fine / 2
    with pytest.raises(ValueError, match="max_kbit_s"):
        H264Encoder(64, 64, max_kbit_s=99)
    assert max_kbit_s_for(640, 360) == 2764 and max_kbit_s_for(16, 16) == 100
    assert max_kbit_s_for(640, 360, 0.8) == 5529


@pytest.mark.parametrize("payload", [
    b"", b"\x00\x00\x01", b"hello, not video" * 8, b"\x00\x00\x00\x01\x65" + bytes(200),
    b"\x00\x00\x00\x01\x67" + bytes(range(256)) * 8,
])
def test_malformed_units_raise_a_clear_error(payload: bytes) -> None:
    with pytest.raises(ProtocolError, match="H.264"):
        H264Decoder(64, 64).decode(payload)


def test_a_truncated_key_unit_gives_an_error_or_a_picture_of_its_size() -> None:
    # libavcodec conceals a damaged picture rather than failing on it; what
    # must never happen is a hang, a picture of another size, or another error.
    unit = H264Encoder(320, 180).encode(moving(320, 180, 0))
    outcomes = set()
    for cut in range(8, len(unit), max(1, len(unit) // 24)):
        dec = H264Decoder(320, 180)
        try:
            out = dec.decode(unit[:cut])
        except ProtocolError as exc:
            assert "H.264" in str(exc)
            outcomes.add("error")
        else:
            assert out.shape == (180, 320, 3)
            outcomes.add("picture")
    assert "error" in outcomes  # a unit cut inside its headers cannot decode


def test_a_unit_of_another_size_is_refused() -> None:
    unit = H264Encoder(128, 64).encode(moving(128, 64, 0))
    with pytest.raises(ProtocolError, match="128x64"):
        H264Decoder(64, 64).decode(unit)


# -- the canvas: one stream per region ---------------------------------------


def frame(seq: int, *rects: Rect, w: int = 320, h: int = 240, flags: int = 0) -> Frame:
    wire = decode(Frame(seq, seq, w, h, rects, flags).encode(), 1 << 24)
    assert isinstance(wire, Frame)
    return wire


def test_canvas_decodes_regions_and_refuses_a_delta_without_its_key() -> None:
    enc = H264Encoder(100, 60)
    units = [enc.encode(moving(100, 60, t)) for t in range(3)]
    canvas = Canvas()
    canvas.apply(frame(1, Rect.fill(0, 0, 320, 240, (0, 0, 0)), flags=FLAG_KEY))
    with pytest.raises(ProtocolError, match="no key unit before it"):
        canvas.apply(frame(2, Rect(10, 20, 100, 60, Enc.H264, units[1])))
    canvas.apply(frame(3, Rect(10, 20, 100, 60, Enc.H264, units[0])))
    canvas.apply(frame(4, Rect(10, 20, 100, 60, Enc.H264, units[1])))
    assert psnr(canvas.rgb[20:80, 10:110], rgb_of(moving(100, 60, 1))) > MIN_PSNR
    assert (canvas.image[:20] == (0, 0, 0, 255)).all()  # nothing drawn outside the rectangle
    # The same unit at another place is another region: it has no stream.
    with pytest.raises(ProtocolError, match="no key unit before it"):
        canvas.apply(frame(5, Rect(12, 20, 100, 60, Enc.H264, units[2])))
    # A broken unit ends its stream; the next key unit starts a new one.
    with pytest.raises(ProtocolError, match="H.264"):
        canvas.apply(frame(6, Rect(10, 20, 100, 60, Enc.H264, b"\x00\x00\x01\x41" + bytes(50))))
    with pytest.raises(ProtocolError, match="no key unit before it"):
        canvas.apply(frame(7, Rect(10, 20, 100, 60, Enc.H264, units[2])))


def test_canvas_keeps_at_most_max_streams() -> None:
    from desklink.agent.encode.canvas import MAX_STREAMS

    canvas = Canvas()
    for i in range(MAX_STREAMS + 2):
        unit = H264Encoder(32, 32).encode(moving(32, 32, i))
        canvas.apply(frame(i + 1, Rect(i * 32, 0, 32, 32, Enc.H264, unit)))
    assert len(canvas.streams) == MAX_STREAMS
    assert (0, 0, 32, 32) not in canvas.streams  # the oldest went first


def test_the_wire_refuses_a_too_short_h264_payload() -> None:
    raw = Frame(1, 1, 64, 64, (Rect(0, 0, 64, 64, Enc.H264, b"\x00\x00\x01"),)).encode()
    with pytest.raises(ProtocolError, match="h264 rectangle payload is too short"):
        decode(raw, 1 << 20)


# -- the motion tracker --------------------------------------------------------


def run(tracker: MotionTracker, mask: np.ndarray, seconds: float, fps: float, start: float = 0.0) -> float:
    now = start
    while now < start + seconds - 1e-9:
        now += 1.0 / fps
        tracker.observe(mask, now)
    return now


def block(rows: int, cols: int, r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
    m = np.zeros((rows, cols), dtype=np.bool_)
    m[r0:r1, c0:c1] = True
    return m


def test_sustained_motion_at_video_rates_becomes_a_region_and_calm_ends_it() -> None:
    t = MotionTracker(1280, 800, 64)
    motion = block(13, 20, 2, 8, 3, 13)  # 640x384 at (192, 128)
    end = run(t, motion, 0.9, 30)
    assert t.region is None  # not yet a second of it
    end = run(t, motion, 0.5, 30, end)
    assert t.region == (192, 128, 640, 384)
    # Quiet for less than calm_s: still video.
    still = np.zeros_like(motion)
    end = run(t, still, 0.3, 30, end)
    assert t.region == (192, 128, 640, 384)
    end = run(t, still, 0.3, 30, end)
    assert t.region is None
    # Coming back needs the whole second again.
    end = run(t, motion, 0.6, 30, end)
    assert t.region is None
    run(t, motion, 0.7, 30, end)
    assert t.region is not None


def test_typing_a_clock_and_small_motion_never_become_video() -> None:
    t = MotionTracker(1280, 800, 64)
    run(t, block(13, 20, 2, 8, 3, 13), 5, 8)  # below VIDEO_MIN_RATE, however long
    assert t.region is None
    t = MotionTracker(1280, 800, 64)
    run(t, block(13, 20, 2, 4, 3, 4), 5, 30)  # 2 tiles: below VIDEO_MIN_TILES
    assert t.region is None


def test_the_region_grows_but_never_shrinks_or_moves() -> None:
    t = MotionTracker(1280, 800, 64)
    end = run(t, block(13, 20, 2, 4, 2, 4), 1.3, 30)
    assert t.region == (128, 128, 128, 128)
    end = run(t, block(13, 20, 2, 3, 2, 3), 0.2, 30, end)  # part of it still moves
    assert t.region == (128, 128, 128, 128)
    run(t, block(13, 20, 2, 6, 2, 6), 1.3, 30, end)
    assert t.region == (128, 128, 256, 256)


def test_the_region_is_clipped_to_the_screen_edge() -> None:
    t = MotionTracker(1000, 700, 64)  # 1000 = 15 * 64 + 40; 700 = 10 * 64 + 60
    run(t, block(11, 16, 8, 11, 13, 16), 1.3, 30)
    assert t.region == (832, 512, 168, 188)


def test_settings_are_each_honoured() -> None:
    motion = block(13, 20, 2, 8, 3, 13)
    # min_rate: 20 changes/s are needed, 15 is not enough.
    t = MotionTracker(1280, 800, 64, VideoSettings(min_rate=20))
    run(t, motion, 3, 15)
    assert t.region is None
    run(t, motion, 1.3, 30, 3)
    assert t.region is not None
    # after_s: 3 s of motion before video.
    t = MotionTracker(1280, 800, 64, VideoSettings(after_s=3))
    end = run(t, motion, 2.5, 30)
    assert t.region is None
    run(t, motion, 1, 30, end)
    assert t.region is not None
    # min_tiles: 61 tiles needed, 60 moving.
    t = MotionTracker(1280, 800, 64, VideoSettings(min_tiles=61))
    run(t, motion, 3, 30)
    assert t.region is None
    # calm_s: 2 s of quiet before tiles again.
    t = MotionTracker(1280, 800, 64, VideoSettings(calm_s=2))
    end = run(t, motion, 1.3, 30)
    end = run(t, np.zeros_like(motion), 1.5, 30, end)
    assert t.region is not None
    run(t, np.zeros_like(motion), 0.6, 30, end)
    assert t.region is None
    with pytest.raises(ValueError, match="video settings"):
        VideoSettings(min_rate=0)
    with pytest.raises(ValueError, match="video settings"):
        VideoSettings(min_tiles=0)
    # max_pixels: a region over it never starts, and never grows past it.
    t = MotionTracker(1280, 800, 64, VideoSettings(max_pixels=640 * 384 - 1))
    run(t, motion, 3, 30)
    assert t.region is None
    t = MotionTracker(1280, 800, 64, VideoSettings(max_pixels=640 * 384))
    end = run(t, motion, 1.3, 30)
    assert t.region == (192, 128, 640, 384)
    run(t, block(13, 20, 2, 9, 3, 13), 1.3, 30, end)  # one more row moves: over the limit
    assert t.region == (192, 128, 640, 384)
    with pytest.raises(ValueError, match="video settings"):
        VideoSettings(crf=60)
    with pytest.raises(ValueError, match="video settings"):
        VideoSettings(max_bits_per_pixel=0)


# -- the encoder ---------------------------------------------------------------


class Session:
    """An encoder and a reference viewer joined by the wire format at 30 fps."""

    def __init__(self, width: int = 1280, height: int = 720, **options: object) -> None:
        self.enc = ScreenEncoder(width, height, **options)  # type: ignore[arg-type]
        self.canvas = Canvas()
        self.now = 0.0
        self.seq = 0
        self.frames: list[Frame] = []
        self.base = np.full((height, width, 4), 90, dtype=np.uint8)
        self.base[:, :, 3] = 255
        self.base[40:60, 40:400, :3] = (20, 200, 30)

    def picture(self, t: int) -> np.ndarray:
        img = self.base.copy()
        img[100:460, 200:840] = moving(640, 360, t)
        return img

    def step(self, image: np.ndarray | None) -> Frame | None:
        self.now += STEP
        self.seq += 1
        if image is not None:
            self.enc.update(image, self.now)
        f = self.enc.next_frame(self.seq, self.now, int(self.now * 1e6))
        if f is not None:
            wire = decode(f.encode(), 1 << 26)
            assert isinstance(wire, Frame)
            self.canvas.apply(wire)
            self.frames.append(f)
        return f


def encs(f: Frame | None) -> set[Enc]:
    return set() if f is None else {r.enc for r in f.rects}


def test_a_playing_region_goes_video_then_back_to_exact_tiles() -> None:
    s = Session()
    t = 0
    while Enc.H264 not in encs(s.step(s.picture(t))):
        t += 1
        assert t < 2 * FPS, "no video after two seconds at 30 fps"
    first = s.frames[-1]
    video = [r for r in first.rects if r.enc is Enc.H264]
    assert len(video) == 1 and is_key_unit(video[0].payload)
    x, y, w, h = video[0].x, video[0].y, video[0].w, video[0].h
    assert (x, y, w, h) == (192, 64, 704, 448)  # the 640x360 at (200, 100) on the 64-pixel grid
    # While it plays: one delta unit a frame, nothing else; the picture within the stated error.
    for _ in range(15):
        t += 1
        f = s.step(s.picture(t))
        assert f is not None and [r.enc for r in f.rects] == [Enc.H264] and not is_key_unit(f.rects[0].payload)
        shown = s.canvas.rgb[100:460, 200:840]
        assert psnr(shown, rgb_of(moving(640, 360, t))) > MIN_PSNR
    # Unchanged pictures never reach x264.
    units = s.enc.video.stats.units if s.enc.video else 0
    assert s.step(s.picture(t)) is None
    assert s.enc.video is not None and s.enc.video.stats.units == units
    # Something changing elsewhere goes as tiles beside it.
    img = s.picture(t + 1)
    img[600:650, 1000:1100, :3] = 255
    f = s.step(img)
    assert f is not None and Enc.H264 in encs(f) and encs(f) - {Enc.H264}
    # It stops: after calm_s the settled picture comes exact, and tiles again.
    still = img
    for _ in range(30):
        f = s.step(still)
        if f is not None and Enc.H264 not in encs(f) and s.enc.video.region is None:
            break
    assert s.enc.video.region is None and s.enc.video.stats.settled == 1
    assert np.array_equal(s.canvas.image[y : y + h, x : x + w], still[y : y + h, x : x + w])
    # Motion again elsewhere, small: tiles (JPEG), not video.
    img2 = still.copy()
    img2[600:620, 40:80, :3] = 10
    assert Enc.H264 not in encs(s.step(img2))


def test_a_key_request_restarts_the_region_stream() -> None:
    s = Session()
    t = 0
    while Enc.H264 not in encs(s.step(s.picture(t))):
        t += 1
    s.enc.request_key()
    t += 1
    f = s.step(s.picture(t))
    assert f is not None and f.key  # the whole screen as tiles first
    # The next unit starts the stream again, even with nothing new in the region.
    f = s.step(s.picture(t))
    assert f is not None and [r.enc for r in f.rects] == [Enc.H264] and is_key_unit(f.rects[0].payload)
    # A fresh viewer (a new Canvas) can follow from there.
    fresh = Canvas()
    fresh.apply(s.frames[-2])
    fresh.apply(s.frames[-1])
    for _ in range(3):
        t += 1
        fresh.apply(s.step(s.picture(t)))  # type: ignore[arg-type]
    assert psnr(fresh.rgb[100:460, 200:840], rgb_of(moving(640, 360, t))) > MIN_PSNR


def test_a_region_that_grows_starts_a_new_stream_with_a_key_unit() -> None:
    s = Session()
    t = 0
    while Enc.H264 not in encs(s.step(s.picture(t))):
        t += 1
    boxes = set()
    for _ in range(2 * FPS):
        t += 1
        img = s.picture(t)
        img[500:600, 900:1000] = moving(100, 100, t + 50)  # a second animation, later
        f = s.step(img)
        for r in (f.rects if f else ()):
            if r.enc is Enc.H264:
                boxes.add((r.x, r.y, r.w, r.h, is_key_unit(r.payload)))
    grown = [b for b in boxes if b[:4] != (192, 64, 704, 448)]
    assert grown and all(b[:4] == (192, 64, 832, 576) for b in grown)  # their bounding box
    assert (192, 64, 832, 576, True) in boxes
    assert psnr(s.canvas.rgb[500:600, 900:1000], rgb_of(moving(100, 100, t + 50))) > MIN_PSNR


def test_video_off_means_tiles_only() -> None:
    s = Session(video=None)
    for t in range(3 * FPS):
        assert Enc.H264 not in encs(s.step(s.picture(t)))
    assert s.enc.video is None


def test_without_pyav_the_agent_never_enters_video_mode() -> None:
    # A real interpreter where PyAV cannot be imported (as on an install
    # without the video extra): the encoder works and never makes video.
    code = """
import sys
sys.modules['av'] = None  # import av raises ImportError
import importlib.util
real = importlib.util.find_spec
importlib.util.find_spec = lambda name, *a: None if name == 'av' else real(name, *a)
import numpy as np
from desklink.agent.encode import ScreenEncoder, Canvas
from desklink.agent.encode.h264 import available
from desklink.protocol.screen import Enc
assert not available()
enc, canvas = ScreenEncoder(640, 480), Canvas()
kinds = set()
for t in range(60):
    img = np.zeros((480, 640, 4), np.uint8); img[..., 3] = 255
    img[50:400, 50:600, :3] = (t * 4) % 256
    enc.update(img, t / 30)
    f = enc.next_frame(t + 1, t / 30, t)
    if f:
        canvas.apply(f)
        kinds |= {r.enc for r in f.rects}
assert Enc.H264 not in kinds and enc.video is None, kinds
print("tiles only", sorted(k.name for k in kinds))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "tiles only" in done.stdout


def test_scrolling_text_at_video_rates_stays_copies_and_tiles() -> None:
    # A full-screen page scrolled 3 lines a frame at 30 fps for 3 s: every
    # tile changes every frame, but as a move (COPY) plus the uncovered lines.
    from ._screens import long_page, view

    page = long_page(1280, 720 + 100 * 54, seed=3)
    s = Session()
    for k in range(3 * FPS):
        f = s.step(view(page, 54 * k, 720))
        assert Enc.H264 not in encs(f)
    assert sum(Enc.COPY in encs(f) for f in s.frames) > 2 * FPS
    assert s.enc.video is not None and s.enc.video.stats.regions == 0


def test_tracker_forgets_changes_that_were_moves() -> None:
    t = MotionTracker(1280, 800, 64)
    motion = block(13, 20, 2, 8, 3, 13)
    now = 0.0
    for _ in range(3 * FPS):
        now += STEP
        t.observe(motion, now)
        t.moved(motion)
    assert t.region is None
    t.moved(motion)  # nothing to forget twice: counts never go negative
    assert int(t._counts.min()) == 0


def test_the_encoder_caps_a_noisy_region_by_its_size() -> None:
    rng = np.random.default_rng(9)
    sizes = {}
    for bpp in (0.05, 0.4):
        s = Session(video=VideoSettings(max_bits_per_pixel=bpp))
        for _ in range(2 * FPS):
            img = s.base.copy()
            img[100:460, 200:840, :3] = rng.integers(0, 256, (360, 640, 3), dtype=np.uint8)
            s.step(img)
        units = [len(r.payload) for f in s.frames for r in f.rects if r.enc is Enc.H264][5:]
        assert len(units) > 10
        sizes[bpp] = sum(units) / len(units)
    cap = max_kbit_s_for(704, 448, 0.05) * 1000 / 8 / NOMINAL_FPS
    assert sizes[0.05] < 1.5 * cap < sizes[0.4], (sizes, cap)


def settle_region(width: int, height: int, box: tuple[int, int, int, int], content, hold=None) -> tuple[Session, Frame]:  # type: ignore[no-untyped-def]
    """Play ``content(t)`` in ``box`` until video mode, then hold it (or
    ``hold``, a picture of the box); the frame that settled it."""
    s = Session(width, height)
    s.base = np.full((height, width, 4), 90, dtype=np.uint8)
    s.base[:, :, 3] = 255
    x, y, w, h = box
    t = 0
    img = s.base
    while s.enc.video is not None and s.enc.video.region is None:
        img = s.base.copy()
        img[y : y + h, x : x + w] = content(t)
        s.step(img)
        t += 1
        assert t < 3 * FPS
    if hold is not None:
        img = img.copy()
        img[y : y + h, x : x + w] = hold
    for _ in range(2 * FPS):
        f = s.step(img)
        if s.enc.video.region is None:
            assert f is not None
            return s, f
    raise AssertionError("the region never settled")


def test_a_settled_region_too_large_for_png_comes_at_refine_quality() -> None:
    from desklink.agent.encode.video import SETTLED_JPEG_QUALITY, SETTLED_PNG_MAX_BYTES, SETTLED_PNG_MAX_PIXELS

    # 1280x704 on the grid: over SETTLED_PNG_MAX_PIXELS.
    s, f = settle_region(1920, 1080, (320, 192, 1280, 704), lambda t: moving(1280, 704, t))
    assert 1280 * 704 > SETTLED_PNG_MAX_PIXELS
    assert [r.enc for r in f.rects] == [Enc.JPEG]
    assert SETTLED_JPEG_QUALITY == s.enc.refine_quality
    assert s.enc.sent_image is not None
    diff = np.abs(s.canvas.image[192:896, 320:1600, :3].astype(int) - s.enc.sent_image[192:896, 320:1600, :3].astype(int))
    assert diff.mean() < 2.0  # as the tiles' refined pictures (tests/agent/test_encoder.py)
    # Under the pixels but over SETTLED_PNG_MAX_BYTES: noise, 768x576 on the grid.
    rng = np.random.default_rng(2)

    def noise(t: int) -> np.ndarray:
        img = rng.integers(0, 256, (576, 768, 4), dtype=np.uint8)
        img[:, :, 3] = 255
        return img

    s, f = settle_region(1280, 720, (64, 64, 768, 576), noise)
    assert 768 * 576 <= SETTLED_PNG_MAX_PIXELS
    assert [r.enc for r in f.rects] == [Enc.JPEG]
    assert len(f.rects[0].payload) < SETTLED_PNG_MAX_BYTES
    # A film-like region of 640x360 under both: exact.
    s, f = settle_region(1280, 720, (192, 64, 640, 384), lambda t: moving(640, 384, t))
    assert [r.enc for r in f.rects] == [Enc.PNG]
    assert s.enc.sent_image is not None
    assert np.array_equal(s.canvas.image[64:448, 192:832], s.enc.sent_image[64:448, 192:832])


#: A terminal font for flood_text: 40 glyphs of 8x16, the first column and
#: row of each left empty (as a font's spacing leaves them), glyph 0 a space.
_FONT = np.random.default_rng(99).random((40, 16, 8)) < 0.4
_FONT[:, 0, :] = _FONT[:, :, 0] = False
_FONT[0] = False


def flood_text(t: int) -> np.ndarray:
    """A 1280x704 terminal's text at time ``t``: a new screenful of glyphs."""
    codes = np.random.default_rng(t).integers(0, 40, (704 // 16, 1280 // 8))
    ink = _FONT[codes].transpose(0, 2, 1, 3).reshape(704, 1280)
    img = np.empty((704, 1280, 4), dtype=np.uint8)
    img[...] = (30, 30, 30, 255)
    img[ink] = (220, 220, 220, 255)
    return img


def test_text_flooding_at_video_rates_never_becomes_video() -> None:
    """A terminal flooding output changes as fast as a video, but goes as
    character cells (PALETTE's CELLS form), exact and far smaller than H.264
    would code it: those tiles do not count towards video mode, however long
    the flood lasts."""
    from desklink.agent.encode.palette import is_cells

    s = Session(1920, 1080)
    base = np.full((1080, 1920, 4), 90, dtype=np.uint8)
    base[:, :, 3] = 255
    for t in range(3 * FPS):
        img = base.copy()
        img[192:896, 320:1600] = flood_text(t)
        f = s.step(img)
        assert f is not None and {r.enc for r in f.rects} <= {Enc.PALETTE, Enc.FILL, Enc.COPY}, [r.enc for r in f.rects]
        assert np.array_equal(s.canvas.image[:, :, :3], img[:, :, :3]), t
        assert t == 0 or any(is_cells(r) for r in f.rects), t
    assert s.enc.video is not None and s.enc.video.region is None and s.enc.video.stats.regions == 0


def test_a_flat_colour_animation_still_becomes_video() -> None:
    """Few colours are not text: an animation of flat colour blocks (what
    tests/screen/_animation.py paints) codes as PALETTE tile by tile, yet
    changes at video rates everywhere, and becomes a video region."""
    def blocks(t: int) -> np.ndarray:
        img = np.empty((360, 640, 4), dtype=np.uint8)
        img[:, :, 3] = 255
        for i in range(60):
            r, c = divmod(i, 10)
            img[r * 60 : (r + 1) * 60, c * 64 : (c + 1) * 64, :3] = ((i * 37 + t * 11) % 256, (i * 91 + t * 7) % 256, (i * 53 + t * 13) % 256)
        img[:, (t * 9) % 600 : (t * 9) % 600 + 40, :3] = 255
        return img

    s, f = settle_region(1280, 800, (192, 128, 640, 360), blocks)
    assert s.enc.video is not None and s.enc.video.stats.regions == 1


def test_a_video_region_that_settles_on_text_ends_pixel_exact() -> None:
    """A video region whose last picture is text (a player closed over a
    terminal) is coded as the tile coder codes text (PALETTE), exact, even
    past SETTLED_PNG_MAX_PIXELS."""
    from desklink.agent.encode.video import SETTLED_PNG_MAX_PIXELS

    assert 1280 * 704 > SETTLED_PNG_MAX_PIXELS
    s, f = settle_region(1920, 1080, (320, 192, 1280, 704), lambda t: moving(1280, 704, t), hold=flood_text(0))
    assert f.rects and {r.enc for r in f.rects} <= {Enc.PALETTE, Enc.FILL}, [r.enc for r in f.rects]
    assert s.enc.sent_image is not None
    assert np.array_equal(s.canvas.image[192:896, 320:1600], s.enc.sent_image[192:896, 320:1600])
