"""One client cannot stall the server: slow request headers are cut off,
connections per address are bounded, and HTTP request budgets answer 429 to
a flooding address or account while everyone else is served. Real server,
real sockets; abusers bind other loopback addresses than the bystander's
127.0.0.1 (see _net.py)."""

from __future__ import annotations

import json
import resource
import socket

import httpx
import pytest
import websockets
from _net import connect_from, open_files, read_until_closed, wait_for

from desklink.testing import ServerProcess

ABUSER = "127.0.0.2"


def _status_and_body(raw: bytes) -> tuple[int, dict[str, object]]:
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), json.loads(body)


def _from(source: str, server: ServerProcess) -> httpx.Client:
    return httpx.Client(base_url=server.url, transport=httpx.HTTPTransport(local_address=source), timeout=30)


# ------------------------------------------------------------ header timeout
def test_connections_that_do_not_finish_their_headers_are_closed() -> None:
    with ServerProcess(env={"DESKLINK_HEADER_TIMEOUT_S": "1"}) as srv:
        silent = connect_from(ABUSER, srv.port)
        trickle = connect_from(ABUSER, srv.port)
        trickle.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        # A kept-alive connection: a whole first request, then half of the next.
        kept = connect_from(ABUSER, srv.port)
        kept.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert b"200 OK" in kept.recv(65536)
        kept.sendall(b"GET /healthz HTTP/1.1\r\nHos")
        for sock in (silent, trickle, kept):
            status, body = _status_and_body(read_until_closed(sock, timeout=20))
            assert status == 408
            assert body["error"]["code"] == "bad_message"  # type: ignore[index]
            assert "headers" in body["error"]["message"]  # type: ignore[index]
            sock.close()
        # A client that sends its headers in time is served as always.
        prompt = connect_from(ABUSER, srv.port)
        prompt.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert b"200 OK" in read_until_closed(prompt, timeout=20)
        prompt.close()


# --------------------------------------------------- connections per address
async def test_connections_per_address_are_bounded_and_freed_on_close() -> None:
    env = {"DESKLINK_MAX_CONNECTIONS_PER_IP": "5", "DESKLINK_HEADER_TIMEOUT_S": "60"}
    with ServerProcess(env=env) as srv:
        held = [connect_from(ABUSER, srv.port) for _ in range(5)]
        for sock in held:  # each one answered: the server has counted it
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            assert b"200 OK" in sock.recv(65536)
        extra = connect_from(ABUSER, srv.port)
        status, body = _status_and_body(read_until_closed(extra, timeout=20))
        extra.close()
        assert status == 429 and body["error"]["code"] == "rate_limited"  # type: ignore[index]
        # Everyone else is served, HTTP and WebSocket alike.
        with httpx.Client(base_url=srv.url) as bystander:
            assert bystander.get("/healthz").status_code == 200
        ws = await websockets.connect(srv.ws_url + "/ws/agent")
        await ws.close()
        # Closing one frees its place.
        held.pop().close()

        def one_more() -> bool:
            with _from(ABUSER, srv) as again:
                try:
                    return again.get("/healthz").status_code == 200
                except httpx.HTTPError:
                    return False

        assert wait_for(one_more, what="a freed connection slot")
        for sock in held:
            sock.close()

        # WebSockets count too, from the upgrade until their socket closes.
        sockets = [
            await websockets.connect(srv.ws_url + "/ws/agent", local_addr=("127.0.0.3", 0)) for _ in range(5)
        ]
        with pytest.raises(websockets.InvalidStatus) as refused:
            await websockets.connect(srv.ws_url + "/ws/agent", local_addr=("127.0.0.3", 0))
        assert refused.value.response.status_code == 429
        await sockets.pop().close()

        async def reopened() -> websockets.ClientConnection | None:
            try:
                return await websockets.connect(srv.ws_url + "/ws/agent", local_addr=("127.0.0.3", 0))
            except websockets.InvalidStatus:
                return None

        for _ in range(200):
            ws = await reopened()
            if ws is not None:
                break
        assert ws is not None, "closing a WebSocket did not free its place"
        for s in [*sockets, ws]:
            await s.close()


