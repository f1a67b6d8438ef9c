"""The reference viewer (Canvas) and the JPEG/FILL helpers."""

from __future__ import annotations

import numpy as np
import pytest

from ._screens import errors, photo, text_page
from desklink.agent.encode.canvas import Canvas
from desklink.agent.encode.jpeg import decode_jpeg, encode_jpeg, flat_color
from desklink.errors import ProtocolError
from desklink.protocol.screen import FLAG_KEY, Enc, Frame, Rect


def key_of(img: np.ndarray) -> Frame:
    h, w = img.shape[:2]
    data = encode_jpeg(img, 0, 0, w, h, quality=95, subsampling="444")
    return Frame(1, 0, w, h, (Rect(0, 0, w, h, Enc.JPEG, data),), FLAG_KEY)


class TestCanvas:
    def test_copy_reads_the_picture_before_the_rect(self) -> None:
        c = Canvas()
        img = text_page(128, 96)
        c.apply(key_of(img))
        before = c.image.copy()
        c.apply(Frame(2, 0, 128, 96, (Rect.copy(0, 10, 128, 80, 0, 0),)))  # down 10, overlapping
        np.testing.assert_array_equal(c.image[10:90], before[0:80])
        np.testing.assert_array_equal(c.image[:10], before[:10])
        before = c.image.copy()
        c.apply(Frame(3, 0, 128, 96, (Rect.copy(0, 0, 128, 80, 0, 16),)))  # up 16, overlapping
        np.testing.assert_array_equal(c.image[0:80], before[16:96])

    def test_rects_apply_in_order(self) -> None:
        c = Canvas()
        c.apply(Frame(1, 0, 32, 32, (Rect.fill(0, 0, 32, 32, (255, 0, 0)), Rect.fill(8, 8, 8, 8, (0, 0, 255)),
                                     Rect.copy(0, 0, 16, 16, 8, 8)), FLAG_KEY))
        assert tuple(c.image[0, 0]) == (255, 0, 0, 255)  # BGRA: blue, copied from (8, 8)
        assert tuple(c.rgb[31, 31]) == (255, 0, 0)  # red fill
        assert c.size == (32, 32) and c.frames == 1

    def test_jpeg_rect(self) -> None:
        c = Canvas()
        c.apply(Frame(1, 0, 100, 50, (Rect.fill(0, 0, 100, 50, (0, 0, 0)),), FLAG_KEY))
        pic = photo(40, 30)
        c.apply(Frame(2, 0, 100, 50, (Rect(10, 5, 40, 30, Enc.JPEG, encode_jpeg(pic, 0, 0, 40, 30, quality=95)),)))
        assert errors(c.image[5:35, 10:50], pic)[0] < 3
        assert (c.image[:5, :, :3] == 0).all() and (c.image[:, 50:, :3] == 0).all()  # the rest untouched

    def test_size_change_without_key_starts_black(self) -> None:
        c = Canvas()
        c.apply(key_of(photo(64, 64)))
        c.apply(Frame(2, 0, 80, 40, (Rect.fill(0, 0, 8, 8, (9, 9, 9)),)))
        assert c.size == (80, 40)
        assert (c.image[20:, 20:, :3] == 0).all() and (c.image[..., 3] == 255).all()

    def test_bad_rects_raise_protocol_errors(self) -> None:
        c = Canvas()
        c.apply(key_of(photo(64, 64)))
        jpeg_10 = encode_jpeg(photo(10, 10), 0, 0, 10, 10, quality=80)
        for rect in (Rect(0, 0, 12, 10, Enc.JPEG, jpeg_10),  # size mismatch
                     Rect(0, 0, 10, 10, Enc.JPEG, b"\xff\xd8 not a jpeg"),
                     Rect(60, 0, 10, 10, Enc.JPEG, jpeg_10),  # outside
                     Rect.copy(0, 0, 10, 10, 60, 0)):  # source outside
            with pytest.raises(ProtocolError):
                c.apply(Frame(2, 0, 64, 64, (rect,)))


class TestJpeg:
    def test_round_trip_qualities(self) -> None:
        img = text_page(200, 120)
        crisp = decode_jpeg(encode_jpeg(img, 0, 0, 200, 120, quality=90, subsampling="444"))
        rough = decode_jpeg(encode_jpeg(img, 0, 0, 200, 120, quality=60, subsampling="420"))
        assert crisp.shape == (120, 200, 4) and crisp.dtype == np.uint8
        assert errors(img, crisp)[0] < errors(img, rough)[0]

    def test_region_of_a_larger_picture(self) -> None:
        img = photo(300, 200)
        tile = decode_jpeg(encode_jpeg(img, 33, 17, 64, 50, quality=95, subsampling="444"))
        assert tile.shape[:2] == (50, 64)
        assert errors(img[17:67, 33:97], tile)[0] < 3

    def test_bad_arguments(self) -> None:
        img = photo(20, 20)
        with pytest.raises(ValueError):
            encode_jpeg(img, 0, 0, 20, 20, quality=0)
        with pytest.raises(ValueError):
            encode_jpeg(img, 10, 10, 20, 20, quality=80)
        with pytest.raises(ValueError):
            decode_jpeg(b"nope")

    def test_flat_color(self) -> None:
        img = np.zeros((40, 40, 4), np.uint8)
        img[..., :3] = (10, 20, 30)  # BGR
        img[..., 3] = np.arange(40, dtype=np.uint8)[None, :]  # the fourth byte is ignored
        assert flat_color(img, 0, 0, 40, 40) == (30, 20, 10)
        img[39, 0, 0] = 11  # a corner
        assert flat_color(img, 0, 0, 40, 40) is None
        assert flat_color(img, 0, 0, 40, 39) == (30, 20, 10)
        img[7, 13, 1] = 0  # inside, not a sampled point
        assert flat_color(img, 0, 0, 40, 39) is None
