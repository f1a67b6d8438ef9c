"""``desklink build-agent``: the one-file agent for the platform this runs on,
and the agent wheel, into the agent folder the server offers on /download.

Theory of operation
-------------------
PyInstaller freezes the agent's entry point (:func:`desklink.agent.main.main`)
with the Python interpreter and the agent's libraries (numpy, simplejpeg,
mss, xcffib, websockets, msgspec, Tk) into one executable that unpacks
itself into a temporary folder when started, so the visitor needs no Python.
It is named for the system and CPU it was built on
(``desklink-agent-linux-x86_64``); PyInstaller cannot cross-build, so a
Windows or macOS agent is built by running this command on that system
(docs/deploy.md). The wheel (``pip wheel --no-deps``) is built from the
source checkout this package was installed from (an editable install); an
install from a wheel has no source to build one from and says so.

Each file is written next to its final name and renamed over it, so a server
serving the folder never offers half a file.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from desklink.errors import ConfigError
from desklink.protocol import agent_names

#: The entry script PyInstaller freezes.
ENTRY = "from desklink.agent.main import main\n\nraise SystemExit(main())\n"
#: Server-side libraries that must never end up in the agent (PyInstaller only
#: follows imports, so these are a guard, not a need).
NOT_IN_AGENT = ("sqlalchemy", "starlette", "uvicorn", "alembic", "asyncpg", "redis", "argon2", "aiosqlite", "pyotp", "segno")


def agent_name() -> str:
    """The one-file agent's name on this system and CPU."""
    return agent_names.agent_file_name(agent_names.system_name(), agent_names.machine_name())


def source_root() -> Path | None:
    """The checkout this package was installed from, if any (editable install)."""
    here = Path(__file__).resolve().parent
    for folder in (here.parent, here.parent.parent):
        if (folder / "pyproject.toml").is_file() and (folder / "src" / "desklink").is_dir():
            return folder
    return None


def _publish(built: Path, out: Path) -> Path:
    final = out / built.name
    partial = out / f".{built.name}.partial"
    shutil.copyfile(built, partial)
    partial.chmod(0o755)
    os.replace(partial, final)
    return final


def build(out: Path, *, wheel: bool = True, say: Callable[[str], None] = print) -> list[Path]:
    """Build into ``out``; returns the files written. ``ConfigError`` with one
    clear sentence when PyInstaller is missing or a build fails."""
    if importlib.util.find_spec("PyInstaller") is None:
        raise ConfigError('building the agent needs PyInstaller: pip install "desklink[build]"')
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create the agent folder {out}: {exc.strerror or exc}") from None
    written: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="desklink-build-") as tmp:
        work = Path(tmp)
        entry = work / "desklink_agent.py"
        entry.write_text(ENTRY)
        name = agent_name()
        cmd = [
            sys.executable, "-m", "PyInstaller", "--onefile", "--noconfirm", "--log-level", "WARN",
            "--name", name, "--distpath", str(work / "dist"), "--workpath", str(work / "build"), "--specpath", str(work),
            "--collect-submodules", "desklink.agent", "--collect-submodules", "desklink.protocol",
            *[arg for mod in NOT_IN_AGENT for arg in ("--exclude-module", mod)],
            str(entry),
        ]
        say(f"building {name} with PyInstaller (a minute or two)...")
        done = subprocess.run(cmd, cwd=work, capture_output=True, text=True)
        if done.returncode != 0:
            tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise ConfigError(f"PyInstaller failed ({done.returncode}): {tail}")
        written.append(_publish(work / "dist" / name, out))
        say(f"  {written[-1]}")
        if wheel:
            root = source_root()
            if root is None:
                say("  no wheel: this DeskLink was not installed from a source checkout")
            else:
                wheels = work / "wheels"
                done = subprocess.run(
                    [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(root)],
                    capture_output=True, text=True,
                )
                if done.returncode != 0:
                    tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
                    raise ConfigError(f"pip wheel failed ({done.returncode}): {tail}")
                for built in sorted(wheels.glob("desklink-*.whl")):
                    written.append(_publish(built, out))
                    written[-1].chmod(0o644)
                    say(f"  {written[-1]}")
    return written
