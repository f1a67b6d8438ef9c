"""The admin center's Reports view in a real browser, against the real
reports API: the charts are drawn from the very figures GET /api/reports
returns (and their canvases are painted), the table shows the same numbers,
the CSV link downloads the API's CSV, and an abandoned request is listed
among the unanswered and found by a word of its question."""

from __future__ import annotations

import asyncio
import json
import re
import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect

from desklink.testing import (
    ONE_ADDRESS_ENV,
    AdminAPI,
    RepClient,
    ServerProcess,
    VisitorClient,
    admin_center,
    ended_session,
    poll_until,
)

pytestmark = pytest.mark.browser

expect.set_options(timeout=15_000)

#: A zone that is not the machine's (UTC): the view must send the browser's.
ZONE = "America/New_York"
#: The first series' colour in reports.js (#2563eb).
FIRST_SERIES_RGB = (37, 99, 235)


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    env = {**ONE_ADDRESS_ENV, "DESKLINK_VISITOR_GRACE_S": "1", "DESKLINK_SWEEP_INTERVAL_S": "0.3"}
    with ServerProcess(env=env) as srv:
        yield srv


def _seed(server: ServerProcess, admin: AdminAPI, u: str) -> tuple[str, str, str]:
    """Two ended sessions (resolved, escalated) and one abandoned request in
    queue ``u``; returns the abandoned request's id and the rep's username
    and password."""
    admin.queue(u)
    (user, pw), = admin.reps(1, queue_slug=u, prefix=u + "rep")

    async def run() -> str:
        rep = await RepClient.connect(server, user, pw)
        try:
            await ended_session(server, rep, u, "Carla", "carla@example.com", "printer jams", "resolved")
            await ended_session(server, rep, u, "Dan", "dan@example.com", "mouse is slow", "escalated")
            visitor = await VisitorClient.submit(server, queue=u, name="Erin", question=f"my scanner {u} smokes")
            await rep.expect("alert")
            await visitor.close()  # left before anyone answered
            # this request's withdrawal (an earlier session's may come first)
            await rep.expect("alert.withdrawn", timeout=15, request_id=visitor.request_id, reason="abandoned")
            return visitor.request_id
        finally:
            await rep.close()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run()).result(), user, pw


def _painted(page: Page, testid: str) -> int:
    """Pixels of the chart's canvas in the first series' colour."""
    return int(
        page.evaluate(
            """([testid, rgb]) => {
                const canvas = document.querySelector(`[data-testid="${testid}"] canvas`);
                const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
                let n = 0;
                for (let i = 0; i < data.length; i += 4) {
                    if (data[i + 3] > 200 && Math.abs(data[i] - rgb[0]) < 12 && Math.abs(data[i + 1] - rgb[1]) < 12
                        && Math.abs(data[i + 2] - rgb[2]) < 12) n++;
                }
                return n;
            }""",
            [testid, list(FIRST_SERIES_RGB)],
        )
    )


