"""Reports on SQLite and PostgreSQL: requests, sessions, events, ratings and
presence seeded with known timings and outcomes over three days around the
Europe/Paris DST change (2026-03-29 has 23 hours there), and every figure of
FIGURES asserted exactly for day, week, queue and rep rows and the total, in
Paris and in UTC; the CSV is compared with a literal."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest

from desklink.reports import FIGURE_NAMES, Report, ReportQuery, as_csv
from desklink.store import Queue, Store, User
from desklink.testing_reports import FIRST, LAST, NOW, t
from desklink.testing_reports import seed as seed_story

from ._helpers import make_queue, make_user

@dataclass
class World:
    ann: User
    bob: User
    main: Queue
    billing: Queue


async def seed(store: Store) -> World:
    """desklink.testing_reports' story (its docstring tells it)."""
    ann, bob = await make_user(store, "ann"), await make_user(store, "bob")
    main, billing = await make_queue(store, "main"), await make_queue(store, "billing")
    await store.set_queue_members(main.id, [ann.id, bob.id])
    await store.set_queue_members(billing.id, [bob.id])
    await seed_story(store, ann, bob, main, billing)
    return World(ann, bob, main, billing)


def F(*values: object) -> dict[str, object]:  # noqa: N802
    """A row's figures in FIGURES order."""
    assert len(values) == len(FIGURE_NAMES)
    return dict(zip(FIGURE_NAMES, values, strict=True))


N = None
#                 req ans abd can awp50 awp90 exp wp50 wp90 hp50  hp90  screen control files res   notres esc  rat  #r online load    peak
PARIS_28 = F(4, 2, 2, 1, 40.0, 120.0, 0, 30.0, 90.0, 300.0, 600.0, 1.0, 0.5, 0.0, 0.5, 0.5, 0.0, 4.0, 2, 23400.0, 0.0385, 1)
PARIS_29 = F(3, 2, 0, 0, N, N, 1, 10.0, 20.0, 1200.0, 3600.0, 0.0, 0.0, 0.5, 0.0, 0.0, 0.5, N, 0, 10800.0, 0.2759, 1)
PARIS_30 = F(2, 2, 0, 0, N, N, 0, 5.0, 60.0, 600.0, 600.0, 0.0, 0.0, 0.0, 0.5, 0.0, 0.0, 4.0, 1, 14400.0, 0.4139, 2)
TOTAL = F(9, 6, 2, 1, 40.0, 120.0, 1, 20.0, 90.0, 600.0, 3600.0, 0.3333, 0.1667, 0.1667, 0.3333, 0.1667, 0.1667, 4.0, 3,
          48600.0, 0.2025, 2)
PARIS_W13 = F(7, 4, 2, 1, 40.0, 120.0, 1, 20.0, 90.0, 600.0, 3600.0, 0.5, 0.25, 0.25, 0.25, 0.25, 0.25, 4.0, 2, 34200.0,
              0.1135, 1)
MAIN = F(6, 5, 1, 1, 40.0, 40.0, 0, 30.0, 90.0, 600.0, 3600.0, 0.4, 0.2, 0.0, 0.4, 0.2, 0.0, 4.0, 3, 48600.0, 0.1778, 2)
BILLING = F(3, 1, 1, 0, 120.0, 120.0, 1, 10.0, 10.0, 1200.0, 1200.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0, N, 0, 12600.0, 0.0952, 1)
ANN = F(4, 4, 0, 0, N, N, 0, 20.0, 60.0, 600.0, 3600.0, 0.25, 0.0, 0.0, 0.5, 0.0, 0.0, 4.5, 2, 36000.0, 0.2317, 2)
BOB = F(2, 2, 0, 0, N, N, 0, 10.0, 90.0, 300.0, 1200.0, 0.5, 0.5, 0.5, 0.0, 0.5, 0.5, 3.0, 1, 12600.0, 0.119, 1)
UTC_28 = F(5, 2, 2, 1, 40.0, 120.0, 1, 30.0, 90.0, 300.0, 600.0, 1.0, 0.5, 0.0, 0.5, 0.5, 0.0, 4.0, 2, 23400.0, 0.0385, 1)
UTC_29 = F(2, 2, 0, 0, N, N, 0, 10.0, 20.0, 1200.0, 3600.0, 0.0, 0.0, 0.5, 0.0, 0.0, 0.5, N, 0, 18000.0, 0.2667, 1)
UTC_30 = F(2, 2, 0, 0, N, N, 0, 5.0, 60.0, 600.0, 600.0, 0.0, 0.0, 0.0, 0.5, 0.0, 0.0, 4.0, 1, 7200.0, 0.575, 2)


