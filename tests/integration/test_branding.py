"""Branding per queue through a real server, on SQLite and PostgreSQL: an
admin sets title, colour, welcome text, pre-chat fields and a logo (audited);
``/api/widget/config`` hands them to the help box; the logo is served by its
content hash with a long cache, its own type and nosniff; a submit without a
required answer is refused and stores nothing, one with it carries the
answers to the rep with their labels. Past each limit (the defaults), the
change is refused in words and nothing changes."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from desklink.protocol import limits
from desklink.testing import ONE_ADDRESS_ENV, AdminAPI, RepClient, ServerProcess

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
WEBP = b"RIFF\x20\x00\x00\x00WEBPVP8 " + b"\x07" * 40
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
FIELDS: list[dict[str, Any]] = [
    {"name": "order", "label": "Order number", "required": True, "kind": "text"},
    {"name": "topic", "label": "Topic", "required": False, "kind": "select", "options": ["Billing", "Delivery"]},
    {"name": "contact", "label": "Other e-mail", "required": False, "kind": "email"},
]
BRANDING = {"title": "Acme Hilfe", "color": "#C2185B", "welcome": "Hallo! <b>Wir</b> helfen.", "fields": FIELDS}


@pytest.fixture
def server(database_url: str) -> Iterator[ServerProcess]:
    with ServerProcess(env={**ONE_ADDRESS_ENV, "DESKLINK_DATABASE_URL": database_url}) as srv:
        yield srv


@pytest.fixture
def admin(server: ServerProcess) -> Iterator[AdminAPI]:
    api = AdminAPI(server)
    yield api
    api.close()


def _listed(admin: AdminAPI, queue_id: int) -> dict[str, Any]:
    return next(q for q in admin.http.get("/api/admin/queues").json()["queues"] if q["id"] == queue_id)


def _config(server: ServerProcess, slug: str) -> dict[str, Any]:
    r = httpx.get(f"{server.url}/api/widget/config", params={"queue": slug}, headers={"Origin": server.url})
    assert r.status_code == 200, r.text
    return r.json()


def _get(server: ServerProcess, path: str) -> httpx.Response:
    return httpx.get(server.url + path)


def _put_logo(admin: AdminAPI, queue_id: int, data: bytes, media: str = "image/png") -> httpx.Response:
    return admin.http.put(f"/api/admin/queues/{queue_id}/logo", content=data, headers={"Content-Type": media})


async def test_branding_reaches_the_help_box_and_the_answers_reach_the_rep(server: ServerProcess, admin: AdminAPI) -> None:
    q = admin.queue("brand")
    assert _listed(admin, q["id"])["branding"] == {
        "title": "", "color": "", "welcome": "", "fields": [], "logo_sha256": "", "logo_url": "",
    }
    assert _config(server, "brand")["branding"] == {"title": "", "color": "", "welcome": "", "logo_url": "", "fields": []}

    r = admin.http.patch(f"/api/admin/queues/{q['id']}", json={"branding": BRANDING})
    assert r.status_code == 200, r.text
    assert r.json()["queue"]["branding"]["color"] == "#c2185b"
    entry = admin.http.get("/api/admin/audit").json()["entries"][0]
    assert (entry["action"], entry["target"]) == ("queue.branding", "queue brand")
    assert entry["data"]["from"]["title"] == "" and entry["data"]["to"]["fields"] == FIELDS

    r = _put_logo(admin, q["id"], PNG)
    assert r.status_code == 200, r.text
    digest = hashlib.sha256(PNG).hexdigest()
    assert r.json()["queue"]["branding"]["logo_sha256"] == digest
    entry = admin.http.get("/api/admin/audit").json()["entries"][0]
    assert (entry["action"], entry["data"]) == ("queue.logo", {"sha256": digest, "type": "image/png", "bytes": len(PNG)})

    config = _config(server, "brand")["branding"]
    assert config == {
        "title": "Acme Hilfe", "color": "#c2185b", "welcome": "Hallo! <b>Wir</b> helfen.",
        "logo_url": f"/api/widget/logo/{q['id']}/{digest}", "fields": FIELDS,
    }
    logo = _get(server, config["logo_url"])
    assert logo.status_code == 200 and logo.content == PNG
    assert logo.headers["content-type"] == "image/png"
    assert logo.headers["x-content-type-options"] == "nosniff"
    assert "immutable" in logo.headers["cache-control"] and "max-age=31536000" in logo.headers["cache-control"]
    # Only the current hash is served: an old or made-up one is a 404.
    assert _get(server, f"/api/widget/logo/{q['id']}/{'0' * 64}").status_code == 404
    assert _get(server, f"/api/widget/logo/{q['id'] + 999}/{digest}").status_code == 404

    # A new logo (WebP) is a new address; the old one is gone.
    assert _put_logo(admin, q["id"], WEBP, "image/webp").status_code == 200
    new_url = _config(server, "brand")["branding"]["logo_url"]
    assert new_url != config["logo_url"]
    assert _get(server, config["logo_url"]).status_code == 404
    assert _get(server, new_url).headers["content-type"] == "image/webp"

    ((user, pw),) = admin.reps(1, queue_slug="brand", prefix="brand")
    rep = await RepClient.connect(server, user, pw)
    body: dict[str, Any] = {"queue": "brand", "name": "Vic", "question": "Where is my parcel?"}
    async with httpx.AsyncClient(base_url=server.url, timeout=30, headers={"Origin": server.url}) as http:
        refused = [
            ({}, 400, "bad_prechat", "'Order number' is required"),
            ({"order": "  "}, 400, "bad_prechat", "'Order number' is required"),
            ({"order": "A-1", "topic": "Refund"}, 400, "bad_prechat", "is not one of the choices for 'Topic'"),
            ({"order": "A-1", "contact": "not mail"}, 400, "bad_prechat", "does not look like an e-mail"),
            ({"order": "A-1", "coupon": "x"}, 400, "bad_prechat", "no pre-chat field is named 'coupon'"),
            ({"order": "o" * (limits.MAX_PRECHAT_ANSWER_CHARS + 1)}, 413, "too_large",
             f"is {limits.MAX_PRECHAT_ANSWER_CHARS + 1} characters; the limit is {limits.MAX_PRECHAT_ANSWER_CHARS}"),
        ]
        for answers, status, code, words in refused:
            r = await http.post("/api/visitor/requests", json={**body, "answers": answers})
            assert r.status_code == status, (answers, r.text)
            assert r.json()["error"]["code"] == code
            assert words in r.json()["error"]["message"], r.text
        ok = await http.post("/api/visitor/requests", json={**body, "answers": {"order": " A-17 ", "topic": "Delivery"}})
        assert ok.status_code == 201, ok.text

    # Only the good request was stored: the rep's first alert is it, with the answers and their labels.
    alert = (await rep.expect("alert"))["request"]
    assert alert["id"] == ok.json()["request_id"]
    want = [{"name": "order", "label": "Order number", "value": "A-17"}, {"name": "topic", "label": "Topic", "value": "Delivery"}]
    assert alert["context"]["prechat"] == want
    await rep.send({"t": "accept", "request_id": alert["id"]})
    session = (await rep.expect("accepted"))["session"]
    assert session["visitor"]["context"]["prechat"] == want
    await rep.close()

    # Removing the logo and clearing the rest brings back the default help box.
    assert admin.http.delete(f"/api/admin/queues/{q['id']}/logo").status_code == 200
    assert _get(server, new_url).status_code == 404
    cleared = {"title": "", "color": "", "welcome": "", "fields": []}
    assert admin.http.patch(f"/api/admin/queues/{q['id']}", json={"branding": cleared}).status_code == 200
    assert _config(server, "brand")["branding"] == {**cleared, "logo_url": ""}


def _field(i: int, **changes: Any) -> dict[str, Any]:
    return {"name": f"f{i}", "label": f"Field {i}", "required": False, "kind": "text", **changes}


#: (branding, HTTP status, words) — past each limit (the defaults), and bad shapes.
REFUSED: list[tuple[dict[str, Any], int, str]] = [
    ({"fields": [_field(i) for i in range(limits.MAX_PRECHAT_FIELDS + 1)]}, 413,
     f"{limits.MAX_PRECHAT_FIELDS + 1} pre-chat fields; the limit is {limits.MAX_PRECHAT_FIELDS}"),
    ({"fields": [_field(1, label="L" * (limits.MAX_PRECHAT_LABEL_CHARS + 1))]}, 413,
     f"the label is {limits.MAX_PRECHAT_LABEL_CHARS + 1} characters; the limit is {limits.MAX_PRECHAT_LABEL_CHARS}"),
    ({"fields": [_field(1, kind="select", options=[f"o{i}" for i in range(limits.MAX_PRECHAT_OPTIONS + 1)])]}, 413,
     f"has {limits.MAX_PRECHAT_OPTIONS + 1} options; the limit is {limits.MAX_PRECHAT_OPTIONS}"),
    ({"title": "T" * (limits.MAX_BRAND_TITLE_CHARS + 1)}, 413,
     f"title is {limits.MAX_BRAND_TITLE_CHARS + 1} characters; the limit is {limits.MAX_BRAND_TITLE_CHARS}"),
    ({"welcome": "W" * (limits.MAX_WELCOME_CHARS + 1)}, 413,
     f"welcome text is {limits.MAX_WELCOME_CHARS + 1} characters; the limit is {limits.MAX_WELCOME_CHARS}"),
    ({"color": "red"}, 400, "color must be #rrggbb"),
    ({"color": "#123456;background:url(https://evil.example/x)"}, 400, "color must be #rrggbb"),
    ({"fields": [_field(1, kind="file")]}, 400, "kind must be one of text, email, select"),
    ({"fields": [_field(1, name="<script>")]}, 400, "may hold only letters"),
    ({"fields": [_field(1), _field(1)]}, 400, "two fields are named 'f1'"),
    ({"fields": [_field(1, kind="select")]}, 400, "options must be a list of text"),
]


def test_bad_branding_and_logos_are_refused_and_change_nothing(server: ServerProcess, admin: AdminAPI) -> None:
    q = admin.queue("strict")
    audit_before = admin.http.get("/api/admin/audit").json()["entries"][0]["id"]
    for branding, status, words in REFUSED:
        r = admin.http.patch(f"/api/admin/queues/{q['id']}", json={"name": "Changed?", "branding": branding})
        assert r.status_code == status, (branding, r.text)
        assert words in r.json()["error"]["message"], r.text
    for data, media, status, words in [
        (SVG, "image/svg+xml", 400, "PNG, JPEG or WebP"),
        (b"GIF89a" + b"\x00" * 30, "image/png", 400, "PNG, JPEG or WebP"),
        (b"", "image/png", 400, "PNG, JPEG or WebP"),
        (PNG[:8] + b"\x00" * limits.MAX_LOGO_BYTES, "image/png", 413, f"the limit is {limits.MAX_LOGO_BYTES}"),
    ]:
        r = _put_logo(admin, q["id"], data, media)
        assert r.status_code == status, r.text
        assert words in r.json()["error"]["message"], r.text
    # A logo of exactly the limit is taken.
    assert _put_logo(admin, q["id"], PNG[:8] + b"\x00" * (limits.MAX_LOGO_BYTES - 8)).status_code == 200
    listed = _listed(admin, q["id"])
    assert listed["name"] != "Changed?"
    assert {k: listed["branding"][k] for k in ("title", "color", "welcome", "fields")} == {
        "title": "", "color": "", "welcome": "", "fields": [],
    }
    actions = [e["action"] for e in admin.http.get("/api/admin/audit").json()["entries"] if e["id"] > audit_before]
    assert actions == ["queue.logo"]


def test_only_admins_brand_a_queue(server: ServerProcess, admin: AdminAPI) -> None:
    q = admin.queue("mine")
    admin.user("supbrand", "a long enough password", role="supervisor")
    http, _ = server.login("supbrand", "a long enough password")
    try:
        assert http.patch(f"/api/admin/queues/{q['id']}", json={"branding": {"title": "Mine"}}).status_code == 403
        assert http.put(f"/api/admin/queues/{q['id']}/logo", content=PNG).status_code == 403
        assert http.delete(f"/api/admin/queues/{q['id']}/logo").status_code == 403
    finally:
        http.close()
    assert _listed(admin, q["id"])["branding"]["title"] == ""
