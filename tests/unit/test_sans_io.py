"""The protocol package, the relay core and the agent's core are sans-I/O:
importing them (every module) loads no event loop, web framework, database,
Redis or WebSocket library. Checked in a fresh interpreter, so nothing else
this test run imported can hide an import."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

FORBIDDEN = ("asyncio", "starlette", "uvicorn", "sqlalchemy", "aiosqlite", "asyncpg", "redis", "websockets", "httpx", "socket")

PROBE = """
import importlib, json, pkgutil, sys
import desklink.{package} as root
names = [root.__name__]
if hasattr(root, "__path__"):
    names += [m.name for m in pkgutil.walk_packages(root.__path__, root.__name__ + ".")]
for name in names:
    importlib.import_module(name)
print(json.dumps({{"modules": names, "loaded": sorted(sys.modules)}}))
"""


@pytest.mark.parametrize("package", ["protocol", "relay", "agent.session", "errors"])
def test_the_core_imports_no_io(package: str) -> None:
    out = subprocess.run([sys.executable, "-c", PROBE.format(package=package)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["modules"], package
    loaded = {name.split(".")[0] for name in report["loaded"]}
    assert not loaded & set(FORBIDDEN), f"desklink.{package} pulls in {sorted(loaded & set(FORBIDDEN))}"


def test_the_probe_would_notice() -> None:
    """Guard: the same probe on the server package does find its I/O."""
    out = subprocess.run([sys.executable, "-c", PROBE.format(package="server.hub")], capture_output=True, text=True, timeout=60)
    loaded = {name.split(".")[0] for name in json.loads(out.stdout)["loaded"]}
    assert "asyncio" in loaded
