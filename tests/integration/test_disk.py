"""A node on a real, small file system (tmpfs, mounted for the test): when
the disk fills up ``/readyz`` says so, writes fail with the documented JSON
error, the node keeps running, and nothing stored is lost. And a node that
cannot start says why in one sentence.

Mounting needs root (or password-less sudo); the tests fail, never skip,
without it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
from _net import fill, small_filesystem, wait_for

from desklink.testing import (
    FAST_HASH_ENV,
    AdminAPI,
    RepClient,
    ServerProcess,
    VisitorClient,
    free_port,
)


async def test_a_full_disk_makes_the_node_unready_and_writes_fail_cleanly(tmp_path: Path) -> None:
    with small_filesystem(tmp_path / "data", "48m") as data:
        srv = ServerProcess(data_dir=data, env={"DESKLINK_MIN_FREE_DISK_BYTES": str(4 * 1024 * 1024)}).start()
        try:
            admin = AdminAPI(srv)
            (user, pw), = admin.reps(1)
            rep = await RepClient.connect(srv, user, pw)
            visitor = await VisitorClient.submit(srv)
            await rep.expect("alert")
            await rep.send({"t": "accept", "request_id": visitor.request_id})
            session_id = (await rep.expect("accepted"))["session"]["id"]
            await visitor.send({"t": "chat.send", "cid": "before", "text": "stored before the disk filled"})
            await rep.expect("chat", cid="before")
            http = httpx.Client(base_url=srv.url, timeout=30)
            assert http.get("/readyz").status_code == 200

            filler = fill(data)
            unready = wait_for(lambda: (r := http.get("/readyz")).status_code == 503 and r, what="/readyz 503")
            body = unready.json()
            assert body["store"] is True and body["writable"] is False
            assert any("free" in p for p in body["problems"]), body

            # A write through the API: the documented JSON error, not text.
            r = admin.http.post("/api/admin/queues", json={"slug": "full", "name": "Full", "allowed_origins": []})
            assert r.status_code == 500, r.text
            assert r.headers["content-type"].startswith("application/json")
            assert r.json()["error"]["code"] == "internal"
            # The node still answers, and reads still work.
            assert http.get("/healthz").status_code == 200
            assert admin.http.get("/api/admin/queues").status_code == 200

            filler.unlink()
            wait_for(lambda: http.get("/readyz").status_code == 200, what="/readyz 200 again")
            r = admin.http.post("/api/admin/queues", json={"slug": "roomy", "name": "Roomy", "allowed_origins": []})
            assert r.status_code == 201, r.text
            await visitor.send({"t": "chat.send", "cid": "after", "text": "stored after"})
            await rep.expect("chat", cid="after")
            texts = [m["text"] for m in admin.http.get(f"/api/sessions/{session_id}").json()["messages"]]
            assert "stored before the disk filled" in texts and "stored after" in texts
            for c in (rep, visitor):
                await c.close()
            http.close()
            admin.close()
        finally:
            srv.stop()


# ------------------------------------------------------------ start-up
def serve(data_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "desklink", "serve", "--port", str(free_port()), "--data-dir", str(data_dir)]
    return subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=60, env={**os.environ, **FAST_HASH_ENV, **env})


def assert_one_sentence(done: subprocess.CompletedProcess[str], *words: str) -> None:
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert lines[0].startswith("desklink: "), lines
    for word in words:
        assert word in lines[0], (word, lines[0])


def test_start_up_failures_are_one_sentence(tmp_path: Path) -> None:
    with small_filesystem(tmp_path / "ro", "1m", read_only=True) as ro:
        assert_one_sentence(serve(ro), "data directory", str(ro), "Read-only")
        assert_one_sentence(serve(ro / "missing"), "cannot create the data directory", str(ro / "missing"))
    unreachable = "postgresql+asyncpg://desklink:s3cret@127.0.0.1:9/desklink"
    done = serve(tmp_path / "d1", DESKLINK_DATABASE_URL=unreachable)
    assert_one_sentence(done, "cannot open the database", "127.0.0.1:9")
    assert "s3cret" not in done.stderr
    assert_one_sentence(serve(tmp_path / "d2", DESKLINK_PORT="eighty"), "DESKLINK_PORT")
    assert_one_sentence(serve(tmp_path / "d3", DESKLINK_TRUST_PROXY="true"), "DESKLINK_TRUSTED_PROXIES")
    assert_one_sentence(serve(tmp_path / "d4", DESKLINK_TRUSTED_PROXIES="my-proxy"), "trusted_proxies")
