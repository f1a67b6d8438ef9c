"""The one-file agent, as a visitor runs it: downloaded from the server's
/download with the join code in its name, started with no Python anywhere on
its PATH (and no virtual environment), on a real X server; the viewer gets
the picture."""

from __future__ import annotations

import re
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from desklink import agent_build
from desklink.testing import ONE_ADDRESS_ENV, ServerProcess, ViewerClient
from desklink.testing_x import XDisplay

from screen._agent import Chat, finish

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(built_agents: Path) -> Iterator[ServerProcess]:
    with ServerProcess(env={**ONE_ADDRESS_ENV, "DESKLINK_AGENT_DIR": str(built_agents)}) as srv:
        yield srv


def download(server: ServerProcess, name: str, code: str, into: Path) -> Path:
    """What a browser does with the page's link: save under the name the
    server gives (Content-Disposition)."""
    r = httpx.get(f"{server.url}/download/{name}", params={"code": code}, timeout=60)
    assert r.status_code == 200, r.text[:300]
    saved = re.search(r'filename="([^"]+)"', r.headers["content-disposition"])
    assert saved is not None, r.headers["content-disposition"]
    path = into / saved.group(1)
    path.write_bytes(r.content)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def bare_env(display: XDisplay, path: str) -> dict[str, str]:
    env = {k: v for k, v in display.env.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "CONDA"))}
    env["PATH"] = path
    env.pop("LD_LIBRARY_PATH", None)
    return env


async def test_the_downloaded_agent_needs_no_python_and_reads_its_code_from_its_name(
    server: ServerProcess, display: XDisplay, chat: Chat, tmp_path: Path, no_python_path: str
) -> None:
    display.spawn("xterm", "-geometry", "90x25+60+60", "-fa", "DejaVu Sans Mono", "-fs", "11")
    display.wait_window("xterm")
    viewer = await ViewerClient.connect(server, chat.username, chat.password, chat.session_id)
    await viewer.wait_status("waiting_agent")
    offer = await chat.offer()
    agent = download(server, agent_build.agent_name(), offer["code"], tmp_path)
    assert agent.name == (
        f"{agent_build.agent_name()}-code-{offer['code'].replace(' ', '')}-server-http_127.0.0.1_{server.port}"
    )

    env = bare_env(display, no_python_path)
    assert shutil.which("python3", path=env["PATH"]) is None and shutil.which("python", path=env["PATH"]) is None
    assert not any(k.startswith(("PYTHON", "VIRTUAL_ENV")) for k in env)
    # No --server, no --code: both come from the file's name.
    proc = subprocess.Popen(
        [str(agent), "--terminal"], env=env, cwd=tmp_path, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
    )
    display.children.append(proc)
    assert proc.stdin is not None
    proc.stdin.write("y\n")
    proc.stdin.flush()

    await viewer.wait_status("sharing")
    await viewer.settle(quiet_s=1.0)
    assert viewer.canvas.size == (1280, 800)
    diff = np.abs(viewer.canvas.rgb.astype(int) - display.screenshot().astype(int))
    assert diff.mean() < 2.0, diff.mean()

    await viewer.send({"t": "screen.stop"})
    await viewer.wait_status("stopped")
    code, out = await finish(proc, timeout=30)
    assert code == 0, out
    assert "stopped sharing" in out
    await viewer.close()


def test_the_agent_asks_for_the_code_when_its_name_has_none(
    built_agents: Path, display: XDisplay, tmp_path: Path, no_python_path: str
) -> None:
    """Renamed (or downloaded without a code): it asks once, on the terminal
    here, and refuses what is not a join code without connecting anywhere."""
    plain = tmp_path / "agent"
    shutil.copy2(built_agents / agent_build.agent_name(), plain)
    done = subprocess.run(
        [str(plain), "--terminal", "--server", "http://127.0.0.1:9"], env=bare_env(display, no_python_path),
        input="12345\nnot a code\n", capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout.count("The 9-digit join code shown in the chat: ") == 3
    assert "That is not a join code: it has 9 digits" in done.stdout
    assert "no join code given; nothing was shared" in done.stderr


def test_the_one_file_agent_holds_no_server_library(built_agents: Path) -> None:
    """PyInstaller's table of contents (``pyi-archive_viewer``) lists what the
    executable holds: the agent's libraries, none of the server's."""
    viewer = Path(sys.executable).parent / "pyi-archive_viewer"
    assert viewer.exists(), viewer
    done = subprocess.run(
        [str(viewer), "--list", "--recursive", "--brief", str(built_agents / agent_build.agent_name())],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    names = done.stdout
    for lib in ("numpy", "simplejpeg", "websockets", "msgspec", "desklink.agent.main", "desklink.protocol.screen"):
        assert lib in names, lib
    for lib in agent_build.NOT_IN_AGENT:
        assert not re.search(rf"\b{lib}\b", names), lib
    assert "desklink.server" not in names and "desklink.store" not in names
