"""The visitor's system and browser travel with the request, bounded by
``max_client_chars``: stored, in the rep's alert and session, and a summary
past the limit is refused with a clear error that stores nothing."""

from __future__ import annotations

import httpx

from desklink.protocol import limits
from desklink.testing import AdminAPI, RepClient, ServerProcess


async def test_the_summary_reaches_the_rep_and_is_bounded(server: ServerProcess, admin: AdminAPI) -> None:
    admin.queue("vclient")
    ((user, pw),) = admin.reps(1, queue_slug="vclient", prefix="vclient")
    rep = await RepClient.connect(server, user, pw)
    body = {"queue": "vclient", "name": "Vic", "question": "Which system?"}
    async with httpx.AsyncClient(base_url=server.url, timeout=30, headers={"Origin": server.url}) as http:
        too_long = await http.post("/api/visitor/requests", json={**body, "client": "W" * (limits.MAX_CLIENT_CHARS + 1)})
        assert too_long.status_code == 413, too_long.text
        assert too_long.json()["error"] == {"code": "too_large", "message": f"client is {limits.MAX_CLIENT_CHARS + 1} characters; the limit is {limits.MAX_CLIENT_CHARS}"}
        ok = await http.post("/api/visitor/requests", json={**body, "client": "Windows 11 · Chrome 131"})
        assert ok.status_code == 201, ok.text
    alert = await rep.expect("alert")
    request = alert.get("request", alert)
    assert request["client"] == "Windows 11 · Chrome 131"
    assert request["question"] == "Which system?"  # only the good request was stored and alerted
    await rep.send({"t": "accept", "request_id": ok.json()["request_id"]})
    accepted = await rep.expect("accepted")
    assert accepted["session"]["visitor"]["client"] == "Windows 11 · Chrome 131"
    await rep.close()
