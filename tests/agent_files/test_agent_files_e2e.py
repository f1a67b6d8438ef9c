"""Files through the real agent, a real server and a scripted console: the
visitor allows files in the agent; a 50 MB file goes rep -> agent and one
agent -> rep with equal hashes; a connection cut mid-transfer resumes with
little sent again; the file has its final name only once verified; and
while 100 MB go, the screen keeps flowing to the viewer."""

from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
import time
from pathlib import Path

from desklink.agent.file_paths import PART_SUFFIX
from desklink.protocol import limits
from desklink.testing import CuttableProxy, ServerProcess, ViewerClient, wait_until
from desklink.testing_x import XDisplay
from screen._agent import Chat, finish

from ._e2e import RepUpload, answer, download, granted_files, start_agent

MB = 1024 * 1024


async def _sharing(server: ServerProcess, display: XDisplay, chat: Chat, home: Path, url: str | None = None,
                   *extra: str) -> tuple[ViewerClient, subprocess.Popen[str]]:
    viewer = await ViewerClient.connect(server, chat.username, chat.password, chat.session_id)
    agent = start_agent(display, url or server.url, (await chat.offer())["code"], home, *extra)
    answer(agent, "y")  # view
    await viewer.wait_status("sharing")
    await granted_files(viewer, agent)
    return viewer, agent


async def _stop(viewer: ViewerClient, agent: subprocess.Popen[str]) -> str:
    await viewer.send({"t": "screen.stop"})
    code, out = await finish(agent)
    await viewer.close()
    assert code == 0, out
    return out


async def test_a_file_each_way_with_equal_hashes(server: ServerProcess, display: XDisplay, chat: Chat, tmp_path: Path) -> None:
    home = tmp_path / "home"
    viewer, agent = await _sharing(server, display, chat, home)
    # Rep -> this computer: 50 MB into the visitor's Downloads folder.
    data = os.urandom(50 * MB)
    up = RepUpload(chat.rep, chat.session_id, data, "tools/setup.bin")
    await up.offer()
    answer(agent, "y")  # save it in Downloads
    started = time.monotonic()
    await up.send_all()
    state = await up.wait_status("delivered", timeout=120)
    took = time.monotonic() - started
    saved = home / "Downloads" / "tools" / "setup.bin"
    assert hashlib.sha256(saved.read_bytes()).hexdigest() == up.sha256 == state["sha256"]
    assert not list((home / "Downloads").rglob("*" + PART_SUFFIX))
    print(f"\nrep -> agent: 50 MB in {took:.1f} s = {50 / took:.1f} MB/s")

    # This computer -> rep: the rep asks, the visitor types the path.
    mine = tmp_path / "report.bin"
    mine.write_bytes(os.urandom(50 * MB))
    await chat.rep.send({"t": "file.ask", "session_id": chat.session_id, "note": "the report please"})
    started = time.monotonic()
    answer(agent, str(mine))
    ready = await chat.rep.expect("file.state", timeout=120, name="report.bin", status="ready")
    took = time.monotonic() - started
    assert ready["via"] == "agent" and ready["sender"] == "visitor"
    assert ready["sha256"] == hashlib.sha256(mine.read_bytes()).hexdigest()
    got = await download(server, chat, ready["download"])
    assert got == mine.read_bytes()
    print(f"agent -> rep: 50 MB (hashing included) in {took:.1f} s = {50 / took:.1f} MB/s")
    await _stop(viewer, agent)