def test_thousands_of_slow_clients_do_not_lock_others_out() -> None:
    """The review's reproduction: 3000 connections that never finish their
    headers, against a server with the usual 1024 open files. Without the
    per-address bound the server runs out of descriptors and ``/healthz``
    stops answering; with the defaults, one address holds at most 256."""
    with open_files(4000), ServerProcess() as srv:
        assert srv.proc is not None
        resource.prlimit(srv.proc.pid, resource.RLIMIT_NOFILE, (1024, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
        slow: list[socket.socket] = []
        try:
            for _ in range(3000):
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                slow.append(sock)
                sock.bind((ABUSER, 0))
                sock.setblocking(False)
                sock.connect_ex(("127.0.0.1", srv.port))
            for sock in slow:
                try:
                    sock.send(b"GET /healthz HTTP/1.1\r\nX-Slow: ")
                except OSError:
                    pass  # not connected (yet), or already refused and closed
            with httpx.Client(base_url=srv.url, timeout=30) as bystander:
                assert bystander.get("/healthz").status_code == 200
                metrics = srv.metrics()
            values = {
                line.split()[0]: float(line.split()[1]) for line in metrics.splitlines() if line.startswith("desklink_tcp_")
            }
            assert values["desklink_tcp_refused"] > 0
            assert values["desklink_tcp_open"] <= 256 + 10  # the abuser's 256 and the bystander's few
        finally:
            for sock in slow:
                sock.close()


# ------------------------------------------------------------ HTTP budgets
#: Small budgets that refill slowly, so a test's own pace cannot refill them
#: between two requests: 5 API requests at once, then one every 10 s.
BUDGETS = {
    "DESKLINK_API_REQUESTS_PER_MINUTE_PER_IP": "6",
    "DESKLINK_PAGE_REQUESTS_PER_MINUTE_PER_IP": "12",  # 10 at once
    "DESKLINK_API_REQUESTS_PER_MINUTE_PER_ACCOUNT": "6",
    "DESKLINK_HTTP_BURST_S": "50",
}


async def test_an_address_flooding_the_api_gets_429_and_nobody_else_does() -> None:
    with ServerProcess(env=BUDGETS) as srv, _from(ABUSER, srv) as flood, httpx.Client(base_url=srv.url) as bystander:
        answers = [flood.get("/api/widget/config", params={"queue": "support"}) for _ in range(8)]
        codes = [r.status_code for r in answers]
        assert codes == [200] * 5 + [429] * 3, codes
        refused = answers[codes.index(429)]
        error = refused.json()["error"]
        assert error["code"] == "rate_limited" and "address" in error["message"]
        assert error["retry_after"] > 0 and int(refused.headers["retry-after"]) >= 1
        # The bystander's API calls, the abuser's pages and its health
        # checks are not in the spent budget.
        assert bystander.get("/api/widget/config", params={"queue": "support"}).status_code == 200
        assert flood.get("/console").status_code == 200
        assert flood.get("/healthz").status_code == 200
        # A WebSocket handshake spends the API budget too, and is refused alike.
        with pytest.raises(websockets.InvalidStatus) as ws_refused:
            await websockets.connect(srv.ws_url + "/ws/agent", local_addr=(ABUSER, 0))
        assert ws_refused.value.response.status_code == 429
        assert json.loads(ws_refused.value.response.body)["error"]["code"] == "rate_limited"
        # The budget comes back.
        assert wait_for(lambda: flood.get("/api/widget/config", params={"queue": "support"}).status_code == 200)


def test_page_and_static_requests_have_their_own_budget() -> None:
    with ServerProcess(env=BUDGETS) as srv, _from(ABUSER, srv) as flood:
        codes = [flood.get("/static/widget/desklink-help.js").status_code for _ in range(12)]
        assert codes == [200] * 10 + [429] * 2, codes
        assert flood.get("/api/widget/config", params={"queue": "support"}).status_code == 200


def test_an_account_is_limited_whichever_address_it_uses() -> None:
    with ServerProcess(env=BUDGETS) as srv:
        admin = srv.admin()
        body = {"username": "other", "password": "a long password", "role": "rep", "display_name": "Other"}
        assert admin.post("/api/admin/users", json=body).status_code == 201
        cookie = admin.cookies["dl_session"]
        answers = []
        for i in range(6):  # a new address each time: no address runs out
            with _from(f"127.0.1.{i + 1}", srv) as http:
                answers.append(http.get("/api/me", headers={"Cookie": f"dl_session={cookie}"}))
        assert [r.status_code for r in answers] == [200] * 4 + [429] * 2  # the POST above was the first
        error = answers[-1].json()["error"]
        assert error["code"] == "rate_limited" and "account" in error["message"]
        assert int(answers[-1].headers["retry-after"]) >= 1
        # Another account is not affected.
        other, _ = srv.login("other", "a long password")
        assert other.get("/api/me").status_code == 200
        other.close()
        admin.close()
