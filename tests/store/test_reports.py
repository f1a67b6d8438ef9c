"""Reports on SQLite and PostgreSQL: requests, sessions, events, ratings and
presence seeded with known timings and outcomes over three days around the
Europe/Paris DST change (2026-03-29 has 23 hours there), and every figure of
FIGURES asserted exactly for day, week, queue and rep rows and the total, in
Paris and in UTC; the CSV is compared with a literal."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import insert, update

from desklink.reports import FIGURE_NAMES, Report, ReportQuery, as_csv
from desklink.store import Queue, Store, User
from desklink.store.models import PresenceRow, SessionRow

from ._helpers import make_queue, make_user, token_hash

NOW = datetime(2026, 3, 30, 10, 0, tzinfo=UTC)
FIRST, LAST = date(2026, 3, 28), date(2026, 3, 30)


def t(day: int, hh: int, mm: int = 0, ss: int = 0) -> datetime:
    return datetime(2026, 3, day, hh, mm, ss, tzinfo=UTC)


@dataclass
class World:
    ann: User
    bob: User
    main: Queue
    billing: Queue


async def _request(store: Store, queue: Queue, created: datetime, name: str = "Visitor", question: str = "help") -> str:
    req = await store.create_request(queue_id=queue.id, visitor_name=name, visitor_email=f"{name.lower()}@example.com",
                                     question=question, token_hash=token_hash(), ip="192.0.2.1",
                                     origin="https://example.com", now=created)
    return req.id


async def _answered(store: Store, queue: Queue, rep: User, created: datetime, wait: int, handle: int | None, *,
                    disposition: str | None = None, rating: int | None = None,
                    events: tuple[tuple[str, dict[str, object]], ...] = ()) -> str:
    rid = await _request(store, queue, created)
    session = await store.accept_request(rid, rep.id, created + timedelta(seconds=wait))
    assert session is not None
    for kind, data in events:
        await store.add_event(request_id=rid, kind=kind, actor="rep", data=data,  # type: ignore[arg-type]
                              now=created + timedelta(seconds=wait + 1))
    if handle is not None:
        ended = await store.end_session(session.id, ended_by="rep", disposition=disposition, note="",
                                        now=session.started_at + timedelta(seconds=handle))
        assert ended is not None
    if rating is not None:
        async with store._write() as conn:
            await conn.execute(update(SessionRow).where(SessionRow.id == session.id).values(rating=rating))
    return rid


async def _closed(store: Store, queue: Queue, created: datetime, after: int, event: str, actor: str,
                  name: str = "Visitor", question: str = "help") -> str:
    rid = await _request(store, queue, created, name, question)
    closed = await store.close_request(rid, event, created + timedelta(seconds=after))  # type: ignore[arg-type]
    assert closed is not None
    await store.add_event(request_id=rid, kind="expired" if event == "expire" else "abandoned",  # type: ignore[arg-type]
                          actor=actor, data={}, now=created + timedelta(seconds=after))  # type: ignore[arg-type]
    return rid


async def _presence(store: Store, user: User, start: datetime, seen: datetime, ended: datetime | None) -> None:
    async with store._write() as conn:
        await conn.execute(insert(PresenceRow).values(user_id=user.id, node="n1", started_at=start, seen_at=seen,
                                                      ended_at=ended))


async def seed(store: Store) -> World:
    ann, bob = await make_user(store, "ann"), await make_user(store, "bob")
    main, billing = await make_queue(store, "main"), await make_queue(store, "billing")
    await store.set_queue_members(main.id, [ann.id, bob.id])
    await store.set_queue_members(billing.id, [bob.id])
    shared = ("sharing_started", {})
    control = ("privilege_granted", {"privilege": "control"})
    # Paris 28 March (UTC+1)
    await _answered(store, main, ann, t(28, 9), 30, 600, disposition="resolved", rating=5, events=(shared,))
    await _answered(store, main, bob, t(28, 10), 90, 300, disposition="not_resolved", rating=3,
                    events=(("privilege_granted", {"privilege": "view"}), control, shared))
    await _closed(store, main, t(28, 11), 40, "cancel", "visitor", "Carla", "Printer JAMS")
    await _closed(store, billing, t(28, 12), 120, "abandon", "system", "Dan", "invoice 100% wrong")
    # 23:30 UTC: still the 28th in UTC, already the 29th in Paris
    await _closed(store, billing, t(28, 23, 30), 600, "expire", "system", "Eve", "refund")
    # Paris 29 March (23 hours: UTC+1 until 01:00 UTC, then UTC+2)
    await _answered(store, billing, bob, t(29, 8), 10, 1200, disposition="escalated",
                    events=(("file_offered", {"name": "log.txt"}),))
    # a session across Paris midnight (22:00 UTC), ended by the visitor without a disposition
    await _answered(store, main, ann, t(29, 21, 30), 20, 3600)
    # Paris 30 March: one session still open at NOW, one inside it
    await _answered(store, main, ann, t(30, 9), 60, None)
    await _answered(store, main, ann, t(30, 9, 10), 5, 600, disposition="resolved", rating=4)
    # presence: two overlapping consoles of ann (counted once), a stretch across
    # midnight, an open stretch counted to its seen_at
    await _presence(store, ann, t(28, 8), t(28, 12), t(28, 12))
    await _presence(store, ann, t(28, 11), t(28, 13), t(28, 13))
    await _presence(store, ann, t(29, 21), t(30, 1), t(30, 1))
    await _presence(store, ann, t(30, 8, 30), t(30, 9, 30), None)
    await _presence(store, bob, t(28, 9, 30), t(28, 11), t(28, 11))
    await _presence(store, bob, t(29, 7), t(29, 9), t(29, 9))
    # before the range: not counted anywhere
    await _answered(store, main, ann, t(27, 12), 5, 60, disposition="resolved", rating=1)
    await _presence(store, ann, t(27, 8), t(27, 9), t(27, 9))
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