async def test_a_cut_connection_resumes_and_the_name_waits_for_verification(
    server: ServerProcess, display: XDisplay, chat: Chat, tmp_path: Path
) -> None:
    proxy = CuttableProxy(server.port)
    await proxy.start()
    home, dest = tmp_path / "home", tmp_path / "inbox"
    try:
        viewer, agent = await _sharing(server, display, chat, home, proxy.via().url, "--files-dir", str(dest))
        data = os.urandom(50 * MB)
        up = RepUpload(chat.rep, chat.session_id, data, "disk.img")
        await up.offer()
        answer(agent, "y")
        sending = asyncio.ensure_future(up.send_all())
        down_before = proxy.down_bytes

        def held() -> int:
            parts = list(dest.glob("*" + PART_SUFFIX))
            return parts[0].stat().st_size if parts else 0

        await wait_until(lambda: held() >= 15 * MB, 60, "15 MB at the agent")
        assert not (dest / "disk.img").exists()  # not verified yet: no final name
        at_cut = held()
        proxy.cut()
        await sending
        state = await up.wait_status("delivered", timeout=120)
        assert state["sha256"] == up.sha256
        assert hashlib.sha256((dest / "disk.img").read_bytes()).hexdigest() == up.sha256
        assert not list(dest.glob("*" + PART_SUFFIX))
        relayed = proxy.down_bytes - down_before
        resent = relayed - len(data)
        assert proxy.connections >= 2  # the agent came back on a new connection
        # Only what was in flight at the cut (a few credit windows) goes again, never the file.
        assert resent < 4 * limits.FILE_WINDOW_BYTES + 2 * MB, resent
        print(f"\ncut at {at_cut / MB:.1f} MB; bytes relayed to the agent {relayed / MB:.2f} MB for a 50 MB file "
              f"(sent again: {max(resent, 0) / MB:.2f} MB)")

        # The other way: the visitor's upload is cut too, and goes on with file.resume.
        mine = tmp_path / "upload.bin"
        mine.write_bytes(os.urandom(50 * MB))
        await chat.rep.send({"t": "file.ask", "session_id": chat.session_id})
        up_before, connections = proxy.up_bytes, proxy.connections
        answer(agent, str(mine))

        def received() -> int:
            states = [m for m in chat.rep.received if m.get("t") == "file.state" and m.get("name") == "upload.bin"]
            return int(states[-1]["received"]) if states else 0

        async def pull() -> None:
            while True:
                try:
                    await chat.rep.recv(0.2)
                except TimeoutError:
                    pass

        puller = asyncio.ensure_future(pull())
        try:
            # Cut by the bytes the proxy has seen go up (live), not by the
            # server's progress reports (a few a second: a fast upload could
            # be over before one says 10 MB).
            await wait_until(lambda: proxy.up_bytes - up_before >= 10 * MB, 60, "10 MB of the visitor's upload on the wire")
            proxy.cut()
            await wait_until(lambda: proxy.connections > connections, 60, "the agent back on a new connection")
            await wait_until(lambda: any(m.get("t") == "file.state" and m.get("name") == "upload.bin" and m["status"] == "ready"
                                         for m in chat.rep.received), 120, "the upload verified")
        finally:
            puller.cancel()
            await asyncio.gather(puller, return_exceptions=True)
        ready = [m for m in chat.rep.received if m.get("t") == "file.state" and m.get("status") == "ready"
                 and m.get("name") == "upload.bin"][-1]
        assert proxy.connections > connections
        assert await download(server, chat, ready["download"]) == mine.read_bytes()
        sent_up = proxy.up_bytes - up_before
        assert sent_up - 50 * MB < 4 * limits.FILE_WINDOW_BYTES + 2 * MB, sent_up
        print(f"visitor's upload cut at {10} MB or more: {sent_up / MB:.2f} MB went up for a 50 MB file")
        out = await _stop(viewer, agent)
        assert out.count("sends you a file") == 1, out  # the visitor was asked once
    finally:
        await proxy.stop()


async def test_a_restarted_agent_is_asked_again_and_resumes_the_file(
    server: ServerProcess, display: XDisplay, chat: Chat, tmp_path: Path
) -> None:
    """The agent process dies mid-transfer (kill -9) and the visitor runs it
    again with a new code: view and files are asked again (the old yes does
    not carry over), and the file goes on from what the temporary file holds."""
    home, dest = tmp_path / "home", tmp_path / "inbox"
    viewer, first = await _sharing(server, display, chat, home, None, "--files-dir", str(dest))
    data = os.urandom(30 * MB)
    up = RepUpload(chat.rep, chat.session_id, data, "restart.bin")
    await up.offer()
    answer(first, "y")
    sending = asyncio.ensure_future(up.send_all())

    def held() -> int:
        parts = list(dest.glob("*" + PART_SUFFIX))
        return parts[0].stat().st_size if parts else 0

    await wait_until(lambda: held() >= 8 * MB, 60, "8 MB at the first agent")
    first.kill()
    first.wait()
    for pipe in (first.stdin, first.stdout):
        if pipe is not None:
            pipe.close()
    await sending  # the upload to the server goes on meanwhile
    second = start_agent(display, server.url, (await chat.offer())["code"], home, "--files-dir", str(dest))
    answer(second, "y")  # view, asked again
    await viewer.wait_status("sharing")
    from ._e2e import wait_files

    await wait_files(viewer, "asking")  # files, asked again without the rep asking
    at_restart = held()
    answer(second, "y")
    state = await up.wait_status("delivered", timeout=120)
    assert state["sha256"] == up.sha256
    assert hashlib.sha256((dest / "restart.bin").read_bytes()).hexdigest() == up.sha256
    assert not list(dest.glob("*" + PART_SUFFIX))
    assert at_restart >= 8 * MB
    print(f"\nagent killed at {at_restart / MB:.1f} MB; the new agent went on from there")
    await _stop(viewer, second)


