"""Every report endpoint (all routes under /api/reports, read from the
app's endpoint specs, so a new one is walked too) for anonymous, a rep, a
supervisor of one queue and an admin: the status each gets, and that
nothing outside the caller's scope appears in what comes back."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import httpx
import pytest

from desklink.server.app import endpoint_specs
from desklink.server.http import Access
from desklink.testing import AdminAPI, ServerProcess
from desklink.testing_reports import SeededServer, seed_server

PARIS = "from=2026-03-28&to=2026-03-30&tz=Europe/Paris"
SPECS = sorted((s for s in endpoint_specs() if s.path.startswith("/api/reports")), key=lambda s: s.path)

#: What each role must never see: names of queues, reps and visitors
#: outside its scope (ann is a rep in main; sue supervises billing).
OUTSIDE = {
    "ann": {"Bob", "Sue", "Billing", "Carla", "Dan", "Eve"},
    "sue": {"Ann", "Main", "Carla"},
    "admin": set(),
}
#: The most requests a role's figures may count (ann answered 4; billing had 3).
MOST_REQUESTS = {"ann": 4, "sue": 3, "admin": 9}


@pytest.fixture(scope="module")
def world(server: ServerProcess, admin: AdminAPI) -> SeededServer:
    return seed_server(server, admin)


@pytest.fixture(scope="module")
def clients(server: ServerProcess, admin: AdminAPI, world: SeededServer) -> Iterator[dict[str, httpx.Client]]:
    made = {
        "anonymous": httpx.Client(base_url=server.url, timeout=30),
        "ann": server.login("ann", world.password)[0],
        "sue": server.login("sue", world.password)[0],
    }
    yield {**made, "admin": admin.http}
    for c in made.values():
        c.close()


def _names(r: httpx.Response) -> set[str]:
    """Every queue, rep and visitor name in an answer (JSON or CSV)."""
    if r.headers["content-type"].startswith("text/csv"):
        rows = list(csv.DictReader(io.StringIO(r.text)))
        return {v for row in rows for k, v in row.items() if k in ("label", "queue", "visitor_name")}
    body = r.json()
    return ({row["label"] for row in body.get("rows", [])}
            | {u[k] for u in body.get("requests", []) for k in ("queue", "visitor_name")})


def _requests(r: httpx.Response) -> int:
    if r.headers["content-type"].startswith("text/csv"):
        rows = list(csv.DictReader(io.StringIO(r.text)))
        return int(rows[-1]["requests"]) if "requests" in rows[0] else len(rows)
    body = r.json()
    return int(body["total"]["requests"]) if "total" in body else len(body["requests"])


def _expected(role: str, access: Access) -> int:
    if role == "anonymous":
        return 401
    if role == "ann" and access is not Access.REP:
        return 403
    return 200


def test_the_walk_covers_every_report_endpoint() -> None:
    assert [s.path for s in SPECS] == ["/api/reports", "/api/reports.csv", "/api/reports/unanswered",
                                       "/api/reports/unanswered.csv"]
    assert all(s.methods == ("GET",) and s.access in (Access.REP, Access.SUPERVISOR) for s in SPECS)


@pytest.mark.parametrize("role", ["anonymous", "ann", "sue", "admin"])
def test_every_report_endpoint_for_every_role(clients: dict[str, httpx.Client], role: str) -> None:
    http = clients[role]
    seen = 0
    for spec in SPECS:
        groups = ("day", "week", "queue", "rep") if "unanswered" not in spec.path else ("",)
        for group in groups:
            r = http.get(f"{spec.path}?{PARIS}" + (f"&group={group}" if group else ""))
            want = _expected(role, spec.access)
            assert r.status_code == want, (role, spec.path, group, r.status_code, r.text)
            if want != 200:
                assert r.json()["error"]["code"] == ("auth_required" if want == 401 else "forbidden")
                continue
            seen += 1
            names = _names(r)
            assert not names & OUTSIDE[role], (role, spec.path, group, names & OUTSIDE[role])
            assert 0 < _requests(r) <= MOST_REQUESTS[role], (role, spec.path, group)
    assert seen == {"anonymous": 0, "ann": 8, "sue": 10, "admin": 10}[role]


@pytest.mark.parametrize(("role", "outside"), [("ann", "queue=billing"), ("sue", "queue=main"), ("ann", "rep={bob}"),
                                               ("sue", "rep={ann}")])
def test_asking_outside_ones_scope_is_refused_everywhere(clients: dict[str, httpx.Client], world: SeededServer,
                                                         role: str, outside: str) -> None:
    query = outside.format(bob=world.bob["id"], ann=world.ann["id"])
    for spec in SPECS:
        if "rep=" in query and "unanswered" in spec.path:
            continue  # the listing has no rep filter: requests that were never answered have no rep
        r = clients[role].get(f"{spec.path}?{PARIS}&{query}")
        assert r.status_code == 403, (role, spec.path, query, r.text)
        assert r.json()["error"]["code"] == "forbidden" and r.json()["error"]["message"]
        assert not any(name in r.text for name in OUTSIDE[role])
