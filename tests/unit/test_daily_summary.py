"""The daily summary's pure parts: when it is due, how figures read, the
table's alignment, the message's shape, and the settings' checks."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, date, datetime

import pytest

from desklink.config import Settings
from desklink.errors import ConfigError
from desklink.reports import FIGURES, Report, ReportQuery, ReportRow, as_csv
from desklink.server import daily_summary as summary

FIG = {f.name: f for f in FIGURES}


def _settings(**kw: object) -> Settings:
    base = Settings(smtp_host="127.0.0.1", daily_summary_to=("ops@example.com", "lead@example.com"))
    return dataclasses.replace(base, **kw)  # type: ignore[arg-type]


def test_due_from_the_hour_in_the_zone() -> None:
    s = _settings(daily_summary_hour=7, daily_summary_tz="Europe/Paris")
    # 05:59 UTC is 06:59 in Paris (winter): not yet; 06:00 UTC is 07:00 there.
    assert summary.due_day(datetime(2026, 12, 4, 5, 59, tzinfo=UTC), s) is None
    assert summary.due_day(datetime(2026, 12, 4, 6, 0, tzinfo=UTC), s) == date(2026, 12, 3)
    # Late the same evening it is still yesterday's; past local midnight the next day waits for its hour.
    assert summary.due_day(datetime(2026, 12, 4, 22, 59, tzinfo=UTC), s) == date(2026, 12, 3)
    assert summary.due_day(datetime(2026, 12, 4, 23, 0, tzinfo=UTC), s) is None  # 00:00 on the 5th in Paris
    midnight = _settings(daily_summary_hour=0, daily_summary_tz="Pacific/Auckland")
    assert summary.due_day(datetime(2026, 12, 4, 11, 0, tzinfo=UTC), midnight) == date(2026, 12, 4)


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("requests", 12, "12"),
        ("wait_p50", 42.4, "42 s"),
        ("wait_p90", 245, "4 min 05 s"),
        ("handle_p90", 7380.0, "2 h 03 min"),
        ("screen_rate", 0.425, "42.5 %"),
        ("resolved_rate", 1.0, "100.0 %"),
        ("load_avg", 1.5, "1.50"),
        ("rating_avg", 3.5, "3.50"),
        ("wait_p50", None, "-"),
        ("rating_avg", None, "-"),
    ],
)
def test_values_read_with_units(name: str, value: object, words: str) -> None:
    assert summary.format_value(FIG[name], value) == words  # type: ignore[arg-type]


def _report(queues: int) -> Report:
    query = ReportQuery(first=date(2026, 12, 3), last=date(2026, 12, 3), tz="Europe/Paris", group="queue")
    values = {f.name: (3 if f.unit == "count" else 61.0 if f.unit == "seconds" else 0.5) for f in FIGURES}
    rows = tuple(ReportRow(str(i), f"Queue  number {i} with a long name", values) for i in range(queues))
    return Report(query, rows, ReportRow("total", "Total", values))


def test_the_table_is_aligned_and_split_in_blocks() -> None:
    text = summary.table(_report(6))
    blocks = text.split("\n\n")
    assert len(blocks) == 2  # the total and six queues: five columns, then two
    for block in blocks:
        lines = block.split("\n")
        assert len(lines) == 1 + len(FIGURES)
        assert max(len(line) for line in lines) <= summary.LABEL_WIDTH + summary.COLUMNS_PER_BLOCK * summary.COLUMN_WIDTH
        for line, figure in zip(lines[1:], FIGURES, strict=True):
            label, *cells = re.split(r"\s{2,}", line)
            assert label == figure.label
            assert all(c == summary.format_value(figure, 3 if figure.unit == "count" else 61.0 if figure.unit == "seconds" else 0.5) for c in cells)
    header = blocks[0].split("\n")[0]
    assert re.split(r"\s{2,}", header.strip())[0] == "Total"
    assert "Queue numbe…" in header and "  " not in "Queue numbe…"  # spaces collapsed, cut to the column


def test_the_message() -> None:
    s = _settings(smtp_from="DeskLink <desk@example.com>", provider_name="Acme Support", daily_summary_tz="Europe/Paris")
    report = _report(2)
    msg = summary.compose(report, s, date(2026, 12, 3))
    assert msg["From"] == "DeskLink <desk@example.com>"
    assert msg["To"] == "ops@example.com, lead@example.com"
    assert msg["Subject"] == "Acme Support: support summary for Thu 2026-12-03"
    body = msg.get_body(("plain",))
    assert body is not None and "Support summary for Thursday 2026-12-03 (Europe/Paris)" in body.get_content()
    [attachment] = list(msg.iter_attachments())
    assert attachment.get_filename() == "desklink-summary-2026-12-03.csv"
    assert attachment.get_content_type() == "text/csv"
    assert attachment.get_payload(decode=True) == as_csv(report).encode()


def test_off_unless_host_and_recipients() -> None:
    assert summary.enabled(_settings())
    assert not summary.enabled(_settings(smtp_host=""))
    assert not summary.enabled(_settings(daily_summary_to=()))


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"DESKLINK_DAILY_SUMMARY_HOUR": "24"}, "daily_summary_hour"),
        ({"DESKLINK_DAILY_SUMMARY_HOUR": "-1"}, "daily_summary_hour"),
        ({"DESKLINK_DAILY_SUMMARY_TZ": "Mars/Olympus"}, "daily_summary_tz"),
        ({"DESKLINK_DAILY_SUMMARY_TO": "ops@example.com, not an address"}, "daily_summary_to"),
        ({"DESKLINK_SMTP_PORT": "70000"}, "smtp_port"),
        ({"DESKLINK_DAILY_SUMMARY_RETRY_S": "0"}, "daily_summary_retry_s"),
        ({"DESKLINK_RATING_WINDOW_S": "0"}, "rating_window_s"),
        ({"DESKLINK_MAX_RATING_COMMENT_CHARS": "-5"}, "max_rating_comment_chars"),
    ],
)
def test_bad_settings_stop_the_start(env: dict[str, str], words: str) -> None:
    with pytest.raises(ConfigError) as refused:
        Settings.from_env(env)
    assert words in refused.value.message


def test_settings_from_the_environment() -> None:
    s = Settings.from_env(
        {"DESKLINK_DAILY_SUMMARY_TO": "a@example.com, b@example.com", "DESKLINK_DAILY_SUMMARY_HOUR": "0",
         "DESKLINK_SMTP_STARTTLS": "no", "DESKLINK_SMTP_HOST": "mail.example.com"}
    )
    assert s.daily_summary_to == ("a@example.com", "b@example.com")
    assert Settings.from_env({"DESKLINK_DAILY_SUMMARY_HOUR": "23"}).daily_summary_hour == 23
    assert (s.daily_summary_hour, s.smtp_starttls, s.smtp_port) == (0, False, 587)
