"""Two-factor sign-in on a real server (issue 8, item 19): enrolment, login
with a code, wrong codes under the login limits, recovery codes, the admin
policy that forces enrolment, the admin reset, and their audit entries."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from desklink.store import Store
from desklink.testing import FAST_HASH_ENV, AdminAPI, Authenticator, ServerProcess

PASSWORD = "a long enough password"


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    env = {"DESKLINK_LOGIN_ATTEMPTS_PER_ACCOUNT": "4", "DESKLINK_LOGIN_ATTEMPTS_PER_IP": "1000"}
    with ServerProcess(env=env) as srv:
        yield srv


def _login(http: httpx.Client, user: str, pw: str = PASSWORD) -> httpx.Response:
    return http.post("/api/auth/login", json={"username": user, "password": pw})


def _finish(http: httpx.Client, ticket: str, code: str) -> httpx.Response:
    return http.post("/api/auth/second-factor", json={"ticket": ticket, "code": code})


@contextlib.contextmanager
def _logged_in(server: ServerProcess, user: str) -> Iterator[httpx.Client]:
    """A client logged in with the password only (no second factor yet)."""
    with httpx.Client(base_url=server.url) as http:
        r = _login(http, user)
        assert r.status_code == 200, r.text
        http.headers["X-CSRF-Token"] = r.json()["csrf"]
        yield http


def _enrol(server: ServerProcess, user: str) -> tuple[Authenticator, list[str]]:
    """Enrol ``user`` voluntarily from a logged-in session."""
    with _logged_in(server, user) as http:
        r = http.post("/api/me/second-factor", json={})
        assert r.status_code == 200, r.text
        app = Authenticator(r.json()["secret"])
        r = http.post("/api/me/second-factor/confirm", json={"code": app.code()})
        assert r.status_code == 200, r.text
        return app, r.json()["recovery_codes"]


def _audit(server: ServerProcess) -> list[Any]:
    async def read() -> list[Any]:
        store = await Store.open(f"sqlite+aiosqlite:///{server.data_dir / 'desklink.db'}")
        try:
            return await store.list_audit(limit=100)
        finally:
            await store.close()

    return asyncio.run(read())


def test_enrol_then_log_in_with_a_code(server: ServerProcess, admin: AdminAPI, unique: str) -> None:
    admin.user(unique, PASSWORD)
    with _logged_in(server, unique) as http:
        assert http.get("/api/me/second-factor").json() == {
            "enabled": False, "enrolling": False, "required": False, "recovery_codes_left": 0,
        }
        r = http.post("/api/me/second-factor", json={})
        enrolment = r.json()
        assert r.headers["cache-control"] == "no-store"
        assert enrolment["uri"].startswith("otpauth://totp/") and f"secret={enrolment['secret']}" in enrolment["uri"]
        assert enrolment["qr"].startswith("data:image/png;base64,")
        app = Authenticator(enrolment["secret"])
        wrong = http.post("/api/me/second-factor/confirm", json={"code": app.wrong_code()})
        assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "auth_failed"
        r = http.post("/api/me/second-factor/confirm", json={"code": app.code()})
        codes = r.json()["recovery_codes"]
        assert len(codes) == 10 and len(set(codes)) == 10
        assert http.get("/api/me/second-factor").json()["enabled"] is True
        # A second enrolment is refused while one is on.
        assert http.post("/api/me/second-factor", json={}).status_code == 409

    with httpx.Client(base_url=server.url) as http:
        r = _login(http, unique)
        assert r.status_code == 200 and r.json()["second_factor"] == "totp"
        assert "dl_session" not in http.cookies and "user" not in r.json()
        ticket = r.json()["ticket"]
        assert http.get("/api/me").status_code == 401
        bad = _finish(http, ticket, app.wrong_code())
        assert bad.status_code == 401 and bad.json()["error"]["code"] == "auth_failed"
        code = app.code()
        ok = _finish(http, ticket, code)
        assert ok.status_code == 200 and ok.json()["user"]["username"] == unique and ok.json()["csrf"]
        assert http.get("/api/me").json()["user"]["username"] == unique
        # The ticket finished its login: it is spent.
        again = _finish(http, ticket, app.code())
        assert again.status_code == 401 and again.json()["error"]["code"] == "auth_required"
        # The same code does not work twice, even with a new ticket.
        second = _login(http, unique).json()["ticket"]
        assert _finish(http, second, code).status_code == 401


def test_wrong_codes_count_against_the_account_and_lock_it(server: ServerProcess, admin: AdminAPI, unique: str) -> None:
    """Limit 4 per account: the password (1) and three wrong codes use it up;
    then a right code, and the right password, wait out the backoff."""
    admin.user(unique, PASSWORD)
    app, _ = _enrol(server, unique)
    with httpx.Client(base_url=server.url) as http:
        ticket = _login(http, unique).json()["ticket"]
        for _ in range(3):
            assert _finish(http, ticket, app.wrong_code()).status_code == 401
        locked = _finish(http, ticket, app.code())
        assert locked.status_code == 429 and locked.json()["error"]["code"] == "login_limited"
        assert int(locked.headers["retry-after"]) >= 1
        assert _login(http, unique).status_code == 429


def test_wrong_codes_count_against_the_address(admin: AdminAPI) -> None:
    """Address limit 4: two users' wrong codes from one address lock the
    address for a third user's right password."""
    env = {"DESKLINK_LOGIN_ATTEMPTS_PER_ACCOUNT": "100", "DESKLINK_LOGIN_ATTEMPTS_PER_IP": "4"}
    with ServerProcess(env=env) as srv:
        boss = AdminAPI(srv)
        for name in ("ann", "ben", "cid"):
            boss.user(name, PASSWORD)
        apps = {name: _enrol(srv, name)[0] for name in ("ann", "ben")}
        boss.close()
        with httpx.Client(base_url=srv.url) as http:
            for name, app in apps.items():
                ticket = _login(http, name).json()["ticket"]  # a right password takes its hit back
                for _ in range(2):
                    assert _finish(http, ticket, app.wrong_code()).status_code == 401
            r = _login(http, "cid")
            assert r.status_code == 429 and r.json()["error"]["code"] == "login_limited"


