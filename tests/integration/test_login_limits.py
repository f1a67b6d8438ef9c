"""Login attempts per account and per address, with backoff."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from desklink.testing import AdminAPI, ServerProcess


@pytest.fixture
def server() -> Iterator[ServerProcess]:
    env = {
        "DESKLINK_LOGIN_ATTEMPTS_PER_ACCOUNT": "3",
        "DESKLINK_LOGIN_ATTEMPTS_PER_IP": "6",
        "DESKLINK_LOGIN_BACKOFF_BASE_S": "1",
    }
    with ServerProcess(env=env) as srv:
        yield srv


def _login(http: httpx.Client, user: str, pw: str) -> httpx.Response:
    return http.post("/api/auth/login", json={"username": user, "password": pw})


def test_account_backoff_then_recovery(server: ServerProcess) -> None:
    admin = AdminAPI(server)
    admin.user("alice", "correct horse battery")
    admin.close()
    with httpx.Client(base_url=server.url) as http:
        for _ in range(3):
            assert _login(http, "alice", "wrong password!").status_code == 401
        # Past the limit even the right password waits out the backoff.
        blocked = _login(http, "alice", "correct horse battery")
        assert blocked.status_code == 429
        body = blocked.json()["error"]
        assert body["code"] == "login_limited" and 0 < body["retry_after"] <= 1.5
        assert int(blocked.headers["retry-after"]) >= 1
        time.sleep(body["retry_after"] + 0.2)
        ok = _login(http, "alice", "correct horse battery")
        assert ok.status_code == 200 and ok.json()["user"]["username"] == "alice"
        # A second failure run doubles the wait.
        for _ in range(3):
            _login(http, "alice", "wrong again!!")
        r = _login(http, "alice", "wrong again!!")
        assert r.status_code == 429


def test_address_limit_spans_accounts(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.url) as http:
        codes = [_login(http, f"nobody{i}", "guess guess guess").status_code for i in range(6)]
        assert codes == [401] * 6
        r = _login(http, "admin", server.admin_password)
        assert r.status_code == 429 and r.json()["error"]["code"] == "login_limited"


def test_unknown_and_disabled_users_get_the_same_answer(server: ServerProcess) -> None:
    admin = AdminAPI(server)
    bob = admin.user("bob", "bob's long password")
    admin.http.patch(f"/api/admin/users/{bob['id']}", json={"disabled": True}).raise_for_status()
    admin.close()
    with httpx.Client(base_url=server.url) as http:
        a = _login(http, "bob", "bob's long password")
        b = _login(http, "nosuchuser", "whatever password")
    assert a.status_code == b.status_code == 401
    assert a.json() == b.json()
