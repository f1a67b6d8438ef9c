"""`desklink admin` and the first run of `desklink serve`, as real processes."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import websockets

from desklink.testing import FAST_HASH_ENV, AdminAPI, RepClient, ServerProcess


def run(data_dir: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "desklink", "admin", "--data-dir", str(data_dir), *args],
        input=stdin, capture_output=True, text=True, timeout=60, env={**os.environ, **FAST_HASH_ENV},
    )


def test_admin_commands_manage_users_and_queues(tmp_path: Path) -> None:
    r = run(tmp_path, "queue", "add", "billing", "--name", "Billing", "--origin", "https://shop.example.com/")
    assert r.returncode == 0, r.stderr
    r = run(tmp_path, "user", "add", "alice", "--role", "supervisor", "--display-name", "Alice A", "--queue", "billing",
            stdin="a sturdy password\n")
    assert r.returncode == 0, r.stderr
    assert "a sturdy password" not in r.stdout
    listing = run(tmp_path, "user", "list").stdout
    assert "alice\tsupervisor\tactive\tAlice A" in listing
    queues = run(tmp_path, "queue", "list").stdout
    assert "billing\tBilling\torigins=https://shop.example.com\tmembers=1" in queues

    assert run(tmp_path, "user", "disable", "alice").returncode == 0
    assert "alice\tsupervisor\tdisabled" in run(tmp_path, "user", "list").stdout
    assert run(tmp_path, "user", "enable", "alice").returncode == 0
    assert run(tmp_path, "user", "set-role", "alice", "rep").returncode == 0
    assert run(tmp_path, "user", "set-password", "alice", stdin="another long password\n").returncode == 0
    assert run(tmp_path, "queue", "set-origins", "billing").returncode == 0
    assert "origins=-" in run(tmp_path, "queue", "list").stdout

    # Bad input: a clear message, a non-zero exit, nothing stored.
    short = run(tmp_path, "user", "add", "bob", stdin="short\n")
    assert short.returncode == 2 and "at least" in short.stderr
    dup = run(tmp_path, "user", "add", "ALICE", stdin="a sturdy password\n")
    assert dup.returncode == 2 and "alice" in dup.stderr.lower()
    bad_origin = run(tmp_path, "queue", "add", "x", "--origin", "javascript:alert(1)")
    assert bad_origin.returncode == 2 and "origin" in bad_origin.stderr
    missing = run(tmp_path, "user", "add", "carol", stdin="")
    assert missing.returncode != 0
    final = run(tmp_path, "user", "list").stdout
    assert "bob" not in final and "carol" not in final and final.count("alice") == 1


def test_first_run_creates_admin_once_and_it_can_log_in(tmp_path: Path) -> None:
    with ServerProcess(data_dir=tmp_path) as first:
        assert len(first.admin_password) >= 16
        r = httpx.post(first.url + "/api/auth/login", json={"username": "admin", "password": first.admin_password})
        assert r.status_code == 200 and r.json()["user"]["role"] == "admin"
        me = httpx.get(first.url + "/api/me", cookies=r.cookies).json()
        assert [q["slug"] for q in me["queues"]] == ["support"]
    with ServerProcess(data_dir=tmp_path) as second:
        assert second.admin_password == ""
        assert not any("password" in line for line in second.output)
        r = httpx.post(second.url + "/api/auth/login", json={"username": "admin", "password": first.admin_password})
        assert r.status_code == 200


async def test_disabling_from_the_command_line_closes_open_sockets_through_redis(
    tmp_path: Path, redis_url: str, broker_prefix: str
) -> None:
    """With Redis, `desklink admin user disable` reaches the running server:
    the rep's open console closes (4001) at once."""
    env = {"DESKLINK_REDIS_URL": redis_url, "DESKLINK_BROKER_PREFIX": broker_prefix}
    with ServerProcess(data_dir=tmp_path, env=env) as srv:
        admin = AdminAPI(srv)
        try:
            ((name, pw),) = admin.reps(1, queue_slug="support", prefix="clirep")
            rep = await RepClient.connect(srv, name, pw)
            r = await asyncio.to_thread(
                subprocess.run, [sys.executable, "-m", "desklink", "admin", "--data-dir", str(tmp_path), "user", "disable", name],
                capture_output=True, text=True, timeout=60, env={**os.environ, **FAST_HASH_ENV, **env},
            )
            assert r.returncode == 0, r.stderr
            with pytest.raises(websockets.ConnectionClosed) as closed:
                while True:
                    await rep.recv(timeout=5)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4001
        finally:
            admin.close()


def test_the_command_line_cannot_remove_the_last_enabled_admin(tmp_path: Path) -> None:
    assert run(tmp_path, "user", "add", "boss", "--role", "admin", stdin="a sturdy password\n").returncode == 0
    for args in (("set-role", "boss", "supervisor"), ("disable", "boss")):
        r = run(tmp_path, "user", *args)
        assert r.returncode == 2 and "no enabled admin" in r.stderr, r.stderr
    assert "boss\tadmin\tactive" in run(tmp_path, "user", "list").stdout
    # With a second admin, either may go.
    assert run(tmp_path, "user", "add", "deputy", "--role", "admin", stdin="a sturdy password\n").returncode == 0
    assert run(tmp_path, "user", "set-role", "boss", "rep").returncode == 0
    r = run(tmp_path, "user", "disable", "deputy")
    assert r.returncode == 2 and "no enabled admin" in r.stderr
    listing = run(tmp_path, "user", "list").stdout
    assert "boss\trep\tactive" in listing and "deputy\tadmin\tactive" in listing