def rows(report: Report) -> list[tuple[str, str, dict[str, object]]]:
    return [(r.key, r.label, r.figures) for r in report.rows]


async def test_day_rows_in_paris_across_dst(store: Store) -> None:
    await seed(store)
    report = await store.report(ReportQuery(FIRST, LAST, "Europe/Paris", "day"), now=NOW)
    assert rows(report) == [("2026-03-28", "2026-03-28", PARIS_28), ("2026-03-29", "2026-03-29", PARIS_29),
                            ("2026-03-30", "2026-03-30", PARIS_30)]
    assert report.total.figures == TOTAL


async def test_day_rows_in_utc(store: Store) -> None:
    await seed(store)
    report = await store.report(ReportQuery(FIRST, LAST, "UTC", "day"), now=NOW)
    assert [r.figures for r in report.rows] == [UTC_28, UTC_29, UTC_30]
    assert report.total.figures == TOTAL


async def test_week_rows(store: Store) -> None:
    await seed(store)
    report = await store.report(ReportQuery(FIRST, LAST, "Europe/Paris", "week"), now=NOW)
    assert rows(report) == [("2026-W13", "2026-W13 (2026-03-28)", PARIS_W13),
                            ("2026-W14", "2026-W14 (2026-03-30)", PARIS_30)]
    assert report.total.figures == TOTAL


async def test_queue_rows_and_csv(store: Store) -> None:
    w = await seed(store)
    report = await store.report(ReportQuery(FIRST, LAST, "Europe/Paris", "queue"), now=NOW)
    assert rows(report) == [(str(w.billing.id), "Billing", BILLING), (str(w.main.id), "Main", MAIN)]
    assert report.total.figures == TOTAL
    assert as_csv(report) == (
        "queue,label,requests,answered,abandoned,cancelled,abandoned_wait_p50,abandoned_wait_p90,expired,"
        "wait_p50,wait_p90,handle_p50,handle_p90,screen_rate,control_rate,files_rate,resolved_rate,"
        "not_resolved_rate,escalated_rate,rating_avg,rating_count,online_s,load_avg,load_peak\r\n"
        f"{w.billing.id},Billing,3,1,1,0,120,120,1,10,10,1200,1200,0,0,1,0,0,1,,0,12600,0.0952,1\r\n"
        f"{w.main.id},Main,6,5,1,1,40,40,0,30,90,600,3600,0.4,0.2,0,0.4,0.2,0,4,3,48600,0.1778,2\r\n"
        "total,Total,9,6,2,1,40,120,1,20,90,600,3600,0.3333,0.1667,0.1667,0.3333,0.1667,0.1667,4,3,48600,0.2025,2\r\n"
    )


async def test_rep_rows_count_only_what_the_rep_answered(store: Store) -> None:
    w = await seed(store)
    report = await store.report(ReportQuery(FIRST, LAST, "Europe/Paris", "rep"), now=NOW)
    assert rows(report) == [(str(w.ann.id), "Ann", ANN), (str(w.bob.id), "Bob", BOB)]
    assert report.total.figures == TOTAL


