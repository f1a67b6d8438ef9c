"""Access changes reach sockets that are already open, on a real server:
from the admin API and from ``desklink admin`` run as another process on the
same data directory (SQLite, in-process broker: only the server's access
watcher can carry those)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from typing import Any

import pytest
import websockets

from desklink.testing import FAST_HASH_ENV, AdminAPI, RepClient, ServerProcess, ViewerClient, VisitorClient

#: Generous: the change arrives within ``access_poll_interval_s`` (0.5 s);
#: this only bounds a broken run.
ARRIVES_S = 10.0


async def cli(server: ServerProcess, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """``desklink admin ...`` as its own process, on the server's data directory."""
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "desklink", "admin", "--data-dir", str(server.data_dir), *args],
        input=stdin, capture_output=True, text=True, timeout=60, env={**os.environ, **FAST_HASH_ENV},
    )


async def alert_for(rep: RepClient, request_id: str) -> dict[str, Any]:
    """The alert of one request (alerts carry it nested, which ``expect`` cannot match)."""
    while True:
        alert = await rep.expect("alert", timeout=ARRIVES_S)
        if alert["request"]["id"] == request_id:
            return alert


async def access_where(rep: RepClient, fits: Any) -> dict[str, Any]:
    """The first ``access`` message that ``fits`` (a change made just before
    the console connected may still announce itself first)."""
    while True:
        access = await rep.expect("access", timeout=ARRIVES_S)
        if fits(access):
            return access


def slugs(access: dict[str, Any]) -> list[str]:
    return [q["slug"] for q in access["queues"]]


def alerted(rep: RepClient, request_id: str) -> bool:
    return any(m.get("t") == "alert" and m["request"]["id"] == request_id for m in rep.received)


async def closed_with(viewer: ViewerClient) -> int | None:
    """Wait for the server to close the viewer; its close code."""
    await asyncio.wait_for(asyncio.shield(viewer._task), ARRIVES_S)
    return viewer.ws.close_code


async def closed_code(rep: RepClient) -> int:
    with pytest.raises(websockets.ConnectionClosed) as closed:
        while True:
            await rep.recv(timeout=ARRIVES_S)
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code


