"""The agent as visitors get it: the one-file agent built with PyInstaller
(once per test run: it takes a minute or two), the agent wheel, and the
server's /download page."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from desklink import agent_build
from desklink.testing import AdminAPI, RepClient, ServerProcess, VisitorClient
from desklink.testing_x import XDisplay
from screen._agent import Chat


@pytest.fixture(scope="session")
def built_agents(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the real one-file agent for this machine and the wheel,
    built by ``desklink build-agent`` exactly as a provider runs it."""
    out = tmp_path_factory.mktemp("agents")
    done = subprocess.run(
        [sys.executable, "-m", "desklink", "build-agent", "--out", str(out)], capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (out / agent_build.agent_name()).is_file(), sorted(p.name for p in out.iterdir())
    assert list(out.glob("desklink-*-py3-none-any.whl")), sorted(p.name for p in out.iterdir())
    return out


@pytest.fixture
def no_python_path(tmp_path: Path) -> Iterator[str]:
    """A PATH with no Python and no virtual environment on it."""
    bare = tmp_path / "bare-bin"
    bare.mkdir()
    yield str(bare)


@pytest.fixture
def display() -> Iterator[XDisplay]:
    with XDisplay(1280, 800) as d:
        yield d


_n = iter(range(10**6))


@pytest.fixture
async def chat(server: ServerProcess, admin: AdminAPI) -> AsyncIterator[Chat]:
    """A rep and a visitor in an accepted chat, on the module's server."""
    name = f"adist{next(_n)}"
    admin.queue(name)
    ((user, pw),) = admin.reps(1, queue_slug=name, prefix=name)
    rep = await RepClient.connect(server, user, pw)
    visitor = await VisitorClient.submit(server, queue=name, name="Vic")
    await rep.expect("alert")
    await rep.send({"t": "accept", "request_id": visitor.request_id})
    sid = (await rep.expect("accepted"))["session"]["id"]
    c = Chat(rep, visitor, sid, user, pw)
    yield c
    await c.close()
