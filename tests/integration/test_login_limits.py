"""Login attempts per account and per address, with backoff."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

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


# --------------------------------------------------------------- Unicode keys


def test_every_spelling_of_a_username_shares_one_counter_and_lock(server: ServerProcess) -> None:
    """The lookup matches usernames by NFKC + case fold; the limits must too,
    or "rep¹" and full-width "ｒｅｐ１" would be free guesses at "rep1"."""
    admin = AdminAPI(server)
    admin.user("rep1", "rep one's long password")
    admin.close()
    spellings = ["rep¹", "ＲＥＰ１", "Rep1", "ｒｅｐ1"]
    with httpx.Client(base_url=server.url) as http:
        # They are the same account: each logs in with the right password.
        for name in spellings:
            r = _login(http, name, "rep one's long password")
            assert r.status_code == 200 and r.json()["user"]["username"] == "rep1", name
        # Three wrong passwords under three spellings lock every spelling.
        for name in spellings[:3]:
            assert _login(http, name, "wrong password!").status_code == 401
        for name in [*spellings, "rep1"]:
            r = _login(http, name, "rep one's long password")
            assert r.status_code == 429 and r.json()["error"]["code"] == "login_limited", name


# --------------------------------------------------------- concurrent guesses


def _metric(text: str, name: str) -> int:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return int(float(line.split()[1]))
    raise AssertionError(f"{name} not in /metrics")


async def _burst(urls: list[str], user: str, count: int) -> list[int]:
    async with httpx.AsyncClient(timeout=60) as http:
        answers = await asyncio.gather(
            *(
                http.post(urls[i % len(urls)] + "/api/auth/login", json={"username": user, "password": f"guess {i:04d}!"})
                for i in range(count)
            )
        )
    return [r.status_code for r in answers]


def test_concurrent_wrong_passwords_check_at_most_the_limit() -> None:
    """40 wrong passwords at once for one account from one address, with the
    default limits (5 per account, 20 per address): exactly 5 are checked
    (401, and 5 Argon2 verifications on /metrics), the rest refused unchecked."""
    with ServerProcess() as srv:
        admin = AdminAPI(srv)
        admin.user("target", "the target's password")
        before = _metric(srv.metrics(), "desklink_passwords_verified")
        codes = asyncio.run(_burst([srv.url], "target", 40))
        assert codes.count(401) == 5 and codes.count(429) == 35, codes
        after = _metric(srv.metrics(), "desklink_passwords_verified")
        assert after - before == 5
        # The refused attempts took their hits back from the address's
        # counter: another account from this address still gets checked.
        admin.user("other", "the other password")
        with httpx.Client(base_url=srv.url) as http:
            assert _login(http, "other", "the other password").status_code == 200
        admin.close()


@pytest.mark.pg
@pytest.mark.redis
def test_concurrent_wrong_passwords_across_two_nodes(pg_database_url: str, redis_url: str, tmp_path: Path) -> None:
    """The same burst spread over two nodes sharing Redis: the limit holds
    for the deployment, not per node."""
    env = {
        "DESKLINK_DATABASE_URL": pg_database_url,
        "DESKLINK_REDIS_URL": redis_url,
        "DESKLINK_BROKER_PREFIX": f"dltest:{secrets.token_hex(4)}:",
    }
    with ServerProcess(env=env, data_dir=tmp_path / "a") as a, ServerProcess(env=env, data_dir=tmp_path / "b") as b:
        admin = AdminAPI(a)
        admin.user("target", "the target's password")
        codes = asyncio.run(_burst([a.url, b.url], "target", 40))
        assert codes.count(401) == 5 and codes.count(429) == 35, codes
        admin.close()


def test_a_success_takes_its_hit_back_from_the_address(server: ServerProcess) -> None:
    """Successful logins do not use up the address's budget (6 here): an
    office behind one address can log in many times."""
    admin = AdminAPI(server)
    admin.user("office", "the office password")
    admin.close()
    with httpx.Client(base_url=server.url) as http:
        for _ in range(10):
            assert _login(http, "office", "the office password").status_code == 200