async def test_scope_filters_apply_to_every_figure(store: Store) -> None:
    w = await seed(store)
    billing = await store.report(
        ReportQuery(FIRST, LAST, "Europe/Paris", "day", queue_ids=frozenset({w.billing.id})), now=NOW)
    day28 = billing.rows[0].figures
    # one abandoned request; bob (the only member) online 1.5 h, no billing session that day
    assert (day28["requests"], day28["abandoned"], day28["abandoned_wait_p50"], day28["online_s"],
            day28["load_avg"], day28["load_peak"]) == (1, 1, 120.0, 5400.0, 0.0, 0)
    assert billing.total.figures == BILLING
    bob = await store.report(ReportQuery(FIRST, LAST, "Europe/Paris", "queue", rep_ids=frozenset({w.bob.id})), now=NOW)
    # bob's main figures: only the session he held, his online time as a member
    main = next(r for r in bob.rows if r.key == str(w.main.id)).figures
    assert (main["requests"], main["answered"], main["abandoned"], main["online_s"], main["load_peak"]) == (
        1, 1, 0, 12600.0, 1)
    assert bob.total.figures == BOB
    nobody = await store.report(ReportQuery(FIRST, LAST, "UTC", "rep", rep_ids=frozenset()), now=NOW)
    assert nobody.rows == () and nobody.total.figures["requests"] == 0 and nobody.total.figures["online_s"] == 0.0


async def test_empty_days_are_rows_of_zeros(store: Store) -> None:
    await seed(store)
    report = await store.report(ReportQuery(date(2026, 4, 1), date(2026, 4, 2), "Europe/Paris", "day"), now=NOW)
    assert [r.key for r in report.rows] == ["2026-04-01", "2026-04-02"]
    for r in (*report.rows, report.total):
        assert r.figures == F(0, 0, 0, 0, N, N, 0, N, N, N, N, N, N, N, N, N, N, N, 0, 0.0, N, 0)


async def test_unanswered_requests(store: Store) -> None:
    w = await seed(store)
    since, until = t(27, 23), t(30, 22)
    found = await store.unanswered_requests(since=since, until=until)
    assert [(u.visitor_name, u.status, u.cancelled, u.wait_s, u.queue_name) for u in found] == [
        ("Eve", "expired", False, 600.0, "Billing"),
        ("Dan", "abandoned", False, 120.0, "Billing"),
        ("Carla", "abandoned", True, 40.0, "Main"),
    ]
    names = lambda hits: [u.visitor_name for u in hits]  # noqa: E731
    assert names(await store.unanswered_requests(since=since, until=until, status="cancelled")) == ["Carla"]
    assert names(await store.unanswered_requests(since=since, until=until, status="abandoned")) == ["Dan", "Carla"]
    assert names(await store.unanswered_requests(since=since, until=until, status="expired")) == ["Eve"]
    assert names(await store.unanswered_requests(since=since, until=until, queue_ids=frozenset({w.main.id}))) == ["Carla"]
    assert names(await store.unanswered_requests(since=since, until=until, words=("printer", "jams"))) == ["Carla"]
    assert names(await store.unanswered_requests(since=since, until=until, words=("100%",))) == ["Dan"]
    assert names(await store.unanswered_requests(since=since, until=until, words=("eve@example",))) == ["Eve"]
    assert names(await store.unanswered_requests(since=since, until=until, words=("%",))) == ["Dan"]
    assert names(await store.unanswered_requests(since=since, until=until, limit=1, offset=1)) == ["Dan"]
    assert await store.unanswered_requests(since=t(28, 12, 1), until=t(28, 23)) == []


@pytest.mark.parametrize("group", ["day", "week", "queue", "rep"])
async def test_a_year_of_days(store: Store, group: str) -> None:
    """366 periods (the longest report) in one statement per figure set; the
    total over the year is the total of the few days with data."""
    await seed(store)
    year = await store.report(ReportQuery(date(2025, 3, 30), LAST, "Europe/Paris", group), now=NOW)  # type: ignore[arg-type]
    days = await store.report(ReportQuery(date(2026, 3, 27), LAST, "Europe/Paris", "day"), now=NOW)
    assert year.total.figures == days.total.figures
    assert days.total.figures["requests"] == 10 and days.total.figures["rating_count"] == 4
    if group == "day":
        assert len(year.rows) == 366 and year.rows[-3:] == days.rows[-3:]
