"""The visitor's context (page, referrer, languages, time zone, the
provider's fields) travels with the request: stored, in the rep's alert and
session, in the admin's session detail and the export. Past each limit, or
with a hostile field name, the submit is refused with words and nothing is
stored. On SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from desklink.protocol import limits
from desklink.testing import ONE_ADDRESS_ENV, AdminAPI, RepClient, ServerProcess

CONTEXT: dict[str, Any] = {
    "page": "https://shop.example/cart?step=2#pay",
    "referrer": "https://search.example/?q=help",
    "help_language": "de",
    "languages": ["de-DE", "en"],
    "time_zone": "Europe/Berlin",
    "utc_offset_min": 60,
    "fields": {"customer-id": "C-1234", "plan": "<img src=x onerror=alert(1)>"},
}


@pytest.fixture
def server(database_url: str) -> Iterator[ServerProcess]:
    with ServerProcess(env={**ONE_ADDRESS_ENV, "DESKLINK_DATABASE_URL": database_url}) as srv:
        yield srv


@pytest.fixture
def admin(server: ServerProcess) -> Iterator[AdminAPI]:
    api = AdminAPI(server)
    yield api
    api.close()


def _with(**changes: Any) -> dict[str, Any]:
    return {**CONTEXT, **changes}


#: (context, HTTP status, words the error must hold) — one past each limit,
#: and the bad shapes.
REFUSED: list[tuple[dict[str, Any], int, str]] = [
    (_with(fields={f"f{i}": "x" for i in range(limits.MAX_CONTEXT_FIELDS + 1)}), 413,
     f"context.fields has {limits.MAX_CONTEXT_FIELDS + 1} fields; the limit is {limits.MAX_CONTEXT_FIELDS}"),
    (_with(fields={"k" * (limits.MAX_CONTEXT_KEY_CHARS + 1): "x"}), 413,
     f"is {limits.MAX_CONTEXT_KEY_CHARS + 1} characters; the limit is {limits.MAX_CONTEXT_KEY_CHARS}"),
    (_with(fields={"note": "v" * (limits.MAX_CONTEXT_VALUE_CHARS + 1)}), 413,
     f"context field 'note' is {limits.MAX_CONTEXT_VALUE_CHARS + 1} characters; the limit is {limits.MAX_CONTEXT_VALUE_CHARS}"),
    (_with(page="https://shop.example/" + "p" * limits.MAX_CONTEXT_URL_CHARS), 413,
     f"context.page is {limits.MAX_CONTEXT_URL_CHARS + 21} characters; the limit is {limits.MAX_CONTEXT_URL_CHARS}"),
    (_with(referrer="https://a.example/" + "r" * limits.MAX_CONTEXT_URL_CHARS), 413,
     f"the limit is {limits.MAX_CONTEXT_URL_CHARS}"),
    (_with(languages=["en"] * (limits.MAX_CONTEXT_LANGUAGES + 1)), 413,
     f"context.languages has {limits.MAX_CONTEXT_LANGUAGES + 1} entries; the limit is {limits.MAX_CONTEXT_LANGUAGES}"),
    # hostile names: markup, spaces, a path, a prototype trick, empty
    (_with(fields={"<script>": "x"}), 400, "may hold only letters, digits"),
    (_with(fields={"customer id": "x"}), 400, "may hold only letters, digits"),
    (_with(fields={"../etc": "x"}), 400, "may hold only letters, digits"),
    (_with(fields={"__proto__": "x"}), 400, "may hold only letters, digits"),
    (_with(fields={"": "x"}), 400, "may hold only letters, digits"),
    # values are text: no numbers or objects, no control characters
    (_with(fields={"n": 5}), 400, ""),
    (_with(fields={"n": {"a": 1}}), 400, ""),
    (_with(fields={"n": "a\x00b"}), 400, "must not contain control characters"),
    # pages are http or https
    (_with(page="javascript:alert(1)"), 400, "context.page must be an http or https URL"),
    (_with(referrer="data:text/html,hi"), 400, "context.referrer must be an http or https URL"),
    (_with(languages=["en<b>"]), 400, "is not a language tag"),
    (_with(help_language="de\"><b>"), 400, "context.help_language"),
    (_with(time_zone="Europe/Berlin<script>"), 400, "is not a time zone name"),
    (_with(utc_offset_min=15 * 60), 400, "context.utc_offset_min must be between"),
    (_with(unknown="x"), 400, "unknown"),
]


async def test_context_reaches_the_rep_and_every_limit_holds(server: ServerProcess, admin: AdminAPI) -> None:
    admin.queue("vctx")
    ((user, pw),) = admin.reps(1, queue_slug="vctx", prefix="vctx")
    rep = await RepClient.connect(server, user, pw)
    body = {"queue": "vctx", "name": "Vic", "question": "Where am I?", "client": "Linux · Chrome 131"}
    async with httpx.AsyncClient(base_url=server.url, timeout=30, headers={"Origin": server.url}) as http:
        for context, status, words in REFUSED:
            r = await http.post("/api/visitor/requests", json={**body, "context": context})
            assert r.status_code == status, (context, r.text)
            assert words in r.json()["error"]["message"], (context, r.text)
        ok = await http.post("/api/visitor/requests", json={**body, "context": CONTEXT})
        assert ok.status_code == 201, ok.text
        bare = await http.post("/api/visitor/requests", json={**body, "question": "No context"})
        assert bare.status_code == 201, bare.text

    # Only the good requests were stored: the first alert is the one with context.
    alert = (await rep.expect("alert"))["request"]
    assert alert["question"] == "Where am I?"
    assert alert["context"] == CONTEXT
    assert (await rep.expect("alert"))["request"]["context"] == {}
    await rep.send({"t": "accept", "request_id": ok.json()["request_id"]})
    session = (await rep.expect("accepted"))["session"]
    assert session["visitor"]["context"] == CONTEXT
    assert session["visitor"]["client"] == "Linux · Chrome 131"
    sid = session["id"]
    await rep.send({"t": "end", "session_id": sid, "disposition": "resolved", "note": ""})
    await rep.expect("ended")
    await rep.close()

    listed = admin.http.get("/api/sessions", params={"queue": "vctx"}).json()["sessions"]
    assert [s["visitor"]["context"] for s in listed] == [CONTEXT]
    detail = admin.http.get(f"/api/sessions/{sid}").json()
    assert detail["visitor"]["context"] == CONTEXT
    export = admin.http.get(f"/api/sessions/{sid}/export")
    assert export.status_code == 200
    with zipfile.ZipFile(io.BytesIO(export.content)) as z:
        summary = json.loads(z.read("session.json"))
    assert summary["request"]["visitor_context"] == CONTEXT
    assert summary["request"]["visitor_client"] == "Linux · Chrome 131"
