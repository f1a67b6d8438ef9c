"""A queue's screen recording policy through ``/api/admin/queues`` and the
command line: read, written, refused in words when wrong, audited
(``queue.recording``), admins only."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

from desklink.testing import AdminAPI, ServerProcess


def _listed(admin: AdminAPI, queue_id: int) -> dict[str, Any]:
    return next(q for q in admin.http.get("/api/admin/queues").json()["queues"] if q["id"] == queue_id)


def test_a_new_queue_never_records_and_the_policy_can_be_set(admin: AdminAPI, unique: str) -> None:
    q = admin.queue(unique)
    assert q["recording"] == "never"
    for policy in ("always", "on_request", "never"):
        r = admin.http.patch(f"/api/admin/queues/{q['id']}", json={"recording": policy})
        assert r.status_code == 200, r.text
        assert r.json()["queue"]["recording"] == policy
        assert _listed(admin, q["id"])["recording"] == policy
    # Other changes leave it as it is.
    admin.http.patch(f"/api/admin/queues/{q['id']}", json={"recording": "on_request"}).raise_for_status()
    admin.http.patch(f"/api/admin/queues/{q['id']}", json={"name": "Renamed"}).raise_for_status()
    assert _listed(admin, q["id"])["recording"] == "on_request"


def test_a_queue_can_be_created_recording(admin: AdminAPI, unique: str) -> None:
    r = admin.http.post("/api/admin/queues", json={"slug": unique, "name": "Recorded", "recording": "always"})
    assert r.status_code == 201, r.text
    assert r.json()["queue"]["recording"] == "always"


def test_a_bad_policy_is_400_in_words_and_changes_nothing(admin: AdminAPI, unique: str) -> None:
    q = admin.queue(unique)
    audit_before = admin.http.get("/api/admin/audit").json()["entries"][0]["id"]
    for bad in ("sometimes", "", "ALWAYS"):
        r = admin.http.patch(f"/api/admin/queues/{q['id']}", json={"name": "Changed?", "recording": bad})
        assert r.status_code == 400, r.text
        assert r.json()["error"]["code"] == "bad_message"
        assert "recording must be one of always, on_request, never" in r.json()["error"]["message"]
    r = admin.http.patch(f"/api/admin/queues/{q['id']}", json={"recording": 3})
    assert r.status_code == 400
    after = _listed(admin, q["id"])
    assert after["recording"] == "never" and after["name"] != "Changed?"
    assert admin.http.get("/api/admin/audit").json()["entries"][0]["id"] == audit_before
    r = admin.http.post("/api/admin/queues", json={"slug": unique + "-new", "name": "New", "recording": "maybe"})
    assert r.status_code == 400
    assert all(x["slug"] != unique + "-new" for x in admin.http.get("/api/admin/queues").json()["queues"])


def test_changes_are_audited_once_with_before_and_after(admin: AdminAPI, unique: str) -> None:
    q = admin.queue(unique)
    admin.http.patch(f"/api/admin/queues/{q['id']}", json={"recording": "on_request"}).raise_for_status()
    entry = admin.http.get("/api/admin/audit").json()["entries"][0]
    assert (entry["action"], entry["target"], entry["actor"]) == ("queue.recording", f"queue {unique}", "admin")
    assert entry["data"] == {"from": "never", "to": "on_request"}
    admin.http.patch(f"/api/admin/queues/{q['id']}", json={"recording": "on_request"}).raise_for_status()
    assert admin.http.get("/api/admin/audit").json()["entries"][0]["id"] == entry["id"]


def test_only_admins_set_the_policy(server: ServerProcess, admin: AdminAPI, unique: str) -> None:
    q = admin.queue(unique)
    for role in ("rep", "supervisor"):
        admin.user(f"{unique}{role}", "a long enough password", role=role)
        http, _ = server.login(f"{unique}{role}", "a long enough password")
        try:
            r = http.patch(f"/api/admin/queues/{q['id']}", json={"recording": "always"})
            assert r.status_code == 403
        finally:
            http.close()
    assert _listed(admin, q["id"])["recording"] == "never"


def _cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "desklink", "admin", "--data-dir", str(data_dir), *args],
        capture_output=True, text=True, env=dict(os.environ), timeout=60,
    )


def test_the_command_line_sets_the_policy(tmp_path: Path) -> None:
    assert _cli(tmp_path, "queue", "add", "billing").returncode == 0
    r = _cli(tmp_path, "queue", "set-recording", "billing", "on_request")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "billing: screen recording on request (the rep presses Record)"
    r = _cli(tmp_path, "queue", "set-recording", "billing", "always")
    assert r.stdout.strip() == "billing: screen recording always (from the moment sharing starts)"
    bad = _cli(tmp_path, "queue", "set-recording", "billing", "sometimes")
    assert bad.returncode == 2 and "invalid choice: 'sometimes'" in bad.stderr
    missing = _cli(tmp_path, "queue", "set-recording", "nosuch", "never")
    assert missing.returncode != 0 and "nosuch" in missing.stderr
    # Audited like the admin center's changes (the command line as actor), and stored.
    with sqlite3.connect(tmp_path / "desklink.db") as db:
        rows = db.execute("SELECT action, target, actor FROM audit_log WHERE action = 'queue.recording' ORDER BY id").fetchall()
        stored = db.execute("SELECT recording FROM queues WHERE slug = 'billing'").fetchone()
    assert [(a, t) for a, t, _ in rows] == [("queue.recording", "queue billing")] * 2
    assert all(actor.startswith("command line") for _, _, actor in rows)
    assert stored == ("always",)