async def test_the_visitor_refuses_a_file_and_declines_a_request(
    server: ServerProcess, display: XDisplay, chat: Chat, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    viewer, agent = await _sharing(server, display, chat, home)
    up = RepUpload(chat.rep, chat.session_id, b"not wanted", "unwanted.exe")
    await up.offer()
    await up.send_all()
    answer(agent, "n")
    state = await up.wait_status("refused")
    assert "refused" in state["reason"]
    assert not (home / "Downloads").exists() or list((home / "Downloads").iterdir()) == []
    await chat.rep.send({"t": "file.ask", "session_id": chat.session_id, "note": "a screenshot"})
    answer(agent, "")  # an empty line: nothing is sent
    asked = await chat.rep.expect("file.asked", answer="none")
    assert asked["session_id"] == chat.session_id
    # The rep gives file access back: the agent says so to the visitor.
    await viewer.send({"t": "files.release"})
    await wait_until(lambda: viewer.states[-1]["privileges"]["files"] == "off", 10, "files off")
    out = await _stop(viewer, agent)
    assert "File sharing ended: the support rep stopped file sharing." in out, out


async def test_the_screen_keeps_flowing_while_100_mb_go(
    server: ServerProcess, display: XDisplay, chat: Chat, tmp_path: Path
) -> None:
    term = subprocess.Popen(
        ["xterm", "-geometry", "100x30+0+0", "-e", "bash", "--norc", "-c", "while :; do date +%s.%N; sleep 0.02; done"],
        env=display.env,
    )
    display.children.append(term)
    display.wait_window("bash")
    dest = tmp_path / "inbox"
    viewer, agent = await _sharing(server, display, chat, tmp_path / "home", None, "--files-dir", str(dest))
    await wait_until(lambda: viewer.frames > 5, 20, "frames before the transfer")
    data = os.urandom(100 * MB)
    up = RepUpload(chat.rep, chat.session_id, data, "big.bin")
    await up.offer()
    answer(agent, "y")
    frames_at_start, started = viewer.frames, time.monotonic()
    await up.send_all()
    await up.wait_status("delivered", timeout=180)
    took = time.monotonic() - started
    during = [t for t, _, _ in viewer.arrivals if started <= t <= started + took]
    gaps = [b - a for a, b in zip(during, during[1:], strict=False)]
    assert hashlib.sha256((dest / "big.bin").read_bytes()).hexdigest() == up.sha256
    assert len(during) >= 10, (len(during), viewer.frames, frames_at_start)
    print(f"\n100 MB rep -> agent in {took:.1f} s = {100 / took:.1f} MB/s; {len(during)} frames reached the viewer meanwhile "
          f"({len(during) / took:.1f} fps), longest gap {max(gaps, default=0):.2f} s")
    await _stop(viewer, agent)


async def test_a_full_disk_on_the_visitors_computer_says_so_and_leaves_nothing(
    server: ServerProcess, display: XDisplay, chat: Chat, tmp_path: Path
) -> None:
    """The visitor's chosen folder is on a 4 MB file system and the rep sends
    10 MB: both sides are told in words, no partial file is left, and the
    session goes on (a small file fits afterwards)."""
    small = tmp_path / "small"
    small.mkdir()
    await asyncio.to_thread(subprocess.run, ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(small)], check=True, capture_output=True)
    try:
        viewer, agent = await _sharing(server, display, chat, tmp_path / "home", None, "--files-dir", str(small))
        up = RepUpload(chat.rep, chat.session_id, os.urandom(10 * MB), "huge.bin")
        await up.offer()
        answer(agent, "y")
        # Sends until everything went or the transfer ended (a final
        # file.state, which send_all keeps for wait_status).
        await up.send_all()
        failed = await up.wait_status("failed", timeout=60)
        assert "the disk is full" in str(failed["reason"]), failed
        assert list(small.iterdir()) == []  # nothing half-written, under any name
        fits = RepUpload(chat.rep, chat.session_id, os.urandom(MB), "fits.bin")
        await fits.offer()
        answer(agent, "y")
        await fits.send_all()
        await fits.wait_status("delivered", timeout=60)
        assert hashlib.sha256((small / "fits.bin").read_bytes()).hexdigest() == fits.sha256
        await _stop(viewer, agent)
    finally:
        await asyncio.to_thread(subprocess.run, ["umount", "--lazy", str(small)], check=True)
