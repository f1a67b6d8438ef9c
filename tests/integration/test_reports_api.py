"""The reports API on a real server: its JSON is the store's report, its
CSV is exact, bad parameters get a clear 400, and each role sees its own
scope (desklink.testing_reports' story, seeded into the server's database)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import httpx
import pytest

from desklink.reports import Report, ReportQuery, as_json
from desklink.store import Store
from desklink.testing import AdminAPI, ServerProcess
from desklink.testing_reports import SeededServer, seed_server

PARIS = "from=2026-03-28&to=2026-03-30&tz=Europe/Paris"


@pytest.fixture(scope="module")
def world(server: ServerProcess, admin: AdminAPI) -> SeededServer:
    return seed_server(server, admin)


@pytest.fixture(scope="module")
def logins(server: ServerProcess, world: SeededServer) -> Iterator[dict[str, httpx.Client]]:
    clients = {name: server.login(name, world.password)[0] for name in ("ann", "bob", "sue")}
    yield clients
    for c in clients.values():
        c.close()


def store_report(server: ServerProcess, query: ReportQuery) -> Report:
    url = f"sqlite+aiosqlite:///{Path(server.data_dir, 'desklink.db').resolve()}"

    async def run() -> Report:
        store = await Store.open(url)
        try:
            return await store.report(query)
        finally:
            await store.close()

    return asyncio.run(run())


def error(r: httpx.Response, status: int) -> str:
    assert r.status_code == status, r.text
    return str(r.json()["error"]["message"])


@pytest.mark.parametrize("group", ["day", "week", "queue", "rep"])
def test_json_is_the_stores_report(server: ServerProcess, admin: AdminAPI, world: SeededServer, group: str) -> None:
    r = admin.http.get(f"/api/reports?{PARIS}&group={group}")
    assert r.status_code == 200, r.text
    expected = as_json(store_report(server, ReportQuery(date(2026, 3, 28), date(2026, 3, 30), "Europe/Paris", group)))  # type: ignore[arg-type]
    assert r.json() == json.loads(json.dumps(expected))
    assert r.json()["total"]["requests"] == 9 and r.json()["total"]["rating_avg"] == 4.0
    assert [f["name"] for f in r.json()["figures"]][:3] == ["requests", "answered", "abandoned"]


def test_csv_is_exact(server: ServerProcess, admin: AdminAPI, world: SeededServer) -> None:
    r = admin.http.get("/api/reports.csv?from=2026-03-28&to=2026-03-29&tz=Europe/Paris&group=queue")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.headers["content-disposition"] == 'attachment; filename="desklink-report-queue-2026-03-28-2026-03-29.csv"'
    b, m = world.billing["id"], world.main["id"]
    assert r.text == (
        "queue,label,requests,answered,abandoned,cancelled,abandoned_wait_p50,abandoned_wait_p90,expired,"
        "wait_p50,wait_p90,handle_p50,handle_p90,screen_rate,control_rate,files_rate,resolved_rate,"
        "not_resolved_rate,escalated_rate,rating_avg,rating_count,online_s,load_avg,load_peak\r\n"
        f"{b},Billing,3,1,1,0,120,120,1,10,10,1200,1200,0,0,1,0,0,1,,0,12600,0.0952,1\r\n"
        f"{m},Main,4,3,1,1,40,40,0,30,90,600,3600,0.6667,0.3333,0,0.3333,0.3333,0,4,2,34200,0.0784,1\r\n"
        "total,Total,7,4,2,1,40,120,1,20,90,600,3600,0.5,0.25,0.25,0.25,0.25,0.25,4,2,34200,0.1135,1\r\n"
    )


def test_defaults_are_the_last_seven_days_in_utc_by_day(admin: AdminAPI, world: SeededServer) -> None:
    body = admin.http.get("/api/reports").json()
    assert (body["tz"], body["group"], len(body["rows"])) == ("UTC", "day", 7)
    assert date.fromisoformat(body["to"]).toordinal() - date.fromisoformat(body["from"]).toordinal() == 6


@pytest.mark.parametrize(
    ("query", "status", "words"),
    [
        ("tz=Mars/Olympus", 400, "time zone"),
        ("from=2026-13-01", 400, "must be a date"),
        ("to=yesterday", 400, "must be a date"),
        ("from=2026-03-30&to=2026-03-28", 400, "must not come before"),
        ("from=2025-03-29&to=2026-03-30", 400, "at most 366 days"),
        ("group=month", 400, "must be one of day, week, queue, rep"),
        ("rep=abc", 400, "whole number"),
        ("queue=nowhere", 404, "no queue 'nowhere'"),
        ("rep=999999", 404, "no user 999999"),
    ],
)
def test_bad_parameters_are_refused_with_words(admin: AdminAPI, world: SeededServer, query: str, status: int,
                                               words: str) -> None:
    for path in ("/api/reports", "/api/reports.csv"):
        assert words in error(admin.http.get(f"{path}?{query}"), status)


def test_a_year_is_the_longest_report(admin: AdminAPI, world: SeededServer) -> None:
    r = admin.http.get("/api/reports?from=2025-03-30&to=2026-03-30&tz=Europe/Paris")
    assert r.status_code == 200 and len(r.json()["rows"]) == 366 and r.json()["total"]["requests"] == 10


def test_a_rep_sees_only_their_own_figures(server: ServerProcess, world: SeededServer,
                                          logins: dict[str, httpx.Client]) -> None:
    ann = logins["ann"]
    body = ann.get(f"/api/reports?{PARIS}&group=rep").json()
    assert [r["label"] for r in body["rows"]] == ["Ann"]
    alone = store_report(server, ReportQuery(date(2026, 3, 28), date(2026, 3, 30), "Europe/Paris", "rep",
                                             rep_ids=frozenset({world.ann["id"]})))
    assert body == json.loads(json.dumps(as_json(alone)))
    assert (body["total"]["requests"], body["total"]["online_s"], body["total"]["abandoned"]) == (4, 36000.0, 0)
    by_queue = ann.get(f"/api/reports?{PARIS}&group=queue").json()
    assert [r["label"] for r in by_queue["rows"]] == ["Main"]
    assert ann.get(f"/api/reports?{PARIS}&queue=main").status_code == 200
    assert "not yours" in error(ann.get(f"/api/reports?{PARIS}&queue=billing"), 403)
    assert "own figures" in error(ann.get(f"/api/reports?{PARIS}&rep={world.bob['id']}"), 403)
    assert ann.get(f"/api/reports?{PARIS}&rep={world.ann['id']}").status_code == 200
    assert error(ann.get(f"/api/reports/unanswered?{PARIS}"), 403)


def test_a_supervisor_sees_their_queues(world: SeededServer, logins: dict[str, httpx.Client]) -> None:
    sue = logins["sue"]
    body = sue.get(f"/api/reports?{PARIS}&group=queue").json()
    assert [r["label"] for r in body["rows"]] == ["Billing"]
    assert (body["total"]["requests"], body["total"]["expired"], body["total"]["online_s"]) == (3, 1, 12600.0)
    reps = sue.get(f"/api/reports?{PARIS}&group=rep").json()
    assert [r["label"] for r in reps["rows"]] == ["Bob"]
    assert reps["rows"][0]["requests"] == 1  # bob's billing session, not his main one
    assert "not in queue 'main'" in error(sue.get(f"/api/reports?{PARIS}&queue=main"), 403)
    assert "none of your queues" in error(sue.get(f"/api/reports?{PARIS}&rep={world.ann['id']}"), 403)
    assert sue.get(f"/api/reports?{PARIS}&rep={world.bob['id']}").json()["total"]["requests"] == 1
    listed = sue.get(f"/api/reports/unanswered?{PARIS}").json()["requests"]
    assert [u["visitor_name"] for u in listed] == ["Eve", "Dan"]
    assert "not in queue 'main'" in error(sue.get(f"/api/reports/unanswered?{PARIS}&queue=main"), 403)


def test_unanswered_listing(admin: AdminAPI, world: SeededServer) -> None:
    body = admin.http.get(f"/api/reports/unanswered?{PARIS}").json()
    assert body["more"] is False and body["limit"] == 100
    got = [(u["visitor_name"], u["queue"], u["status"], u["cancelled"], u["wait_s"], u["created_at"], u["closed_at"])
           for u in body["requests"]]
    assert got == [
        ("Eve", "Billing", "expired", False, 600.0, "2026-03-28T23:30:00Z", "2026-03-28T23:40:00Z"),
        ("Dan", "Billing", "abandoned", False, 120.0, "2026-03-28T12:00:00Z", "2026-03-28T12:02:00Z"),
        ("Carla", "Main", "abandoned", True, 40.0, "2026-03-28T11:00:00Z", "2026-03-28T11:00:40Z"),
    ]

    def names(query: str) -> list[str]:
        r = admin.http.get(f"/api/reports/unanswered?{PARIS}&{query}")
        assert r.status_code == 200, r.text
        return [u["visitor_name"] for u in r.json()["requests"]]

    assert names("status=cancelled") == ["Carla"]
    assert names("status=abandoned") == ["Dan", "Carla"]
    assert names("status=expired") == ["Eve"]
    assert names("queue=main") == ["Carla"]
    assert names("q=printer+JAMS") == ["Carla"]
    assert names("q=100%25") == ["Dan"]
    assert names("limit=1&offset=1") == ["Dan"]
    assert admin.http.get(f"/api/reports/unanswered?{PARIS}&limit=2").json()["more"] is True
    # Paris' 28th ends at 23:00 UTC: Eve's 23:30 request is the 29th's
    assert [u["visitor_name"] for u in admin.http.get(
        "/api/reports/unanswered?from=2026-03-28&to=2026-03-28&tz=Europe/Paris").json()["requests"]] == ["Dan", "Carla"]
    assert "one of abandoned, cancelled, expired" in error(
        admin.http.get("/api/reports/unanswered?status=left"), 400)
    assert "from 1 to 500" in error(admin.http.get("/api/reports/unanswered?limit=501"), 400)
    assert "at most 8 words" in error(admin.http.get("/api/reports/unanswered?q=" + "+".join("abcdefghi")), 400)


def test_unanswered_csv(admin: AdminAPI, world: SeededServer) -> None:
    r = admin.http.get(f"/api/reports/unanswered.csv?{PARIS}")
    assert r.status_code == 200 and r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.headers["content-disposition"] == 'attachment; filename="desklink-unanswered-2026-03-28-2026-03-30.csv"'
    ids = [u["id"] for u in admin.http.get(f"/api/reports/unanswered?{PARIS}").json()["requests"]]
    assert r.text == (
        "id,queue,submitted,closed,status,cancelled,wait_s,visitor_name,visitor_email,question\r\n"
        f"{ids[0]},Billing,2026-03-29T00:30:00+01:00,2026-03-29T00:40:00+01:00,expired,no,600,Eve,eve@example.com,refund\r\n"
        f"{ids[1]},Billing,2026-03-28T13:00:00+01:00,2026-03-28T13:02:00+01:00,abandoned,no,120,Dan,dan@example.com,"
        "invoice 100% wrong\r\n"
        f"{ids[2]},Main,2026-03-28T12:00:00+01:00,2026-03-28T12:00:40+01:00,abandoned,yes,40,Carla,carla@example.com,"
        "Printer JAMS\r\n"
    )
    assert "from 1 to 10000" in error(admin.http.get("/api/reports/unanswered.csv?limit=10001"), 400)



def test_report_max_days_is_a_setting() -> None:
    """DESKLINK_REPORT_MAX_DAYS lowers the longest range; one day past it is
    refused on every report endpoint."""
    with ServerProcess(env={"DESKLINK_REPORT_MAX_DAYS": "31"}) as small:
        http = small.admin()
        try:
            assert http.get("/api/reports?from=2026-03-01&to=2026-03-31").status_code == 200
            for path in ("/api/reports", "/api/reports.csv", "/api/reports/unanswered", "/api/reports/unanswered.csv"):
                assert "at most 31 days" in error(http.get(f"{path}?from=2026-03-01&to=2026-04-01"), 400)
        finally:
            http.close()