def two_queues(admin: AdminAPI, unique: str, password: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """A rep in the queues ``<unique>-lost`` and ``<unique>-kept``."""
    lost, kept = admin.queue(f"{unique}-lost"), admin.queue(f"{unique}-kept")
    user = admin.user(unique, password)
    admin.members(lost["id"], [user["id"]])
    admin.members(kept["id"], [user["id"]])
    return user, lost, kept


async def _check_removed(server: ServerProcess, rep: RepClient, waiting: VisitorClient, lost: dict[str, Any], kept: dict[str, Any]) -> None:
    """What a console removed from ``lost`` must do: say so, drop the
    waiting alert, get no more of the queue's alerts, refuse its requests."""
    await access_where(rep, lambda a: slugs(a) == [kept["slug"]])
    withdrawn = await rep.expect("alert.withdrawn", timeout=ARRIVES_S, request_id=waiting.request_id)
    assert withdrawn["reason"] == "queue_left"

    # Alerts reach a console in the order they were published: once the kept
    # queue's alert (submitted second) is here, the lost queue's would be too.
    gone = await VisitorClient.submit(server, queue=lost["slug"], name="Lost Lou", email="lou@example.com")
    still = await VisitorClient.submit(server, queue=kept["slug"])
    await alert_for(rep, still.request_id)
    assert not alerted(rep, gone.request_id)

    for request_id in (gone.request_id, waiting.request_id):
        await rep.send({"t": "accept", "request_id": request_id})
        refused = await rep.expect("error", timeout=ARRIVES_S, ref="accept")
        assert refused["code"] == "forbidden" and "not a member" in refused["message"]
    assert not any(m.get("t") == "accepted" for m in rep.received)
    # The kept queue works as before.
    await rep.send({"t": "accept", "request_id": still.request_id})
    assert (await rep.expect("accepted", timeout=ARRIVES_S))["session"]["request_id"] == still.request_id
    for c in (gone, still, waiting):
        await c.close()


async def test_removing_a_rep_from_a_queue_in_the_admin_center_reaches_the_open_console(
    server: ServerProcess, admin: AdminAPI, unique: str
) -> None:
    _, lost, kept = two_queues(admin, unique, "a long rep password")
    rep = await RepClient.connect(server, unique, "a long rep password")
    waiting = await VisitorClient.submit(server, queue=lost["slug"])
    await alert_for(rep, waiting.request_id)

    admin.members(lost["id"], [])
    await _check_removed(server, rep, waiting, lost, kept)
    await rep.close()


async def test_removing_a_rep_from_a_queue_on_the_command_line_reaches_the_open_console(
    server: ServerProcess, admin: AdminAPI, unique: str
) -> None:
    """No Redis: the CLI's change reaches the server only through the store."""
    _, lost, kept = two_queues(admin, unique, "a long rep password")
    rep = await RepClient.connect(server, unique, "a long rep password")
    waiting = await VisitorClient.submit(server, queue=lost["slug"])
    await alert_for(rep, waiting.request_id)

    r = await cli(server, "queue", "remove-member", lost["slug"], unique)
    assert r.returncode == 0, r.stderr
    await _check_removed(server, rep, waiting, lost, kept)
    await rep.close()


async def test_a_console_added_to_a_queue_gets_its_waiting_requests(server: ServerProcess, admin: AdminAPI, unique: str) -> None:
    queue = admin.queue(f"{unique}-new")
    admin.user(unique, "a long rep password")
    rep = await RepClient.connect(server, unique, "a long rep password")
    waiting = await VisitorClient.submit(server, queue=queue["slug"])
    r = await cli(server, "queue", "add-member", queue["slug"], unique)
    assert r.returncode == 0, r.stderr
    await access_where(rep, lambda a: queue["slug"] in slugs(a))
    await alert_for(rep, waiting.request_id)
    await rep.send({"t": "accept", "request_id": waiting.request_id})
    assert (await rep.expect("accepted", timeout=ARRIVES_S))["session"]["request_id"] == waiting.request_id
    await rep.close()
    await waiting.close()


async def _session(server: ServerProcess, admin: AdminAPI, unique: str) -> tuple[RepClient, VisitorClient, str]:
    queue = admin.queue(f"{unique}-s")
    (user, pw), = admin.reps(1, queue_slug=queue["slug"], prefix=f"{unique}r")
    rep = await RepClient.connect(server, user, pw)
    visitor = await VisitorClient.submit(server, queue=queue["slug"])
    await alert_for(rep, visitor.request_id)
    await rep.send({"t": "accept", "request_id": visitor.request_id})
    sid = (await rep.expect("accepted", timeout=ARRIVES_S))["session"]["id"]
    rep.password, rep.username = pw, user  # type: ignore[attr-defined]
    return rep, visitor, sid


async def test_a_demoted_supervisor_stops_watching_a_screen(server: ServerProcess, admin: AdminAPI, unique: str) -> None:
    rep, visitor, sid = await _session(server, admin, unique)
    by_api = admin.user(f"{unique}sa", "supervisor password", role="supervisor")
    by_cli = admin.user(f"{unique}sc", "supervisor password", role="supervisor")
    for sup in (by_api, by_cli):
        admin.join_session_queue(sid, sup["id"])
    watching_api = await ViewerClient.connect(server, f"{unique}sa", "supervisor password", sid)
    watching_cli = await ViewerClient.connect(server, f"{unique}sc", "supervisor password", sid)
    holder = await ViewerClient.connect(server, rep.username, rep.password, sid)  # type: ignore[attr-defined]

    admin.http.patch(f"/api/admin/users/{by_api['id']}", json={"role": "rep"}).raise_for_status()
    assert await closed_with(watching_api) == 4003
    r = await cli(server, "user", "set-role", f"{unique}sc", "rep")
    assert r.returncode == 0, r.stderr
    assert await closed_with(watching_cli) == 4003

    # The rep holding the session may watch whatever their role: a change of
    # their role re-checks the viewer and leaves it open. The ping answered
    # after the re-check shows it is still serving.
    r = await cli(server, "user", "set-role", rep.username, "supervisor")  # type: ignore[attr-defined]
    assert r.returncode == 0, r.stderr
    await access_where(rep, lambda a: a["user"]["role"] == "supervisor")
    await holder.send({"t": "ping"})
    assert not holder._task.done()
    await holder.close()
    await rep.close()
    await visitor.close()


async def test_disabling_on_the_command_line_closes_console_and_viewer_without_redis(
    server: ServerProcess, admin: AdminAPI, unique: str
) -> None:
    rep, visitor, sid = await _session(server, admin, unique)
    viewer = await ViewerClient.connect(server, rep.username, rep.password, sid)  # type: ignore[attr-defined]
    r = await cli(server, "user", "disable", rep.username)  # type: ignore[attr-defined]
    assert r.returncode == 0, r.stderr
    assert await closed_code(rep) == 4001
    assert await closed_with(viewer) == 4001
    # and the password set on the command line signs out another rep the same way
    other, other_visitor, _ = await _session(server, admin, unique + "p")
    r = await cli(server, "user", "set-password", other.username, stdin="a brand new password\n")  # type: ignore[attr-defined]
    assert r.returncode == 0, r.stderr
    assert await closed_code(other) == 4001
    await visitor.close()
    await other_visitor.close()


# ------------------------------------------------------------------- audit log
async def _audit(admin: AdminAPI, target: str) -> list[dict[str, Any]]:
    r = admin.http.get("/api/admin/audit", params={"limit": 200})
    r.raise_for_status()
    return [e for e in r.json()["entries"] if e["target"] == target]


def _actions(entries: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    return [(e["action"], e["data"]) for e in reversed(entries)]  # oldest first


async def test_every_admin_action_is_audited_from_the_admin_center(server: ServerProcess, admin: AdminAPI, unique: str) -> None:
    http = admin.http
    user = admin.user(unique, "first password 1", display_name="Una")
    for body in ({"role": "supervisor"}, {"disabled": True}, {"disabled": False}, {"password": "second password 2"},
                 {"display_name": "Una U"}, {"role": "supervisor"}):
        http.patch(f"/api/admin/users/{user['id']}", json=body).raise_for_status()
    slug = f"{unique}-q"
    q = http.post("/api/admin/queues", json={"slug": slug, "name": "Q", "allowed_origins": ["https://a.example"]}).json()["queue"]
    http.patch(f"/api/admin/queues/{q['id']}", json={"name": "Queue"}).raise_for_status()
    http.patch(f"/api/admin/queues/{q['id']}", json={"allowed_origins": ["https://b.example/"]}).raise_for_status()
    http.put(f"/api/admin/queues/{q['id']}/members", json={"user_ids": [user["id"]]}).raise_for_status()
    http.put(f"/api/admin/queues/{q['id']}/members", json={"user_ids": []}).raise_for_status()

    users = await _audit(admin, f"user {unique}")
    assert {e["actor"] for e in users} == {"admin"} and all(e["actor_id"] == 1 for e in users)
    assert _actions(users) == [
        ("user.create", {"role": "rep", "display_name": "Una"}),
        ("user.role", {"from": "rep", "to": "supervisor"}),
        ("user.disable", {}),
        ("user.enable", {}),
        ("user.password", {}),
        ("user.display_name", {"from": "Una", "to": "Una U"}),
    ]  # the second role change to the same role changed nothing: no entry
    assert _actions(await _audit(admin, f"queue {slug}")) == [
        ("queue.create", {"name": "Q", "allowed_origins": ["https://a.example"]}),
        ("queue.rename", {"from": "Q", "to": "Queue"}),
        ("queue.origins", {"from": ["https://a.example"], "to": ["https://b.example"]}),
        ("queue.members", {"added": [unique], "removed": []}),
        ("queue.members", {"added": [], "removed": [unique]}),
    ]
    everything = http.get("/api/admin/audit", params={"limit": 200}).text
    assert "first password" not in everything and "second password" not in everything


async def test_every_admin_action_is_audited_from_the_command_line(server: ServerProcess, admin: AdminAPI, unique: str) -> None:
    slug = f"{unique}-c"
    steps = [
        (("queue", "add", slug, "--name", "Cee", "--origin", "https://c.example"), ""),
        (("user", "add", unique, "--display-name", "Cid", "--queue", slug), "cli password 123\n"),
        (("user", "set-role", unique, "admin"), ""),
        (("user", "disable", unique), ""),
        (("user", "enable", unique), ""),
        (("user", "set-password", unique), "cli password 456\n"),
        (("user", "set-display-name", unique, "Cid C"), ""),
        (("queue", "rename", slug, "Sea"), ""),
        (("queue", "set-origins", slug, "https://d.example"), ""),
        (("queue", "remove-member", slug, unique), ""),
        (("queue", "add-member", slug, unique), ""),
    ]
    for args, stdin in steps:
        r = await cli(server, *args, stdin=stdin)
        assert r.returncode == 0, (args, r.stderr)
    users = await _audit(admin, f"user {unique}")
    assert all(e["actor"].startswith("command line") and e["actor_id"] is None for e in users)
    assert _actions(users) == [
        ("user.create", {"role": "rep", "display_name": "Cid", "queues": [slug]}),
        ("user.role", {"from": "rep", "to": "admin"}),
        ("user.disable", {}),
        ("user.enable", {}),
        ("user.password", {}),
        ("user.display_name", {"from": "Cid", "to": "Cid C"}),
    ]
    assert _actions(await _audit(admin, f"queue {slug}")) == [
        ("queue.create", {"name": "Cee", "allowed_origins": ["https://c.example"]}),
        ("queue.rename", {"from": "Cee", "to": "Sea"}),
        ("queue.origins", {"from": ["https://c.example"], "to": ["https://d.example"]}),
        ("queue.members", {"added": [], "removed": [unique]}),
        ("queue.members", {"added": [unique], "removed": []}),
    ]
    assert "cli password" not in admin.http.get("/api/admin/audit", params={"limit": 200}).text


async def test_the_audit_log_pages_back_and_checks_its_parameters(server: ServerProcess, admin: AdminAPI, unique: str) -> None:
    for i in range(3):
        admin.queue(f"{unique}-p{i}")
    first = admin.http.get("/api/admin/audit", params={"limit": 2}).json()
    assert [e["target"] for e in first["entries"]] == [f"queue {unique}-p2", f"queue {unique}-p1"]
    assert first["before"] == first["entries"][-1]["id"]
    older = admin.http.get("/api/admin/audit", params={"limit": 2, "before": first["before"]}).json()
    assert older["entries"][0]["target"] == f"queue {unique}-p0"
    assert all(e["id"] < first["before"] for e in older["entries"])
    for bad in ({"limit": 0}, {"limit": 201}, {"limit": "ten"}, {"limit": -1}, {"before": 0}, {"before": "x"}, {"limit": "٣"}):
        r = admin.http.get("/api/admin/audit", params=bad)
        assert r.status_code == 400 and r.json()["error"]["code"] == "bad_message", bad


async def test_the_admin_center_cannot_lock_its_admin_out(server: ServerProcess, admin: AdminAPI) -> None:
    me = admin.http.get("/api/me").json()["user"]
    for body in ({"role": "rep"}, {"disabled": True}):
        r = admin.http.patch(f"/api/admin/users/{me['id']}", json=body)
        assert r.status_code == 400 and "your own account" in r.json()["error"]["message"]
    r = admin.http.patch(f"/api/admin/users/{me['id']}", json={"display_name": "x" * 81})
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_message"
    assert admin.http.get("/api/me").json()["user"]["role"] == "admin"
