"""Who the client is (server/addresses.py) and how requests are budgeted
(server/throttle.py, server/transport.py's ConnectionGuard). Pure: no
server, made-up addresses and clocks."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desklink.config import Settings
from desklink.errors import LimitExceeded
from desklink.server.addresses import (
    TrustedProxies,
    forwarded_client,
    forwarded_scheme,
    limit_key,
    parse_address,
)
from desklink.server.throttle import HttpLimits, budget_for
from desklink.server.transport import ConnectionGuard

PROXIES = TrustedProxies(["10.0.0.0/24", "192.0.2.7", "::1"])


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        # No proxy in between: the peer, whatever the headers say.
        ("198.51.100.1", "203.0.113.9", "198.51.100.1"),
        ("198.51.100.1", "", "198.51.100.1"),
        # One trusted proxy: the address it saw is the rightmost entry.
        ("10.0.0.2", "203.0.113.9", "203.0.113.9"),
        ("10.0.0.2", "1.1.1.1, 2.2.2.2, 203.0.113.9", "203.0.113.9"),
        # Two trusted hops: skip the inner proxy's entry.
        ("10.0.0.2", "6.6.6.6, 203.0.113.9, 192.0.2.7", "203.0.113.9"),
        ("10.0.0.2", "203.0.113.9,10.0.0.3", "203.0.113.9"),
        # Ports and brackets as some proxies write them.
        ("10.0.0.2", "203.0.113.9:4711", "203.0.113.9"),
        ("10.0.0.2", "[2001:db8::5]:443", "2001:db8::5"),
        ("10.0.0.2", "::ffff:203.0.113.9", "203.0.113.9"),
        # Everything trusted: the client is itself a proxy; the leftmost.
        ("10.0.0.2", "10.0.0.9, 10.0.0.3", "10.0.0.9"),
        # A proxy that sends no header or garbage: count it as the proxy.
        ("10.0.0.2", "", "10.0.0.2"),
        ("10.0.0.2", "unknown", "10.0.0.2"),
        ("::1", "2001:db8::5", "2001:db8::5"),
    ],
)
def test_forwarded_client(peer: str, forwarded: str, client: str) -> None:
    assert forwarded_client(peer, forwarded, PROXIES) == client


@given(forged=st.lists(st.from_regex(r"[0-9a-z.:\[\] ]{0,20}", fullmatch=True), max_size=5))
def test_what_the_client_writes_on_the_left_never_matters(forged: list[str]) -> None:
    """The bypass this rule closes: rotating the leftmost entries (or adding
    any number of them) must not change who the client is."""
    chain = ", ".join([*forged, "203.0.113.9", "192.0.2.7"])
    assert forwarded_client("10.0.0.1", chain, PROXIES) == "203.0.113.9"


def test_no_trusted_proxies_means_headers_are_ignored() -> None:
    none = TrustedProxies([])
    assert not none
    assert forwarded_client("127.0.0.1", "203.0.113.9", none) == "127.0.0.1"
    assert forwarded_scheme("127.0.0.1", "https", none, "http") == "http"


def test_forwarded_scheme() -> None:
    assert forwarded_scheme("10.0.0.2", "https", PROXIES, "http") == "https"
    assert forwarded_scheme("10.0.0.2", "HTTPS, http", PROXIES, "http") == "https"
    assert forwarded_scheme("10.0.0.2", "gopher", PROXIES, "http") == "http"
    assert forwarded_scheme("198.51.100.1", "https", PROXIES, "http") == "http"


def test_parse_address_and_limit_key() -> None:
    assert str(parse_address(" 203.0.113.9 ")) == "203.0.113.9"
    assert parse_address("not an address") is None
    assert limit_key("203.0.113.9") == "203.0.113.9"
    # IPv6 clients are counted by /64: one subscriber, one budget.
    assert limit_key("2001:db8:1:2::5") == limit_key("2001:db8:1:2:ffff::1") == "2001:db8:1:2::/64"
    assert limit_key("2001:db8:1:3::5") != limit_key("2001:db8:1:2::5")
    assert limit_key("::ffff:203.0.113.9") == "203.0.113.9"
    assert limit_key("unknown") == "unknown"


@pytest.mark.parametrize(
    ("path", "budget"),
    [
        ("/healthz", None),
        ("/readyz", None),
        ("/api/sessions", "api"),
        ("/api/auth/login", "api"),
        ("/ws/visitor", "api"),
        ("/metrics", "api"),
        ("/", "page"),
        ("/console", "page"),
        ("/static/widget/desklink-help.js", "page"),
        ("/nothing/here", "page"),
    ],
)
def test_budget_for(path: str, budget: str | None) -> None:
    assert budget_for(path) == budget


async def test_http_limits_per_address_and_per_account() -> None:
    now = [0.0]
    settings = Settings(
        api_requests_per_minute_per_ip=60, page_requests_per_minute_per_ip=120,
        api_requests_per_minute_per_account=30, http_burst_s=5.0, refusal_delay_s=0.001,
    )
    limits = HttpLimits(settings, clock=lambda: now[0])
    # 60 a minute with 5 s of burst: 5 at once, then one a second.
    assert [limits.charge_address("api", "198.51.100.1") for _ in range(5)] == [0.0] * 5
    assert limits.charge_address("api", "198.51.100.1") == pytest.approx(1.0)
    assert limits.charge_address("page", "198.51.100.1") == 0.0  # a separate budget
    assert limits.charge_address("api", "198.51.100.2") == 0.0  # another client
    now[0] = 1.0
    assert limits.charge_address("api", "198.51.100.1") == 0.0
    for _ in range(2):  # 30 a minute, 5 s: a burst of 2 (rounded down from 2.5)
        await limits.charge_account(7)
    with pytest.raises(LimitExceeded) as info:
        await limits.charge_account(7)
    assert info.value.code == "rate_limited" and info.value.http_status == 429 and info.value.retry_after > 0
    await limits.charge_account(8)
    assert limits.statistics()["account_refused"] == 1 and limits.statistics()["api_refused"] == 1


def test_connection_guard_counts_per_address_and_spares_trusted_proxies() -> None:
    guard = ConnectionGuard(2, TrustedProxies(["10.0.0.1"]))
    a, b, c, d = object(), object(), object(), object()
    assert guard.open(a, "198.51.100.1") and guard.open(b, "198.51.100.1")
    assert not guard.open(c, "198.51.100.1")
    assert guard.open(c, "198.51.100.2")
    assert all(guard.open(object(), "10.0.0.1") for _ in range(10))  # the proxy is not counted
    guard.close(a)
    guard.close(a)  # twice is harmless
    assert guard.held_by("198.51.100.1") == 1
    assert guard.open(d, "198.51.100.1")
    assert guard.statistics() == {"open": 3, "addresses": 2, "refused": 1, "header_timeouts": 0}
    for conn in (b, c, d):
        guard.close(conn)
    assert guard.statistics()["open"] == 0 and guard.statistics()["addresses"] == 0
