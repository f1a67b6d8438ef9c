"""desklink.reports without a database: periods with the zone's real
offsets, the query's limits, and the CSV's cells."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from desklink.errors import ProtocolError
from desklink.reports import (
    FIGURE_NAMES,
    MAX_REPORT_DAYS,
    Report,
    ReportQuery,
    ReportRow,
    as_csv,
    day_buckets,
    safe_cell,
    week_buckets,
    zone,
)


def test_a_dst_day_has_its_real_length() -> None:
    paris = zone("Europe/Paris")
    spring = day_buckets(date(2026, 3, 28), date(2026, 3, 30), paris)
    assert [b.end - b.start for b in spring] == [timedelta(hours=24), timedelta(hours=23), timedelta(hours=24)]
    assert spring[1].start == datetime(2026, 3, 28, 23, tzinfo=UTC) and spring[1].end == datetime(2026, 3, 29, 22, tzinfo=UTC)
    autumn = day_buckets(date(2026, 10, 25), date(2026, 10, 25), paris)
    assert autumn[0].end - autumn[0].start == timedelta(hours=25)
    assert all(a.end == b.start for a, b in zip(spring, spring[1:], strict=False))


def test_weeks_are_iso_weeks_clipped_to_the_range() -> None:
    weeks = week_buckets(date(2026, 3, 28), date(2026, 4, 14), zone("UTC"))
    assert [(w.key, w.label) for w in weeks] == [
        ("2026-W13", "2026-W13 (2026-03-28)"), ("2026-W14", "2026-W14 (2026-03-30)"),
        ("2026-W15", "2026-W15 (2026-04-06)"), ("2026-W16", "2026-W16 (2026-04-13)"),
    ]
    assert weeks[0].end - weeks[0].start == timedelta(days=2) and weeks[-1].end == datetime(2026, 4, 15, tzinfo=UTC)


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"first": date(2026, 3, 2), "last": date(2026, 3, 1)}, "ends before it starts"),
        ({"first": date(2025, 1, 1), "last": date(2025, 1, 1) + timedelta(days=MAX_REPORT_DAYS)}, "at most 366 days"),
        ({"first": date(2026, 3, 1), "last": date(2026, 3, 1), "tz": "Mars/Olympus"}, "unknown time zone"),
        ({"first": date(2026, 3, 1), "last": date(2026, 3, 1), "group": "month"}, "group must be one of"),
    ],
)
def test_a_bad_query_is_refused_with_words(kwargs: dict[str, object], words: str) -> None:
    with pytest.raises(ProtocolError, match=words):
        ReportQuery(**kwargs)  # type: ignore[arg-type]


def test_the_longest_query_is_a_year_of_days() -> None:
    q = ReportQuery(date(2025, 1, 1), date(2025, 1, 1) + timedelta(days=MAX_REPORT_DAYS - 1), "Europe/Paris")
    assert len(q.buckets()) == MAX_REPORT_DAYS == 366


def test_csv_cells_never_run_as_formulas() -> None:
    assert [safe_cell(s) for s in ("=1+1", "+1", "-2", "@x", "\tx", "plain")] == [
        "'=1+1", "'+1", "'-2", "'@x", "'\tx", "plain"]
    figures = dict.fromkeys(FIGURE_NAMES, None) | {"requests": 3, "wait_p50": 12.5, "screen_rate": 1 / 3, "online_s": 60.0}
    row = ReportRow("7", '=HYPERLINK("x")', figures)
    text = as_csv(Report(ReportQuery(date(2026, 3, 1), date(2026, 3, 1), group="queue"), (row,), ReportRow("total", "Total", figures)))
    lines = text.split("\r\n")
    assert lines[1].startswith("7,\"'=HYPERLINK(\"\"x\"\")\",3,,,,,,,12.5,,,,0.3333,")
    assert lines[1].endswith(",,,,60,,") and lines[-1] == ""
