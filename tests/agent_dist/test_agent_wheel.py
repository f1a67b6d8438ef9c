"""The agent wheel as a pip user installs it from the server: in a fresh
virtual environment, from the local wheel, with the project's usual package
index. It pulls in none of the server's libraries, the agent imports, and a
server command says in one sentence that this install is the agent only."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

#: The server's libraries: none may be required by (or installed with) the agent.
SERVER_ONLY = ("sqlalchemy", "asyncpg", "alembic", "uvicorn", "redis", "argon2-cffi", "starlette", "aiosqlite", "pyotp", "segno")

CHECK = r"""
import importlib.metadata as md, json, re, sys
import desklink.agent.main, desklink.agent.client, desklink.agent.session
requires = md.requires("desklink") or []
base = [r for r in requires if "extra ==" not in r]
installed = sorted(d.metadata["Name"].lower() for d in md.distributions())
loaded = sorted(n for n in sys.modules if n.startswith("desklink."))
print(json.dumps({"base": base, "installed": installed, "loaded": loaded}))
"""


@pytest.fixture(scope="module")
def agent_venv(built_agents: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    venv = tmp_path_factory.mktemp("agent-venv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    wheel = next(built_agents.glob("desklink-*-py3-none-any.whl"))
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)], capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return venv


def test_the_wheel_requires_and_installs_no_server_library(agent_venv: Path) -> None:
    import json

    done = subprocess.run([str(agent_venv / "bin" / "python"), "-c", CHECK], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    names = [r.split(";")[0].split("[")[0].split(">")[0].split("=")[0].split("<")[0].strip().lower() for r in info["base"]]
    assert {"websockets", "msgspec", "mss", "simplejpeg", "numpy"} <= set(names), names
    for lib in SERVER_ONLY:
        assert lib not in names, f"the agent requires {lib}"
        assert lib not in info["installed"], f"{lib} was installed with the agent"
    assert "desklink.agent.main" in info["loaded"]
    assert not [m for m in info["loaded"] if m.startswith(("desklink.server", "desklink.store", "desklink.dispatch", "desklink.broker"))]


def test_server_commands_say_this_is_an_agent_only_install(agent_venv: Path) -> None:
    for argv in (["serve"], ["admin", "user", "list"]):
        done = subprocess.run([str(agent_venv / "bin" / "desklink"), *argv], capture_output=True, text=True, timeout=60)
        assert done.returncode == 2, done.stdout + done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and "agent-only install" in lines[0] and 'pip install "desklink[server]"' in lines[0], lines
    done = subprocess.run([str(agent_venv / "bin" / "desklink"), "agent", "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "--code" in done.stdout
    # Building needs the build extra, and says so.
    done = subprocess.run(
        [str(agent_venv / "bin" / "desklink"), "build-agent", "--out", str(agent_venv / "out")], capture_output=True, text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr.strip() == 'desklink: building the agent needs PyInstaller: pip install "desklink[build]"'
