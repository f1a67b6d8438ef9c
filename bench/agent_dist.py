"""The one-file agent as visitors get it: its size, and its cold start, from
starting the downloaded file to the rep's first frame.

Run: .venv/bin/python bench/agent_dist.py [--agent FILE] [--starts N]

* size: the one-file agent (``desklink build-agent``, PyInstaller) and the
  agent wheel; without ``--agent`` the script builds both first and times it.
* cold start: a real ``desklink serve`` (its agent folder holding the build),
  a rep and a visitor in a chat, and for each start a fresh join code, the
  agent downloaded from ``/download/<file>?code=…`` (so it reads code and
  server from its own name), started with no Python on its PATH on a 1920x1080
  Xvfb, the visitor's yes already typed (``--terminal``). Measured: start ->
  the rep's viewer sees ``sharing`` (the agent unpacked itself, imported its
  libraries, connected, joined and got consent) and start -> the first
  frame at the viewer. Each start unpacks the executable afresh into a new
  temporary folder (PyInstaller's one-file mode); the file itself is in the
  page cache after the first start, as on a visitor's machine after the
  download. The same for ``python -m desklink agent`` from the project's
  virtual environment, for comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from _measure import Table, machine_line

from desklink import agent_build
from desklink.testing import ONE_ADDRESS_ENV, AdminAPI, RepClient, ServerProcess, ViewerClient, VisitorClient
from desklink.testing_x import XDisplay

TABLE = Table()


async def one_start(server: ServerProcess, rep: RepClient, visitor: VisitorClient, creds: tuple[str, str], sid: str,
                    display: XDisplay, cmd_for: object, folder: Path) -> tuple[float, float]:
    viewer = await ViewerClient.connect(server, creds[0], creds[1], sid)
    await viewer.wait_status("waiting_agent")
    await rep.send({"t": "screen.request", "session_id": sid})
    offer = await visitor.expect("screen.offer")
    await rep.expect("screen.offer")
    cmd, env = cmd_for(offer["code"].replace(" ", ""), folder)  # type: ignore[operator]
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, cwd=folder, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    assert proc.stdin is not None
    proc.stdin.write("y\n")
    proc.stdin.flush()
    try:
        try:
            await viewer.wait_status("sharing", timeout=120)
        except TimeoutError:
            proc.kill()
            raise RuntimeError(f"the agent did not start sharing:\n{proc.communicate()[0]}") from None
        sharing = time.monotonic() - t0
        while not viewer.frames:
            await asyncio.sleep(0.002)
        first = viewer.last_frame_at - t0
        await viewer.send({"t": "screen.stop"})
        await viewer.wait_status("stopped")
        out, _ = await asyncio.to_thread(proc.communicate, timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        await viewer.close()
    return sharing, first


async def cold_starts(server: ServerProcess, agent_file: str, starts: int, display: XDisplay, no_python: str) -> None:
    admin = AdminAPI(server)
    admin.queue("bench")
    ((user, pw),) = admin.reps(1, queue_slug="bench", prefix="benchrep")
    rep = await RepClient.connect(server, user, pw)
    visitor = await VisitorClient.submit(server, queue="bench", name="Vic")
    await rep.expect("alert")
    await rep.send({"t": "accept", "request_id": visitor.request_id})
    sid = (await rep.expect("accepted"))["session"]["id"]
    bare = {k: v for k, v in display.env.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    bare["PATH"] = no_python

    def onefile(code: str, folder: Path) -> tuple[list[str], dict[str, str]]:
        r = httpx.get(f"{server.url}/download/{agent_file}", params={"code": code}, timeout=120)
        r.raise_for_status()
        m = re.search(r'filename="([^"]+)"', r.headers["content-disposition"])
        assert m is not None
        path = folder / m.group(1)
        path.write_bytes(r.content)
        path.chmod(0o755)
        return [str(path), "--terminal"], bare

    def python_agent(code: str, folder: Path) -> tuple[list[str], dict[str, str]]:
        return [sys.executable, "-m", "desklink", "agent", "--server", server.url, "--code", code, "--terminal"], dict(display.env)

    for title, cmd_for in (("one-file agent (no Python on PATH)", onefile), ("python -m desklink agent (venv)", python_agent)):
        sharing, first = [], []
        for i in range(starts):
            with tempfile.TemporaryDirectory(prefix="desklink-bench-") as tmp:
                s, f = await one_start(server, rep, visitor, (user, pw), sid, display, cmd_for, Path(tmp))
            sharing.append(s)
            first.append(f)
            print(f"  {title}: start {i + 1}/{starts}: sharing {s * 1000:.0f} ms, first frame {f * 1000:.0f} ms", flush=True)
        TABLE.section(f"cold start, {title}, 1920x1080 Xvfb")
        TABLE.dist("start -> viewer sees sharing (joined, consent given)", sharing)
        TABLE.dist("start -> first frame at the viewer", first)
    await rep.close()
    await visitor.close()
    admin.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--agent", help="a built one-file agent (default: build one now with desklink build-agent)")
    ap.add_argument("--starts", type=int, default=10, help="cold starts of each kind (default 10)")
    args = ap.parse_args()
    print(machine_line(), flush=True)
    with tempfile.TemporaryDirectory(prefix="desklink-agents-") as out_tmp:
        folder = Path(out_tmp)
        if args.agent:
            shutil.copy2(args.agent, folder / agent_build.agent_name())
        else:
            t0 = time.monotonic()
            agent_build.build(folder, say=lambda line: print(line, flush=True))
            TABLE.section("build")
            TABLE.value("desklink build-agent (one-file agent and wheel)", f"{time.monotonic() - t0:.1f}", "s")
        TABLE.section("size")
        for f in sorted(folder.iterdir()):
            TABLE.value(f.name, f"{f.stat().st_size / 1e6:.1f}", "MB")
        no_python = tempfile.mkdtemp(prefix="desklink-bare-bin-")
        try:
            # Every start is a join from 127.0.0.1: lift the per-address join budget.
            env = {**ONE_ADDRESS_ENV, "DESKLINK_AGENT_DIR": str(folder), "DESKLINK_JOIN_ATTEMPTS_PER_MINUTE": "10000"}
            with ServerProcess(env=env) as server, XDisplay(1920, 1080) as display:
                display.spawn("xterm", "-geometry", "120x40+50+50")
                display.wait_window("xterm")
                asyncio.run(cold_starts(server, agent_build.agent_name(), args.starts, display, no_python))
        finally:
            os.rmdir(no_python)
    TABLE.print()


if __name__ == "__main__":
    main()
