"""Deny by default: the route walk, CSRF, cookies, headers, CORS and Origin."""

from __future__ import annotations

import re

import asyncio

import httpx
import pytest
import websockets

from desklink.server.app import endpoint_specs, routes
from desklink.server.http import Access
from desklink.testing import AdminAPI, RepClient, ServerProcess, ViewerClient, VisitorClient

#: The only routes anyone may call without logging in. Adding to this list is
#: a security decision: the test below fails until it is made here.
PUBLIC = {
    ("GET", "/"),
    ("GET", "/console"),
    ("GET", "/admin"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/api/openapi.json"),
    ("GET", "/api/widget/config"),
    # A queue's help box logo by its content hash (a PNG, JPEG or WebP an
    # admin uploaded; nosniff; anything but the current hash is a 404).
    ("GET", "/api/widget/logo/{queue_id:int}/{digest}"),
    ("POST", "/api/visitor/requests"),
    ("POST", "/api/visitor/offline"),
    ("OPTIONS", "/api/visitor/{path:path}"),
    ("POST", "/api/auth/login"),
    # The second login step: needs a ticket from a right password.
    ("POST", "/api/auth/second-factor"),
    # The agent download page and the files its agent folder lists (nothing
    # else: names are looked up in the listing, never joined as paths).
    ("GET", "/download"),
    ("GET", "/download/{name}"),
    # A transferred file: the path holds the transfer's random download key
    # (api_files.py), compared in constant time; anything else is a 404.
    ("GET", "/files/{transfer_id:int}/{key}/{name:path}"),
    # The agent's (or a browser share's) relay ticket: needs a live join code
    # (single use, join-guessing limits) or a relay token this server signed.
    ("POST", "/api/relay/ticket"),
}
#: Routes that take a visitor's bearer token instead of a login.
VISITOR = {("GET", "/api/visitor/transcript"), ("POST", "/api/visitor/screen-code"), ("POST", "/api/visitor/rating")}

FOREIGN = "http://evil.example"


def _concrete(path: str) -> str:
    """A real path for a route pattern: every integer placeholder 1, every other one "abc"."""
    return re.sub(r"\{[a-z_]+\}", "abc", re.sub(r"\{[a-z_]+:int\}", "1", path))


def test_public_routes_are_exactly_the_allow_list() -> None:
    declared = {(m, s.path) for s in endpoint_specs() for m in s.methods if s.access is Access.PUBLIC}
    assert declared == PUBLIC
    visitor = {(m, s.path) for s in endpoint_specs() for m in s.methods if s.access is Access.VISITOR}
    assert visitor == VISITOR
    # Every HTTP route of the app is declared through the access table.
    from starlette.routing import Route

    app_paths = {r.path for r in routes() if isinstance(r, Route)}
    assert app_paths == {s.path for s in endpoint_specs()}


def test_every_other_route_refuses_strangers(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.url) as http:
        for spec in endpoint_specs():
            for method in spec.methods:
                if (method, spec.path) in PUBLIC:
                    continue
                r = http.request(method, _concrete(spec.path), json={})
                assert r.status_code == 401, (method, spec.path, r.status_code, r.text)
                assert r.json()["error"]["code"] in ("auth_required", "auth_failed")


def test_reps_cannot_use_admin_routes(server: ServerProcess, admin: AdminAPI, unique: str) -> None:
    admin.user(unique, "a long rep password")
    rep, _ = server.login(unique, "a long rep password")
    for spec in endpoint_specs():
        if spec.access is not Access.ADMIN:
            continue
        for method in spec.methods:
            r = rep.request(method, _concrete(spec.path), json={})
            assert r.status_code == 403, (method, spec.path)
    # Metrics are for a scraper's token, never a login (test_metrics.py).
    assert rep.get("/metrics").status_code == 401
    rep.close()


def test_csrf_token_and_origin_are_required(server: ServerProcess, admin: AdminAPI) -> None:
    body = {"slug": "csrf-test", "name": "CSRF"}
    bare = httpx.Client(base_url=server.url, cookies=admin.http.cookies)
    r = bare.post("/api/admin/queues", json=body)
    assert r.status_code == 403 and r.json()["error"]["code"] == "csrf_failed"
    r = bare.post("/api/admin/queues", json=body, headers={"X-CSRF-Token": "wrong"})
    assert r.status_code == 403
    csrf = admin.http.headers["X-CSRF-Token"]
    r = bare.post("/api/admin/queues", json=body, headers={"X-CSRF-Token": csrf, "Origin": FOREIGN})
    assert r.status_code == 403 and r.json()["error"]["code"] == "csrf_failed"
    r = bare.post("/api/auth/login", json={"username": "admin", "password": server.admin_password}, headers={"Origin": FOREIGN})
    assert r.status_code == 403
    r = bare.post("/api/admin/queues", json=body, headers={"X-CSRF-Token": csrf, "Origin": server.url})
    assert r.status_code == 201
    bare.close()


def test_cookie_flags_and_security_headers(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.url) as http:
        r = http.post("/api/auth/login", json={"username": "admin", "password": server.admin_password})
        cookie = r.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
        assert "secure" not in cookie  # plain HTTP on loopback; set under TLS
        for path in ("/", "/console", "/admin", "/api/openapi.json", "/static/widget/desklink-help.js"):
            h = http.get(path).headers
            assert "script-src 'self'" in h["content-security-policy"], path
            assert "frame-ancestors 'none'" in h["content-security-policy"]
            assert h["x-content-type-options"] == "nosniff"
            assert h["referrer-policy"] == "no-referrer"
        https = http.get("/healthz", headers={"X-Forwarded-Proto": "https"})
        assert "strict-transport-security" not in https.headers  # proxy headers not trusted by default


def test_cors_honours_the_queue_allow_list(server: ServerProcess, admin: AdminAPI, unique: str) -> None:
    site = "http://shop.example:8000"
    admin.queue(unique, origins=[site])
    with httpx.Client(base_url=server.url) as http:
        ok = http.get(f"/api/widget/config?queue={unique}", headers={"Origin": site})
        assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == site
        bad = http.get(f"/api/widget/config?queue={unique}", headers={"Origin": FOREIGN})
        assert bad.status_code == 403
        # The refusal (and only it) is readable by the refused page, so the
        # help box can tell "not available here" from a network failure.
        assert bad.headers["access-control-allow-origin"] == FOREIGN
        assert bad.json()["error"]["code"] == "origin_denied"
        assert FOREIGN in bad.json()["error"]["message"] and unique in bad.json()["error"]["message"]
        assert "online_reps" not in bad.text and "limits" not in bad.text
        # Allowed for one queue is not allowed for another.
        other = http.get("/api/widget/config?queue=support", headers={"Origin": site})
        assert other.status_code == 403
        pre = http.options(
            "/api/visitor/requests",
            headers={"Origin": site, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"},
        )
        assert pre.status_code == 204 and pre.headers["access-control-allow-origin"] == site
        assert "POST" in pre.headers["access-control-allow-methods"]
        assert http.options("/api/visitor/requests", headers={"Origin": FOREIGN}).status_code == 403
        sub = http.post(
            "/api/visitor/requests", json={"queue": unique, "name": "X", "question": "Q"}, headers={"Origin": FOREIGN}
        )
        assert sub.status_code == 403 and sub.json()["error"]["code"] == "origin_denied"


async def test_websockets_check_origin_before_accepting(server: ServerProcess, admin: AdminAPI, unique: str) -> None:
    site = "http://shop.example:8000"
    admin.queue(unique, origins=[site])
    visitor = await VisitorClient.submit(server, queue=unique, origin=site)
    with pytest.raises(websockets.InvalidStatus) as refused:
        await websockets.connect(f"{server.ws_url}/ws/visitor?request={visitor.request_id}", origin=FOREIGN)  # type: ignore[arg-type]
    assert refused.value.response.status_code == 403
    with pytest.raises(websockets.InvalidStatus):
        await websockets.connect(f"{server.ws_url}/ws/visitor", origin=FOREIGN)  # type: ignore[arg-type]
    # The rep socket: foreign origin, or no login, is refused.
    cookie = admin.http.cookies["dl_session"]
    with pytest.raises(websockets.InvalidStatus):
        await websockets.connect(
            f"{server.ws_url}/ws/rep", origin=site, additional_headers={"Cookie": f"dl_session={cookie}"}  # type: ignore[arg-type]
        )
    with pytest.raises(websockets.InvalidStatus):
        await websockets.connect(f"{server.ws_url}/ws/rep", origin=server.url)  # type: ignore[arg-type]
    await visitor.close()


async def test_reps_act_only_on_sessions_they_hold(server: ServerProcess, admin: AdminAPI, unique: str) -> None:
    admin.queue(unique)
    (u1, p1), (u2, p2) = admin.reps(2, queue_slug=unique, prefix=unique)
    holder = await RepClient.connect(server, u1, p1)
    other = await RepClient.connect(server, u2, p2)
    visitor = await VisitorClient.submit(server, queue=unique)
    await holder.expect("alert")
    await holder.send({"t": "accept", "request_id": visitor.request_id})
    sid = (await holder.expect("accepted"))["session"]["id"]
    await other.expect("alert.withdrawn")

    await other.send({"t": "chat.send", "session_id": sid, "cid": "intrude", "text": "hi"})
    assert (await other.expect("error"))["code"] == "forbidden"
    await other.send({"t": "end", "session_id": sid, "disposition": "resolved"})
    assert (await other.expect("error"))["code"] == "forbidden"
    other_http, _ = server.login(u2, p2)
    assert other_http.get(f"/api/sessions/{sid}").status_code == 403
    assert all(s["id"] != sid for s in other_http.get("/api/sessions").json()["sessions"])
    other_http.close()

    # A supervisor of the queue finds the session (read only); one of no
    # queue does not.
    q = admin.queue(unique)
    sup_id = admin.user(unique + "sup", "supervisor password", role="supervisor")["id"]
    admin.members(q["id"], [*q["members"], sup_id])
    sup, _ = server.login(unique + "sup", "supervisor password")
    assert sup.get(f"/api/sessions/{sid}").status_code == 200
    assert any(s["id"] == sid for s in sup.get("/api/sessions").json()["sessions"])
    sup.close()
    admin.user(unique + "sup2", "supervisor password", role="supervisor")
    sup2, _ = server.login(unique + "sup2", "supervisor password")
    assert all(s["id"] != sid for s in sup2.get("/api/sessions").json()["sessions"])
    sup2.close()

    # A rep outside the queue cannot accept its requests.
    admin.user(unique + "out", "outsider password")
    outsider = await RepClient.connect(server, unique + "out", "outsider password")
    late = await VisitorClient.submit(server, queue=unique)
    await outsider.send({"t": "accept", "request_id": late.request_id})
    assert (await outsider.expect("error"))["code"] == "forbidden"
    for c in (holder, other, visitor, outsider, late):
        await c.close()


def test_openapi_describes_every_route(server: ServerProcess) -> None:
    doc = httpx.get(server.url + "/api/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    for spec in endpoint_specs():
        path = spec.path.replace(":int", "").replace(":path", "")
        for method in spec.methods:
            assert method.lower() in doc["paths"][path], (method, path)
    login = doc["paths"]["/api/auth/login"]["post"]
    schema_ref = login["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert schema_ref.endswith("LoginBody")
    assert set(doc["components"]["schemas"]["LoginBody"]["required"]) == {"username", "password"}


async def test_disabled_user_loses_access(server: ServerProcess, admin: AdminAPI, unique: str) -> None:
    user = admin.user(unique, "soon disabled pw")
    http, _ = server.login(unique, "soon disabled pw")
    assert http.get("/api/me").status_code == 200
    admin.http.patch(f"/api/admin/users/{user['id']}", json={"disabled": True}).raise_for_status()
    assert http.get("/api/me").status_code == 401
    http.close()
    await asyncio.sleep(0)


@pytest.mark.parametrize("change", [{"disabled": True}, {"password": "a brand new password"}], ids=["disabled", "password"])
async def test_open_sockets_close_when_the_account_is_disabled_or_its_password_changes(
    server: ServerProcess, admin: AdminAPI, unique: str, change: dict[str, object]
) -> None:
    """Deleting the login sessions is not enough: the rep's console and
    screen viewer that are already open close too (4001), on every node,
    and cannot come back with the old login. Other users are untouched."""
    (name, pw), (other, other_pw) = admin.reps(2, queue_slug=unique, prefix=unique)
    rep = await RepClient.connect(server, name, pw)
    bystander = await RepClient.connect(server, other, other_pw)
    visitor = await VisitorClient.submit(server, queue=unique, name="Vic")
    await rep.expect("alert")
    await rep.send({"t": "accept", "request_id": visitor.request_id})
    session_id = (await rep.expect("accepted"))["session"]["id"]
    viewer = await ViewerClient.connect(server, name, pw, session_id)
    await viewer.wait_status("waiting_agent")
    user_id = next(u["id"] for u in admin.http.get("/api/admin/users").json()["users"] if u["username"] == name)
    http, _ = server.login(name, pw)
    cookie = {"Cookie": f"dl_session={http.cookies['dl_session']}"}
    http.close()
    probe = await websockets.connect(f"{server.ws_url}/ws/rep", origin=server.url, additional_headers=cookie)  # type: ignore[arg-type]
    await probe.close()  # the cookie opens a console socket before the change...

    admin.http.patch(f"/api/admin/users/{user_id}", json=change).raise_for_status()
    with pytest.raises(websockets.ConnectionClosed) as closed:
        while True:
            await rep.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4001
    await asyncio.wait({viewer._task}, timeout=5)
    assert viewer._task.done() and viewer.ws.close_code == 4001
    with pytest.raises(websockets.InvalidStatus):  # ...and not after it
        await websockets.connect(f"{server.ws_url}/ws/rep", origin=server.url, additional_headers=cookie)  # type: ignore[arg-type]
    # The bystander and the visitor are still connected and served.
    await bystander.send({"t": "ping"})
    assert (await bystander.expect("pong"))["t"] == "pong"
    assert visitor.ws.close_code is None
    await bystander.close()
    await visitor.close()


def test_behind_a_tls_proxy_cookies_are_secure_and_hsts_is_sent() -> None:
    with ServerProcess(env={"DESKLINK_TRUSTED_PROXIES": "127.0.0.1"}) as srv, httpx.Client(base_url=srv.url) as http:
        tls = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
        r = http.post("/api/auth/login", json={"username": "admin", "password": srv.admin_password}, headers=tls)
        assert r.status_code == 200
        assert "secure" in r.headers["set-cookie"].lower()
        assert "max-age=31536000" in http.get("/healthz", headers=tls).headers["strict-transport-security"]
        plain = http.get("/healthz")
        assert "strict-transport-security" not in plain.headers


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/sessions?offset=99999999999999999999", 400),
        ("GET", "/api/sessions?offset=-1", 400),
        ("GET", "/api/sessions?limit=abc", 400),
        ("GET", "/api/sessions?limit=0", 400),
        ("GET", "/api/sessions?limit=501", 400),
        ("GET", "/api/sessions?limit=1e3", 400),
        ("GET", "/api/sessions?limit=10&limit=20", 400),
        ("GET", "/api/widget/config?queue=" + "q" * 65, 400),
        ("GET", "/api/visitor/transcript?format=pdf", 400),
        ("PATCH", "/api/admin/users/99999999999999999999", 404),
        ("PATCH", "/api/admin/queues/99999999999999999999", 404),
        ("PUT", "/api/admin/queues/99999999999999999999/members", 404),
        ("GET", "/api/sessions/" + "9" * 200, 404),
    ],
)
def test_query_and_path_parameters_are_checked(
    server: ServerProcess, admin: AdminAPI, method: str, path: str, status: int
) -> None:
    """Every parameter is checked for type and range before it reaches the
    database; a huge number used to overflow SQLite into a bare 500."""
    r = admin.http.request(method, path, json={"user_ids": []} if method == "PUT" else {})
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == ("bad_message" if status == 400 else "not_found")
    if status == 400:
        assert "query parameter" in r.json()["error"]["message"]


def test_sessions_paging_still_works(server: ServerProcess, admin: AdminAPI) -> None:
    assert admin.http.get("/api/sessions?limit=500&offset=1000000000").json() == {"sessions": []}
    assert admin.http.get("/api/sessions?limit=1&offset=0").status_code == 200


def test_unknown_routes_and_methods_answer_json(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.url) as http:
        missing = http.get("/api/nothing-here")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
        wrong = http.delete("/healthz")
        assert wrong.status_code == 405 and wrong.json()["error"]["code"] == "bad_message"
        assert wrong.headers["x-content-type-options"] == "nosniff"


def test_metrics_for_the_scraper(server: ServerProcess, admin: AdminAPI) -> None:
    assert admin.http.get("/metrics").status_code == 401  # an admin's login is not a scraper's token
    text = server.metrics()
    for name in (
        'desklink_connections{kind="rep"}', "desklink_hub_channels", "desklink_screen_sessions", "desklink_broker_",
        "desklink_tcp_open", "desklink_tcp_refused", "desklink_http_limits_api_refused",
    ):
        assert name in text, name
