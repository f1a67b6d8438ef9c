"""A queue's file policy through ``/api/admin/queues`` and the command line:
read, written, validated against the server's settings, audited, admins only."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from desklink.testing import ONE_ADDRESS_ENV, AdminAPI, ServerProcess

#: The server's own ceilings in this module (small, so tests can go past them).
SERVER_MAX_BYTES = 50_000_000
SERVER_MAX_FILES = 30
DEFAULT = {"to_visitor": True, "from_visitor": True, "max_file_bytes": 0, "max_files_per_session": 0, "blocked_extensions": []}


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    env = {
        **ONE_ADDRESS_ENV,
        "DESKLINK_MAX_FILE_BYTES": str(SERVER_MAX_BYTES),
        "DESKLINK_MAX_FILES_PER_SESSION": str(SERVER_MAX_FILES),
    }
    with ServerProcess(env=env) as srv:
        yield srv


def _queue(admin: AdminAPI, slug: str) -> dict[str, Any]:
    return admin.queue(slug)


def _listed(admin: AdminAPI, queue_id: int) -> dict[str, Any]:
    body = admin.http.get("/api/admin/queues").json()
    assert body["file_limits"] == {"max_file_bytes": SERVER_MAX_BYTES, "max_files_per_session": SERVER_MAX_FILES}
    return next(q for q in body["queues"] if q["id"] == queue_id)


def test_a_new_queue_has_the_default_policy_and_it_can_be_set_and_read_back(admin: AdminAPI, unique: str) -> None:
    q = _queue(admin, unique)
    assert q["files"] == DEFAULT
    wanted = {
        "to_visitor": False,
        "from_visitor": True,
        "max_file_bytes": SERVER_MAX_BYTES,  # the ceiling itself is allowed
        "max_files_per_session": 5,
        "blocked_extensions": "EXE, .bat msi;js",
    }
    r = admin.http.patch(f"/api/admin/queues/{q['id']}", json={"files": wanted})
    assert r.status_code == 200, r.text
    expected = {**wanted, "blocked_extensions": ["bat", "exe", "js", "msi"]}
    assert r.json()["queue"]["files"] == expected
    assert _listed(admin, q["id"])["files"] == expected
    # A partial change keeps the rest; a list of extensions works too.
    r = admin.http.patch(f"/api/admin/queues/{q['id']}", json={"files": {"to_visitor": True, "blocked_extensions": ["ps1"]}})
    assert r.json()["queue"]["files"] == {**expected, "to_visitor": True, "blocked_extensions": ["ps1"]}
    # Other changes leave the policy alone.
    r = admin.http.patch(f"/api/admin/queues/{q['id']}", json={"name": "Renamed"})
    assert r.json()["queue"]["files"]["blocked_extensions"] == ["ps1"]
    r = admin.http.put(f"/api/admin/queues/{q['id']}/members", json={"user_ids": []})
    assert r.json()["queue"]["files"]["max_files_per_session"] == 5


def test_a_queue_can_be_created_with_a_policy(admin: AdminAPI, unique: str) -> None:
    r = admin.http.post(
        "/api/admin/queues",
        json={"slug": unique, "name": "With files", "files": {"from_visitor": False, "max_file_bytes": 1000}},
    )
    assert r.status_code == 201, r.text
    assert r.json()["queue"]["files"] == {**DEFAULT, "from_visitor": False, "max_file_bytes": 1000}


@pytest.mark.parametrize(
    "files, words",
    [
        ({"max_file_bytes": SERVER_MAX_BYTES + 1}, "max_file_bytes"),
        ({"max_file_bytes": -1}, "max_file_bytes"),
        ({"max_files_per_session": SERVER_MAX_FILES + 1}, "max_files_per_session"),
        ({"max_files_per_session": -1}, "max_files_per_session"),
        ({"max_file_bytes": 2**70}, ""),
        ({"max_file_bytes": "10"}, ""),
        ({"max_file_bytes": True}, ""),
        ({"to_visitor": "yes"}, ""),
        ({"blocked_extensions": "exe, ../x"}, "not a file extension"),
        ({"blocked_extensions": "a" * 17}, "not a file extension"),
        ({"blocked_extensions": "x," * 600}, "at most"),
        ({"blocked_extensions": ["exe", 3]}, ""),
        ({"colour": "red"}, ""),
    ],
)
def test_invalid_policies_are_400_and_change_nothing(admin: AdminAPI, unique: str, files: dict[str, Any], words: str) -> None:
    q = _queue(admin, unique)
    good = {"max_file_bytes": 123, "blocked_extensions": "exe"}
    admin.http.patch(f"/api/admin/queues/{q['id']}", json={"files": good}).raise_for_status()
    audit_before = admin.http.get("/api/admin/audit").json()["entries"][0]["id"]
    r = admin.http.patch(f"/api/admin/queues/{q['id']}", json={"name": "Changed?", "files": files})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "bad_message"
    assert words in r.json()["error"]["message"]
    after = _listed(admin, q["id"])
    assert after["name"] != "Changed?"
    assert after["files"] == {**DEFAULT, "max_file_bytes": 123, "blocked_extensions": ["exe"]}
    assert admin.http.get("/api/admin/audit").json()["entries"][0]["id"] == audit_before
    # Creating with a bad policy creates nothing.
    r = admin.http.post("/api/admin/queues", json={"slug": unique + "-new", "name": "New", "files": files})
    assert r.status_code == 400
    assert all(x["slug"] != unique + "-new" for x in admin.http.get("/api/admin/queues").json()["queues"])


def test_changes_are_audited_once_with_before_and_after(admin: AdminAPI, unique: str) -> None:
    q = _queue(admin, unique)
    admin.http.patch(f"/api/admin/queues/{q['id']}", json={"files": {"from_visitor": False, "blocked_extensions": "exe"}})
    entry = admin.http.get("/api/admin/audit").json()["entries"][0]
    assert (entry["action"], entry["target"], entry["actor"]) == ("queue.files", f"queue {unique}", "admin")
    assert entry["data"]["from"] == DEFAULT
    assert entry["data"]["to"] == {**DEFAULT, "from_visitor": False, "blocked_extensions": ["exe"]}
    # The same policy again is no change, and no entry.
    admin.http.patch(f"/api/admin/queues/{q['id']}", json={"files": {"from_visitor": False}}).raise_for_status()
    assert admin.http.get("/api/admin/audit").json()["entries"][0]["id"] == entry["id"]


def test_only_admins_change_or_read_policies(server: ServerProcess, admin: AdminAPI, unique: str) -> None:
    q = _queue(admin, unique)
    for role in ("rep", "supervisor"):
        admin.user(f"{unique}{role}", "a long enough password", role=role)
        http, _ = server.login(f"{unique}{role}", "a long enough password")
        try:
            assert http.get("/api/admin/queues").status_code == 403
            r = http.patch(f"/api/admin/queues/{q['id']}", json={"files": {"to_visitor": False}})
            assert r.status_code == 403
        finally:
            http.close()
    assert _listed(admin, q["id"])["files"] == DEFAULT


def test_unknown_queue_is_404(admin: AdminAPI) -> None:
    r = admin.http.patch("/api/admin/queues/999999", json={"files": {"to_visitor": False}})
    assert r.status_code == 404


def _cli(data_dir: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "desklink", "admin", "--data-dir", str(data_dir), *args],
        capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=60,
    )


def test_the_command_line_sets_and_shows_the_policy(tmp_path: Path) -> None:
    env = {"DESKLINK_MAX_FILE_BYTES": "1000", "DESKLINK_MAX_FILES_PER_SESSION": "9"}
    assert _cli(tmp_path, "queue", "add", "billing").returncode == 0
    shown = _cli(tmp_path, "queue", "show-files", "billing")
    assert shown.stdout.strip() == (
        "billing: files to visitor=yes from visitor=yes max_file_bytes=server setting max_files=server setting blocked=-"
    )
    r = _cli(tmp_path, "queue", "set-files", "billing", "--to-visitor", "no", "--max-file-bytes", "1000",
             "--blocked-extensions", "exe,.BAT", env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "billing: files to visitor=no from visitor=yes max_file_bytes=1000 max_files=server setting blocked=bat,exe"
    too_big = _cli(tmp_path, "queue", "set-files", "billing", "--max-file-bytes", "1001", env=env)
    assert too_big.returncode == 2 and "max_file_bytes must be from 0" in too_big.stderr
    too_many = _cli(tmp_path, "queue", "set-files", "billing", "--max-files", "10", env=env)
    assert too_many.returncode == 2 and "max_files_per_session" in too_many.stderr
    assert _cli(tmp_path, "queue", "set-files", "billing", "--from-visitor", "maybe").returncode != 0
    assert "max_file_bytes=1000" in _cli(tmp_path, "queue", "show-files", "billing").stdout