def test_a_recovery_code_works_once(server: ServerProcess, admin: AdminAPI, unique: str) -> None:
    admin.user(unique, PASSWORD)
    _, codes = _enrol(server, unique)
    with httpx.Client(base_url=server.url) as http:
        ticket = _login(http, unique).json()["ticket"]
        assert _finish(http, ticket, codes[0]).status_code == 200
        ticket = _login(http, unique).json()["ticket"]
        used = _finish(http, ticket, codes[0])
        assert used.status_code == 401 and used.json()["error"]["code"] == "auth_failed"
        # Typed loosely (upper case, spaces instead of the dash) it still counts.
        assert _finish(http, ticket, codes[1].upper().replace("-", " ")).status_code == 200
        http.headers["X-CSRF-Token"] = http.get("/api/me").json()["csrf"]
        assert http.get("/api/me/second-factor").json()["recovery_codes_left"] == 8


def test_new_recovery_codes_and_turning_it_off(server: ServerProcess, admin: AdminAPI, unique: str) -> None:
    admin.user(unique, PASSWORD)
    app, old_codes = _enrol(server, unique)
    with httpx.Client(base_url=server.url) as http:
        ticket = _login(http, unique).json()["ticket"]
        http.headers["X-CSRF-Token"] = _finish(http, ticket, old_codes[0]).json()["csrf"]
        assert http.post("/api/me/second-factor/recovery-codes", json={"code": app.wrong_code()}).status_code == 403
        new_codes = http.post("/api/me/second-factor/recovery-codes", json={"code": app.code()}).json()["recovery_codes"]
        assert len(new_codes) == 10 and not set(new_codes) & set(old_codes)
        ticket = _login(http, unique).json()["ticket"]
        assert _finish(http, ticket, old_codes[1]).status_code == 401  # replaced
        http.headers["X-CSRF-Token"] = _finish(http, ticket, new_codes[0]).json()["csrf"]
        off = http.post("/api/me/second-factor/disable", json={"code": app.code()})
        assert off.status_code == 204, off.text
        r = _login(http, unique)
        assert r.status_code == 200 and r.json()["user"]["username"] == unique  # one step again