def test_report_view_draws_the_api_figures(browser: Browser, server: ServerProcess, admin: AdminAPI) -> None:
    u = "rpt" + secrets.token_hex(3)
    abandoned, _, _ = _seed(server, admin, u)
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, timezone_id=ZONE, accept_downloads=True)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    try:
        admin_center(page, server, "reports")
        view = page.get_by_test_id("view-reports")
        expect(view).to_have_attribute("data-loaded", re.compile(".+"))
        expect(page.get_by_test_id("reports-tz")).to_have_value(ZONE)
        page.get_by_test_id("reports-queue").select_option(u)
        page.get_by_test_id("reports-go").click()
        expect(view).to_have_attribute("data-loaded", re.compile(f"queue={u}"))
        query = view.get_attribute("data-loaded") or ""
        assert urlsplit(page.get_by_test_id("reports-csv").get_attribute("href") or "").query == query
        params = parse_qs(query)
        assert params["tz"] == [ZONE] and params["group"] == ["day"] and params["queue"] == [u]

        api = admin.http.get(f"/api/reports?{query}").json()
        assert api["total"]["requests"] == 3 and api["total"]["answered"] == 2 and api["total"]["abandoned"] == 1
        labels = [r["label"] for r in api["rows"]]

        # The charts: drawn from the API's numbers, and painted.
        chart = page.get_by_test_id("chart-requests")
        expect(chart.locator("canvas")).to_be_visible()
        for testid, names in {
            "chart-requests": ["requests", "answered", "abandoned", "expired"],
            "chart-wait": ["wait_p50", "wait_p90"],
            "chart-handle": ["handle_p50", "handle_p90"],
            "chart-escalation": ["screen_rate", "control_rate", "files_rate", "escalated_rate"],
            "chart-rating": ["rating_avg"],
        }.items():
            drawn = json.loads(page.get_by_test_id(testid).get_attribute("data-figures") or "{}")
            assert drawn["labels"] == labels, testid
            assert drawn["series"] == {n: [r[n] for r in api["rows"]] for n in names}, testid
        assert sum(drawn_requests for drawn_requests in json.loads(chart.get_attribute("data-figures") or "{}")["series"]["requests"] if drawn_requests) == 3
        assert _painted(page, "chart-requests") > 20
        assert _painted(page, "chart-wait") > 5  # one day with data: a single point

        # The table: every figure's total as the API gave it, formatted by unit.
        table = page.get_by_test_id("reports-table")
        for f in api["figures"]:
            cell = table.locator(f'[data-figure="{f["name"]}"] td[data-key="{api["total"]["key"]}"]')
            value = api["total"][f["name"]]
            shown = cell.get_attribute("data-value")
            assert (shown == "") if value is None else (float(shown or "nan") == value), (f["name"], shown, value)
            expect(table.locator(f'[data-figure="{f["name"]}"] th')).to_have_attribute("title", f["definition"])
        expect(table.locator('[data-figure="requests"] td').last).to_have_text("3")
        expect(table.locator('[data-figure="escalated_rate"] td').last).to_have_text("50.0%")
        wait_cell = table.locator('[data-figure="wait_p50"] td').last.inner_text()
        assert wait_cell.count(":") == 1 and wait_cell.split(":")[1].isdigit(), wait_cell  # m:ss
        page.screenshot(path="/tmp/presence-reports.png", full_page=True)

        # The CSV link downloads what the API's CSV says.
        with page.expect_download() as dl:
            page.get_by_test_id("reports-csv").click()
        path = dl.value.path()
        with open(path, encoding="utf-8", newline="") as fh:
            assert fh.read() == admin.http.get(f"/api/reports.csv?{query}").text

        # The unanswered list: the abandoned request, found by a word.
        poll_until(lambda: admin.http.get(f"/api/reports/unanswered?queue={u}&tz={ZONE}").json()["requests"],
                   what="the abandoned request listed")
        page.get_by_test_id("reports-go").click()
        rows = page.get_by_test_id("unanswered-row")
        expect(rows).to_have_count(1)
        expect(rows.first).to_have_attribute("data-request-id", abandoned)
        expect(rows.first).to_have_attribute("data-status", "abandoned")
        page.get_by_test_id("unanswered-words").fill("SCANNER")
        page.get_by_test_id("unanswered-status").select_option("abandoned")
        page.get_by_test_id("unanswered-go").click()
        expect(rows).to_have_count(1)
        expect(rows.first.get_by_test_id("unanswered-question")).to_have_text(f"my scanner {u} smokes")
        unanswered_href = page.get_by_test_id("unanswered-csv").get_attribute("href") or ""
        csv_text = admin.http.get(unanswered_href).text
        assert abandoned in csv_text and f"my scanner {u} smokes" in csv_text
        page.get_by_test_id("unanswered-words").fill("toaster")
        page.get_by_test_id("unanswered-go").click()
        expect(page.get_by_text("None in this range.")).to_be_visible()
        assert not problems, problems
    finally:
        context.close()


def test_a_rep_sees_their_own_figures(browser: Browser, server: ServerProcess, admin: AdminAPI) -> None:
    u = "own" + secrets.token_hex(3)
    _, rep_name, rep_pw = _seed(server, admin, u)
    http, _ = server.login(rep_name, rep_pw)
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, timezone_id=ZONE)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    try:
        page.goto(server.url + "/admin")
        page.get_by_test_id("username").fill(rep_name)
        page.get_by_test_id("password").fill(rep_pw)
        page.get_by_test_id("login").click()
        expect(page.get_by_test_id("admin-denied")).to_be_visible()
        page.get_by_test_id("denied-reports").click()
        view = page.get_by_test_id("view-reports")
        expect(view).to_have_attribute("data-loaded", re.compile(".+"))
        expect(page.get_by_test_id("reports-scope")).to_contain_text("Your figures")
        expect(page.get_by_test_id("nav-users")).to_be_hidden()
        expect(page.get_by_test_id("unanswered")).to_be_hidden()  # requests nobody answered have no rep
        query = view.get_attribute("data-loaded") or ""
        api = http.get(f"/api/reports?{query}").json()
        assert api["total"]["answered"] == 2  # the two sessions this rep answered, nobody else's
        drawn = json.loads(page.get_by_test_id("chart-requests").get_attribute("data-figures") or "{}")
        assert drawn["series"]["answered"] == [r["answered"] for r in api["rows"]]
        cell = page.locator(f'[data-figure="answered"] td[data-key="{api["total"]["key"]}"]')
        expect(cell).to_have_text("2")
        page.screenshot(path="/tmp/presence-reports-rep.png")
        assert not problems, problems
    finally:
        http.close()
        context.close()
