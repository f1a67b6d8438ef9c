"""Prometheus metrics of a real node: who may read them (a scraper's bearer
token, or the loopback-only ``metrics_port``, never a login), the text
format (parsed with the Prometheus client's own parser), and that a visitor's
submit, a rep's accept and a chat move the counters, the fan-out histogram
and the waiting-queue gauge."""

from __future__ import annotations

import socket
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from desklink.testing import AdminAPI, RepClient, ServerProcess, VisitorClient, free_port, wait_until


def families(text: str) -> dict[str, Any]:
    """Every metric family of a scrape, by name (the parser raises on
    anything that is not valid Prometheus text)."""
    return {f.name: f for f in text_string_to_metric_families(text)}


def value(text: str, sample: str, **labels: str) -> float:
    """One sample's value (0 when the labelled series does not exist yet)."""
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items()):
                return float(s.value)
    return 0.0


def test_metrics_need_the_scrapers_token(server: ServerProcess, admin: AdminAPI) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as http:
        bare = http.get("/metrics")
        assert bare.status_code == 401 and bare.json()["error"]["code"] == "auth_required"
        wrong = http.get("/metrics", headers={"Authorization": "Bearer " + "x" * len(server.metrics_token)})
        assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "auth_failed"
        prefix = http.get("/metrics", headers={"Authorization": "Bearer " + server.metrics_token[:-1]})
        assert prefix.status_code == 401
        ok = http.get("/metrics", headers=server.metrics_headers)
    # A browser login, even an admin's, is not a scraper's token.
    assert admin.http.get("/metrics").status_code == 401
    assert ok.status_code == 200
    assert ok.headers["content-type"].startswith("text/plain; version=0.0.4")
    found = families(ok.text)
    assert found["desklink_alert_fanout_seconds"].type == "histogram"
    assert found["desklink_connections_opened"].type == "counter"
    assert found["desklink_store_seconds"].type == "histogram"
    assert found["desklink_queue_waiting"].type == "gauge"
    assert found["desklink_connections"].type == "gauge"  # the statistics() figures are there too
    # The store was used to answer: its statements were timed.
    assert value(ok.text, "desklink_store_seconds_count") > 0


def test_without_a_token_the_public_port_has_no_metrics_and_the_metrics_port_does() -> None:
    port = free_port()
    with ServerProcess(env={"DESKLINK_METRICS_TOKEN": "", "DESKLINK_METRICS_PORT": str(port)}) as srv:
        r = httpx.get(srv.url + "/metrics", headers={"Authorization": "Bearer anything-at-all-here"}, timeout=10)
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
        scraped = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
        assert scraped.status_code == 200 and scraped.headers["content-type"].startswith("text/plain; version=0.0.4")
        assert "desklink_alert_fanout_seconds" in families(scraped.text)
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code == 404  # metrics only
        assert httpx.post(f"http://127.0.0.1:{port}/metrics", timeout=10).status_code == 405
        # Bound to 127.0.0.1 only: another loopback address finds nobody there.
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.2", port), timeout=5).close()


def test_a_short_metrics_token_is_refused_at_start() -> None:
    srv = ServerProcess(env={"DESKLINK_METRICS_TOKEN": "short"})
    with pytest.raises(RuntimeError, match="metrics_token must be at least 16 characters"):
        srv.start()
    srv.stop()


async def test_submit_accept_and_chat_move_the_metrics(server: ServerProcess, admin: AdminAPI, unique: str) -> None:
    admin.queue(unique)
    (user, pw), = admin.reps(1, queue_slug=unique, prefix=unique + "rep")
    before = server.metrics()
    rep = await RepClient.connect(server, user, pw)
    visitor = await VisitorClient.submit(server, queue=unique, name="Ann", question="The printer is offline")
    await rep.expect("alert")

    # Waiting now: the queue's gauge says one, read at scrape time.
    waiting = server.metrics()
    assert value(waiting, "desklink_queue_waiting", queue=unique) == 1
    # The alert reached the rep's socket: one more fan-out observation.
    await wait_until(
        lambda: value(server.metrics(), "desklink_alert_fanout_seconds_count")
        > value(before, "desklink_alert_fanout_seconds_count"),
        what="the alert's fan-out observed",
    )

    await rep.send({"t": "accept", "request_id": visitor.request_id})
    sid = (await rep.expect("accepted"))["session"]["id"]
    await visitor.expect("joined")
    await visitor.send({"t": "chat.send", "cid": "v1", "text": "hello"})
    await rep.expect("chat", cid="v1")
    await rep.send({"t": "chat.send", "session_id": sid, "cid": "r1", "text": "hi Ann"})
    await visitor.expect("chat", cid="r1")

    after = server.metrics()
    assert value(after, "desklink_queue_waiting", queue=unique) == 0
    for kind in ("rep", "visitor"):
        assert value(after, "desklink_connections_opened_total", kind=kind) >= value(
            before, "desklink_connections_opened_total", kind=kind
        ) + 1
    assert value(after, "desklink_store_seconds_count") > value(before, "desklink_store_seconds_count")
    assert value(after, "desklink_broker_seconds_count", op="publish") > value(
        before, "desklink_broker_seconds_count", op="publish"
    )
    assert value(after, "desklink_http_requests_total", status="2xx") > value(
        before, "desklink_http_requests_total", status="2xx"
    )
    # The fan-out histogram is a histogram: its buckets add up to its count.
    assert value(after, "desklink_alert_fanout_seconds_bucket", le="+Inf") == value(
        after, "desklink_alert_fanout_seconds_count"
    )

    closed = value(after, "desklink_connections_closed_total", kind="visitor")
    await visitor.close()
    await wait_until(
        lambda: value(server.metrics(), "desklink_connections_closed_total", kind="visitor") > closed,
        what="the visitor's socket counted closed",
    )
    await rep.close()


def test_metrics_listener_limits() -> None:
    """Past ``metrics_max_head_bytes`` and ``metrics_head_timeout_s``: no
    metrics, the connection closed, and the next scrape served as usual."""
    port = free_port()
    env = {"DESKLINK_METRICS_PORT": str(port), "DESKLINK_METRICS_HEAD_TIMEOUT_S": "0.5"}
    with ServerProcess(env=env) as srv:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.settimeout(10)
            try:
                s.sendall(b"GET /metrics HTTP/1.1\r\nX-Padding: " + b"a" * 9000)
                answer = s.recv(65536)
            except ConnectionResetError:
                answer = b""
            assert b"200 OK" not in answer and b"desklink_" not in answer
            assert answer == b"" or answer.startswith(b"HTTP/1.0 431")
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.settimeout(10)
            s.sendall(b"GET /metr")  # and nothing more: closed after the head timeout
            assert s.recv(100) == b""
        assert httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).status_code == 200
        assert httpx.get(srv.url + "/metrics", headers=srv.metrics_headers, timeout=10).status_code == 200


def test_request_ids_past_max_request_id_chars_are_replaced(server: ServerProcess) -> None:
    longest = "a" * 64  # max_request_id_chars
    with httpx.Client(base_url=server.url, timeout=10) as http:
        assert http.get("/healthz", headers={"X-Request-ID": longest}).headers["x-request-id"] == longest
        past = http.get("/healthz", headers={"X-Request-ID": longest + "a"}).headers["x-request-id"]
        assert past != longest + "a" and len(past) == 32
        unplain = http.get("/healthz", headers={"X-Request-ID": "a b"}).headers["x-request-id"]
        assert unplain != "a b" and len(unplain) == 32
