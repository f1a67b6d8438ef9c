"""``log_format = json`` on a real node: every log line (DeskLink's own,
uvicorn's, the libraries') is one JSON object with the node id; an HTTP
request's lines carry the ``request_id`` the response's ``X-Request-ID``
names; a console socket's lines carry the sessions it holds."""

from __future__ import annotations

import json
import secrets
from typing import Any

import httpx

from desklink.testing import AdminAPI, RepClient, ServerProcess, VisitorClient, wait_until


def log_lines(server: ServerProcess) -> list[dict[str, Any]]:
    """Every line the node wrote after its start-up banner, each parsed
    as JSON (a line that is not JSON fails here)."""
    out = list(server.output)
    start = next(i for i, line in enumerate(out) if "DeskLink on" in line) + 1
    return [json.loads(line) for line in out[start:] if line.strip()]


async def test_every_line_is_json_with_node_request_and_session_ids() -> None:
    node = f"node-{secrets.token_hex(3)}"
    env = {"DESKLINK_LOG_FORMAT": "json", "DESKLINK_NODE_ID": node}
    with ServerProcess(env=env, log_level="info") as srv:
        # An HTTP request: its id comes back in the header and is on its line.
        async with httpx.AsyncClient(base_url=srv.url, timeout=10) as http:
            r = await http.get("/readyz")
            rid = r.headers["x-request-id"]
            assert len(rid) == 32
            given = await http.get("/healthz", headers={"X-Request-ID": "lb-probe-42"})
            assert given.headers["x-request-id"] == "lb-probe-42"  # a proxy's id is kept
            forged = await http.get("/healthz", headers={"X-Request-ID": '{"x": 1} ' + "y" * 80})
        assert forged.headers["x-request-id"] != "" and "{" not in forged.headers["x-request-id"]

        # A console holding a session.
        admin = AdminAPI(srv)
        (user, pw), = admin.reps(1, queue_slug="support", prefix="logrep")
        rep = await RepClient.connect(srv, user, pw)
        visitor = await VisitorClient.submit(srv, name="Ann", question="Where are my files?")
        await rep.expect("alert")
        await rep.send({"t": "accept", "request_id": visitor.request_id})
        sid = (await rep.expect("accepted"))["session"]["id"]
        await visitor.expect("joined")

        def held() -> list[dict[str, Any]]:
            return [line for line in log_lines(srv) if sid in line.get("session_ids", [])]

        await wait_until(lambda: held(), what="a console log line with the session id")
        await wait_until(
            lambda: any(line.get("request_id") == rid and line["logger"] == "uvicorn.access" for line in log_lines(srv)),
            what="the access line of the first request",
        )
        await rep.close()
        await visitor.close()
        admin.close()

    lines = log_lines(srv)
    assert len(lines) > 5
    for line in lines:
        assert line["node_id"] == node, line
        assert {"event", "level", "logger", "timestamp"} <= line.keys(), line
    ids = {line.get("request_id") for line in lines if line["logger"] == "uvicorn.access"}
    assert {rid, "lb-probe-42", forged.headers["x-request-id"]} <= ids
    console = held_lines = [line for line in lines if sid in line.get("session_ids", [])]
    assert held_lines and all(line["socket"] == "rep" for line in console)
    # The console socket's lines also carry the request id of its handshake.
    assert all(len(line.get("request_id", "")) == 32 for line in console)
    assert any(line["logger"] == "uvicorn.error" for line in lines)  # uvicorn's own lines are JSON too
