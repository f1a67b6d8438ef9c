"""Every live-board endpoint for every role: ``GET /api/board`` and
``/ws/board`` for anonymous, rep, supervisor (their queues only) and admin
(every queue), and a foreign Origin."""

from __future__ import annotations

import httpx
import pytest
import websockets

from desklink.testing import AdminAPI, BoardClient, ServerProcess

PASSWORD = "board access password"


def _login(server: ServerProcess, username: str) -> httpx.Client:
    client, _ = server.login(username, PASSWORD)
    return client


def _cookie(server: ServerProcess, username: str, password: str = PASSWORD) -> str:
    r = httpx.post(server.url + "/api/auth/login", json={"username": username, "password": password})
    r.raise_for_status()
    return str(r.cookies["dl_session"])


async def _board_socket(server: ServerProcess, cookie: str | None, origin: str | None = None) -> websockets.ClientConnection:
    headers = {"Cookie": f"dl_session={cookie}"} if cookie else {}
    return await websockets.connect(
        server.ws_url + "/ws/board", origin=origin or server.url, additional_headers=headers  # type: ignore[arg-type]
    )


@pytest.fixture(scope="module")
def people(admin: AdminAPI) -> dict[str, dict[str, object]]:
    a, b = admin.queue("boarda"), admin.queue("boardb")
    rep = admin.user("boardrep", PASSWORD, role="rep")
    sup = admin.user("boardsup", PASSWORD, role="supervisor")
    admin.members(a["id"], [rep["id"], sup["id"]])
    return {"a": a, "b": b, "rep": rep, "sup": sup}


def test_api_board_for_each_role(server: ServerProcess, admin: AdminAPI, people: dict[str, dict[str, object]]) -> None:
    anonymous = httpx.get(server.url + "/api/board")
    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "auth_required"

    rep = _login(server, "boardrep")
    r = rep.get("/api/board")
    rep.close()
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"

    sup = _login(server, "boardsup")
    r = sup.get("/api/board")
    sup.close()
    assert r.status_code == 200
    assert [q["slug"] for q in r.json()["queues"]] == ["boarda"]
    assert r.json()["t"] == "board"

    r = admin.http.get("/api/board")
    assert r.status_code == 200
    slugs = {q["slug"] for q in r.json()["queues"]}
    assert {"boarda", "boardb"} <= slugs
    assert set(r.json()) == {"t", "at", "queues", "waiting", "reps", "presence_known", "sessions", "totals", "truncated"}


async def test_ws_board_for_each_role(server: ServerProcess, people: dict[str, dict[str, object]]) -> None:
    with pytest.raises(websockets.InvalidStatus) as refused:
        await _board_socket(server, None)
    assert refused.value.response.status_code == 403

    with pytest.raises(websockets.InvalidStatus) as refused:
        await _board_socket(server, _cookie(server, "boardrep"))
    assert refused.value.response.status_code == 403

    with pytest.raises(websockets.InvalidStatus) as refused:  # a foreign page may not open it with the cookie
        await _board_socket(server, _cookie(server, "boardsup"), origin="http://evil.example")
    assert refused.value.response.status_code == 403

    sup = await BoardClient.connect(server, "boardsup", PASSWORD)
    assert [q["slug"] for q in sup.board["queues"]] == ["boarda"]
    await sup.send({"t": "ping"})
    assert (await sup.expect("pong"))["t"] == "pong"
    await sup.send({"t": "accept", "request_id": "x"})  # nothing but ping is taken
    assert (await sup.expect("error"))["code"] in ("bad_state", "bad_type")
    await sup.close()

    admin = await BoardClient.connect(server, "admin", server.admin_password)
    assert {"boarda", "boardb"} <= {q["slug"] for q in admin.board["queues"]}
    await admin.close()