def test_policy_forces_enrolment_and_admin_reset(server: ServerProcess, admin: AdminAPI, unique: str) -> None:
    rep = admin.user(unique, PASSWORD, role="supervisor")
    r = admin.http.put("/api/admin/second-factor/policy", json={"roles": ["supervisor"]})
    assert r.status_code == 200 and r.json()["policy"] == {"roles": ["supervisor"]}
    try:
        with httpx.Client(base_url=server.url) as http:
            r = _login(http, unique)
            body = r.json()
            assert set(body) == {"enroll", "ticket"} and "dl_session" not in http.cookies
            assert body["enroll"]["qr"].startswith("data:image/png;base64,")
            app = Authenticator(body["enroll"]["secret"])
            assert _finish(http, body["ticket"], app.wrong_code()).status_code == 401
            done = _finish(http, body["ticket"], app.code())
            assert done.status_code == 200 and len(done.json()["recovery_codes"]) == 10
            http.headers["X-CSRF-Token"] = done.json()["csrf"]
            status = http.get("/api/me/second-factor").json()
            assert status["enabled"] and status["required"]
            # Required for the role: it cannot be turned off.
            off = http.post("/api/me/second-factor/disable", json={"code": app.code()})
            assert off.status_code == 403 and off.json()["error"]["code"] == "forbidden"

        users = admin.http.get("/api/admin/second-factor").json()["users"]
        assert next(u for u in users if u["id"] == rep["id"])["second_factor"] == "on"
        assert admin.http.delete(f"/api/admin/users/{rep['id']}/second-factor").status_code == 204
        users = admin.http.get("/api/admin/second-factor").json()["users"]
        assert next(u for u in users if u["id"] == rep["id"])["second_factor"] == "off"
        with httpx.Client(base_url=server.url) as http:
            again = _login(http, unique).json()
            assert "enroll" in again and again["enroll"]["secret"] != app.totp.secret
        # An admin is not refused by the supervisor-only policy.
        with httpx.Client(base_url=server.url) as http:
            assert "user" in _login(http, "admin", server.admin_password).json()
    finally:
        admin.http.put("/api/admin/second-factor/policy", json={"roles": []}).raise_for_status()

    entries = _audit(server)
    policy = [e for e in entries if e.action == "policy.second_factor"]
    assert policy[-1].data == {"roles": ["supervisor"], "before": []} and policy[-1].actor == "admin"
    assert policy[0].data == {"roles": [], "before": ["supervisor"]}
    reset = next(e for e in entries if e.action == "user.second_factor_reset")
    assert reset.target == f"user {unique}" and reset.actor == "admin" and reset.actor_id is not None
    assert reset.data == {"user_id": rep["id"], "had_second_factor": True}


def test_a_ticket_expires(admin: AdminAPI) -> None:
    with ServerProcess(env={"DESKLINK_SECOND_FACTOR_TICKET_TTL_S": "1"}) as srv:
        boss = AdminAPI(srv)
        boss.user("ann", PASSWORD)
        boss.close()
        app, _ = _enrol(srv, "ann")
        with httpx.Client(base_url=srv.url) as http:
            ticket = _login(http, "ann").json()["ticket"]
            time.sleep(1.5)
            r = _finish(http, ticket, app.code())
            assert r.status_code == 401 and r.json()["error"]["code"] == "auth_required"


def test_bad_tickets_and_codes_are_clear_errors(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.url) as http:
        for ticket in ["", "x", "1.", "9" * 100 + ".abc", "1.forged"]:
            r = _finish(http, ticket, "123456")
            assert r.status_code == 401 and r.json()["error"]["code"] == "auth_required", ticket
        r = http.post("/api/auth/second-factor", json={"ticket": "1.x"})
        assert r.status_code == 400 and r.json()["error"]["code"] == "bad_message"


def test_reset_from_the_command_line(tmp_path: Path) -> None:
    """An admin who lost both phone and recovery codes gets back in with
    `desklink admin user reset-second-factor` (audited as the command line)."""
    with ServerProcess(data_dir=tmp_path) as srv:
        boss = AdminAPI(srv)
        boss.user("ann", PASSWORD, role="admin")
        boss.close()
        _enrol(srv, "ann")
        with httpx.Client(base_url=srv.url) as http:
            assert "ticket" in _login(http, "ann").json()
        cmd = [sys.executable, "-m", "desklink", "admin", "--data-dir", str(tmp_path), "user", "reset-second-factor", "ann"]
        r = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=60, env={**os.environ, **FAST_HASH_ENV})
        assert r.returncode == 0 and "second factor reset for ann" in r.stdout, r.stderr
        with httpx.Client(base_url=srv.url) as http:
            assert _login(http, "ann").json()["user"]["username"] == "ann"
        entry = next(e for e in _audit(srv) if e.action == "user.second_factor_reset")
        assert entry.actor.startswith("command line") and entry.actor_id is None and entry.target == "user ann"
