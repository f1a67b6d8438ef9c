"""Video mode on a real X server with the real agent: a Tk program animating
640x360 at 30 fps makes the agent code that region with H.264 (frames carry
encoding 5, decoded by the reference viewer with PyAV); when it stops, the
region goes back to tiles and the settled picture arrives exact."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from desklink.protocol.screen import Enc
from desklink.testing import ServerProcess, ViewerClient, wait_until
from desklink.testing_x import XDisplay

from ._agent import Chat, finish, start_agent
from ._animation import TITLE

HERE = Path(__file__).parent
X, Y, W, H = 200, 120, 640, 360


async def test_an_animation_switches_to_video_and_back_to_exact_tiles(
    server: ServerProcess, display: XDisplay, chat: Chat, tmp_path: Path
) -> None:
    stop = tmp_path / "stop"
    display.spawn(sys.executable, str(HERE / "_animation.py"), str(stop), str(X), str(Y))
    display.wait_window(TITLE)
    viewer = await ViewerClient.connect(server, chat.username, chat.password, chat.session_id)
    offer = await chat.offer()
    agent = start_agent(display, server, offer["code"], terminal=True, answer="y\n")
    await viewer.wait_status("sharing")

    # Sustained motion at video rate: frames carry H.264 units (encoding 5),
    # which the reference viewer decodes (a decode error would end its reader).
    await wait_until(lambda: any(Enc.H264 in e for e in viewer.encodings), 90, "a frame with an H.264 region")
    first = next(i for i, e in enumerate(viewer.encodings) if Enc.H264 in e)
    await wait_until(lambda: sum(Enc.H264 in e for e in viewer.encodings) >= 10, 60, "ten H.264 frames")
    assert not viewer.errors
    assert viewer.canvas.size == (1280, 800)

    # The region is the animation on the 64-pixel tile grid.
    bx, by, bw, bh = viewer.video_boxes[-1]
    assert bx <= X and by <= Y and bx + bw >= X + W and by + bh >= Y + H, viewer.video_boxes[-1]
    assert bw * bh <= (W + 128) * (H + 128)

    # It stops: the region settles, goes back to tiles, and the picture arrives exact.
    stop.touch()

    def exact() -> bool:
        shown = viewer.canvas.rgb[by : by + bh, bx : bx + bw]
        return bool(np.array_equal(shown, display.screenshot()[by : by + bh, bx : bx + bw]))

    try:
        await wait_until(exact, 60, "the settled animation, pixel-exact")
    except TimeoutError:
        diff = np.abs(viewer.canvas.rgb.astype(int) - display.screenshot().astype(int))[by : by + bh, bx : bx + bw]
        rows, cols = np.nonzero(diff.max(axis=2))
        raise AssertionError(f"not exact: {len(rows)} pixels differ, max {diff.max()}, rows {rows.min()}-{rows.max()}, "
                             f"cols {cols.min()}-{cols.max()} of the region {viewer.video_boxes[-1]}; "
                             f"boxes {sorted(set(viewer.video_boxes))}, last encodings {viewer.encodings[-8:]}") from None
    video_frames = [i for i, e in enumerate(viewer.encodings) if Enc.H264 in e]
    last_video = video_frames[-1]
    assert last_video > first
    after = viewer.encodings[last_video + 1 :]
    assert after and any(Enc.PNG in e or Enc.FILL in e for e in after), viewer.encodings[last_video:]
    # And it stays tiles: nothing moves, nothing more comes as video.
    count = len(viewer.encodings)
    await viewer.settle(quiet_s=1.0)
    assert all(Enc.H264 not in e for e in viewer.encodings[count:])
    assert exact()

    await viewer.send({"t": "screen.stop"})
    await viewer.wait_status("stopped")
    code, out = await finish(agent)
    assert code == 0, out
    await viewer.close()


async def test_no_video_keeps_the_animation_in_tiles(
    server: ServerProcess, display: XDisplay, chat: Chat, tmp_path: Path
) -> None:
    display.spawn(sys.executable, str(HERE / "_animation.py"), str(tmp_path / "stop"), str(X), str(Y))
    display.wait_window(TITLE)
    viewer = await ViewerClient.connect(server, chat.username, chat.password, chat.session_id)
    offer = await chat.offer()
    agent = start_agent(display, server, offer["code"], terminal=True, answer="y\n", extra=["--no-video"])
    await viewer.wait_status("sharing")
    # Well past the second of motion that makes video mode (at any frame rate
    # the loaded machine allows, the frames keep coming), never encoding 5.
    await wait_until(lambda: len(viewer.encodings) >= 90, 120, "90 frames of the animation")
    assert all(Enc.H264 not in e for e in viewer.encodings)
    assert sum(Enc.JPEG in e for e in viewer.encodings) >= 60
    await viewer.send({"t": "screen.stop"})
    await viewer.wait_status("stopped")
    code, out = await finish(agent)
    assert code == 0, out
    await viewer.close()
