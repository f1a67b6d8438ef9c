"""Behind a proxy the client address is what the nearest trusted proxy saw:
rotating the leftmost ``X-Forwarded-For`` entry does not get round a
per-address limit, and headers from anyone but a trusted proxy are ignored.
A real server; the "proxy" is 127.0.0.1, a direct client is 127.0.0.2."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest
import websockets

from desklink.testing import ServerProcess


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    env = {"DESKLINK_TRUSTED_PROXIES": "127.0.0.1", "DESKLINK_MAX_OPEN_REQUESTS_PER_IP": "2"}
    with ServerProcess(env=env) as srv:
        yield srv


def _submit(http: httpx.Client, forwarded_for: str | None) -> httpx.Response:
    headers = {"Origin": str(http.base_url).rstrip("/")}
    if forwarded_for is not None:
        headers["X-Forwarded-For"] = forwarded_for
    return http.post("/api/visitor/requests", json={"queue": "support", "name": "Ann", "question": "hi"}, headers=headers)


def test_rotating_the_leftmost_entry_does_not_reset_the_limit(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.url) as proxy:
        codes = [_submit(proxy, f"10.9.9.{i}, 203.0.113.9").status_code for i in range(4)]
        assert codes == [201, 201, 429, 429], codes
        # Another client behind the same proxy has its own count.
        assert _submit(proxy, "203.0.113.10").status_code == 201
        # Two proxies in a row (the inner one's address is trusted too):
        # the entry in front of them is the client, whatever is further left.
        assert _submit(proxy, "203.0.113.10, 127.0.0.1").status_code == 201
        assert _submit(proxy, "8.8.8.8, 203.0.113.10, 127.0.0.1").status_code == 429


def test_headers_from_an_untrusted_peer_are_ignored(server: ServerProcess) -> None:
    direct = httpx.Client(base_url=server.url, transport=httpx.HTTPTransport(local_address="127.0.0.2"))
    with direct:
        codes = [_submit(direct, f"203.0.113.{50 + i}").status_code for i in range(3)]
        assert codes == [201, 201, 429], codes  # all counted as 127.0.0.2
        r = direct.get("/healthz", headers={"X-Forwarded-Proto": "https"})
        assert "strict-transport-security" not in r.headers


async def test_sockets_see_the_same_client(server: ServerProcess) -> None:
    """The agent's join attempts are counted per address like the HTTP
    limits, from the same forwarded address."""
    async def join(forwarded_for: str) -> int | None:
        ws = await websockets.connect(
            server.ws_url + "/ws/agent", additional_headers={"X-Forwarded-For": forwarded_for}, open_timeout=10
        )
        await ws.send('{"t":"hello","code":"000000000","version":"t","platform":"t"}')
        try:
            await asyncio.wait_for(ws.recv(), 10)
        except websockets.ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None
        finally:
            await ws.close()
        return None

    codes = [await join(f"10.8.8.{i}, 198.51.100.7") for i in range(11)]
    assert codes[:10] == [4001] * 10 and codes[10] == 4029, codes  # join_attempts_per_minute = 10
    assert await join("198.51.100.8") == 4001  # someone else is not limited
