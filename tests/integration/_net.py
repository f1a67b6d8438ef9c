"""Raw sockets and small file systems for the transport tests.

The test server binds 127.0.0.1; a client that binds its *source* address to
another loopback address (127.0.0.2, ...) is a different client address to
the server, so one test process can play an abuser and a bystander at once.
"""

from __future__ import annotations

import contextlib
import os
import resource
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from desklink.testing import poll_until

T = TypeVar("T")


def connect_from(source: str, port: int, timeout: float = 10.0) -> socket.socket:
    """A TCP connection to 127.0.0.1:``port`` from the address ``source``."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((source, 0))
    sock.settimeout(timeout)
    sock.connect(("127.0.0.1", port))
    return sock


def read_until_closed(sock: socket.socket, timeout: float) -> bytes:
    """Everything the server sends until it closes the connection; raises
    ``TimeoutError`` if it is still open after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    data = b""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"the server kept the connection open for {timeout} s; got {data[:200]!r}")
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        except ConnectionResetError:
            return data
        if not chunk:
            return data
        data += chunk


def wait_for(check: Callable[[], T | None], timeout: float = 20.0, what: str = "condition") -> T:
    """Poll ``check`` until it returns something truthy, within ``timeout``."""
    return poll_until(check, timeout, what)


@contextlib.contextmanager
def open_files(at_least: int) -> Iterator[None]:
    """Raise this process's open-file limit (within the hard limit) for a
    test that holds thousands of sockets; restored afterwards."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = at_least if hard == resource.RLIM_INFINITY else min(at_least, hard)
    if want < at_least:
        pytest.fail(f"this test needs {at_least} open files; the hard limit is {hard}", pytrace=False)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, want), hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def _as_root(*cmd: str) -> None:
    full = list(cmd) if os.geteuid() == 0 else ["sudo", "-n", *cmd]
    done = subprocess.run(full, check=False, capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        pytest.fail(f"{' '.join(full)} failed (these tests need root or sudo): {done.stderr.strip()}", pytrace=False)


@contextlib.contextmanager
def small_filesystem(path: Path, size: str, *, read_only: bool = False) -> Iterator[Path]:
    """A real tmpfs of ``size`` mounted at ``path`` (root or sudo), unmounted
    afterwards; ``read_only`` remounts it read-only once mounted."""
    path.mkdir(parents=True, exist_ok=True)
    _as_root("mount", "-t", "tmpfs", "-o", f"size={size},mode=0777", "tmpfs", str(path))
    try:
        if read_only:
            _as_root("mount", "-o", "remount,ro", str(path))
        yield path
    finally:
        _as_root("umount", "-l", str(path))


def fill(path: Path) -> Path:
    """Write a file in ``path`` until its file system is full."""
    filler = path / "filler"
    with open(filler, "wb", buffering=0) as f:
        chunk = b"\0" * 65536
        try:
            while True:
                f.write(chunk)
        except OSError:
            pass
    return filler
