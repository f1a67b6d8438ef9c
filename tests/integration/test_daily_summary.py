"""The daily summary e-mail on a real server, to a real SMTP server (aiosmtpd
on loopback, started here): sessions with known outcomes are seeded for
yesterday; the schedule (its hour set to now) and ``desklink admin
send-summary`` each send one message whose To/From/Subject, every figure of
the body and the attached CSV match ``store.report`` exactly. A mail server
that is down is logged clearly and tried again, and the node keeps serving;
two nodes sharing Redis send one message between them."""

from __future__ import annotations

import asyncio
import re
import secrets
import ssl
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from argon2 import PasswordHasher

from desklink.reports import FIGURES, ReportQuery, as_csv
from desklink.server import daily_summary as summary
from desklink.store import Store
from desklink.testing_mail import Inbox
from desklink.testing import ONE_ADDRESS_ENV, ServerProcess, free_port, poll_until

TZ = "Europe/Paris"
FROM = "DeskLink <desklink@example.com>"
TO = ("ops@example.com", "lead@example.com")
SMTP_USER, SMTP_PASSWORD = "desklink", "smtp secret"
ADMIN_PASSWORD = "a long admin password"


def _authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        SMTP_USER.encode(),
        SMTP_PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (the SMTP server's), made by
    OpenSSL; the DeskLink processes trust it through ``SSL_CERT_FILE``."""
    folder = tmp_path_factory.mktemp("smtp-tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=60,
    )
    return cert, key


class SMTPServer:
    """aiosmtpd on 127.0.0.1 (its own thread and loop) as a mail relay wants
    it: STARTTLS first, then a login, then the message."""

    def __init__(self, port: int, certificate: tuple[Path, Path]) -> None:
        self.port = port
        self.inbox = Inbox()
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(*certificate)
        self.controller = Controller(
            self.inbox, hostname="127.0.0.1", port=port, authenticator=_authenticate, auth_required=True,
            tls_context=tls, require_starttls=True,
        )

    def __enter__(self) -> SMTPServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


@dataclass
class Seeded:
    data_dir: Path
    url: str
    day: date


def _local(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=ZoneInfo(TZ)).astimezone(UTC)


async def _seed(url: str, day: date) -> None:
    """Two queues, two reps and an admin; on ``day`` (in Paris): in Billing
    a session resolved and rated 5, one not resolved and rated 2, a request
    cancelled after 60 s; in Tech support one escalated, unrated, and one
    request that expired. One more the day after, which must not count."""
    store = await Store.open(url)
    try:
        hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
        await store.create_user("admin", "Admin", "admin", hasher.hash(ADMIN_PASSWORD), _local(day, 8))
        rita = await store.create_user("rita", "Rita", "rep", "x", _local(day, 8))
        sam = await store.create_user("sam", "Sam", "rep", "x", _local(day, 8))
        billing = await store.create_queue("billing", "Billing", [], _local(day, 8))
        tech = await store.create_queue("tech", "Tech support", [], _local(day, 8))

        async def request(queue_id: int, at: datetime) -> str:
            req = await store.create_request(
                queue_id=queue_id, visitor_name="V", visitor_email="", question="?", token_hash=secrets.token_hex(32),
                ip="192.0.2.1", origin="", now=at,
            )
            return req.id

        async def session(queue_id: int, rep_id: int, at: datetime, wait: int, handle: int, disposition: str, rating: int | None) -> None:
            rid = await request(queue_id, at)
            s = await store.accept_request(rid, rep_id, at + timedelta(seconds=wait))
            assert s is not None
            end = at + timedelta(seconds=wait + handle)
            await store.end_session(s.id, ended_by="rep", disposition=disposition, note="", now=end)
            if rating is not None:
                await store.rate_session(s.id, rating=rating, comment="", window_s=86400, now=end + timedelta(seconds=30))

        await session(billing.id, rita.id, _local(day, 10), 30, 600, "resolved", 5)
        await session(billing.id, sam.id, _local(day, 11), 120, 1200, "not_resolved", 2)
        cancelled = await request(billing.id, _local(day, 12))
        assert await store.close_request(cancelled, "cancel", _local(day, 12, 1)) is not None
        await store.add_event(request_id=cancelled, kind="abandoned", actor="visitor", data={}, now=_local(day, 12, 1))
        await session(tech.id, rita.id, _local(day, 14), 60, 300, "escalated", None)
        expired = await request(tech.id, _local(day, 15))
        assert await store.close_request(expired, "expire", _local(day, 15, 30)) is not None
        await store.add_event(request_id=expired, kind="expired", actor="system", data={}, now=_local(day, 15, 30))
        await session(billing.id, sam.id, _local(day + timedelta(days=1), 0, 30), 10, 60, "resolved", 4)
    finally:
        await store.close()


def _yesterday() -> date:
    return datetime.now(ZoneInfo(TZ)).date() - timedelta(days=1)


@pytest.fixture
def seeded(tmp_path: Path) -> Seeded:
    day = _yesterday()
    url = f"sqlite+aiosqlite:///{tmp_path / 'desklink.db'}"
    asyncio.run(_seed(url, day))
    return Seeded(tmp_path, url, day)


def _env(smtp_port: int, certificate: tuple[Path, Path], **extra: str) -> dict[str, str]:
    return {
        **ONE_ADDRESS_ENV,
        "SSL_CERT_FILE": str(certificate[0]),
        "DESKLINK_SMTP_HOST": "127.0.0.1",
        "DESKLINK_SMTP_PORT": str(smtp_port),
        "DESKLINK_SMTP_STARTTLS": "yes",
        "DESKLINK_SMTP_USERNAME": SMTP_USER,
        "DESKLINK_SMTP_PASSWORD": SMTP_PASSWORD,
        "DESKLINK_SMTP_FROM": FROM,
        "DESKLINK_DAILY_SUMMARY_TO": ", ".join(TO),
        "DESKLINK_DAILY_SUMMARY_TZ": TZ,
        # "now": the hour the clock shows in Paris (an hour passing meanwhile only makes it more due)
        "DESKLINK_DAILY_SUMMARY_HOUR": str(datetime.now(ZoneInfo(TZ)).hour),
        "DESKLINK_DAILY_SUMMARY_RETRY_S": "0.5",
        "DESKLINK_PROVIDER_NAME": "Acme Support",
        **extra,
    }


def _reports(url: str, day: date) -> tuple[Any, Any]:
    """What the store says: ``day`` by queue, and the seven days ending with it by day."""

    async def run() -> tuple[Any, Any]:
        store = await Store.open(url)
        try:
            by_queue = await store.report(ReportQuery(first=day, last=day, tz=TZ, group="queue"))
            by_day = await store.report(ReportQuery(first=day - timedelta(days=6), last=day, tz=TZ, group="day"))
            return by_queue, by_day
        finally:
            await store.close()

    return asyncio.run(run())


def _sections(body: str) -> tuple[str, str]:
    """The body's two tables: the day by queue, the last seven days by day."""
    body = body.replace("\r\n", "\n")
    day_part = body.split(f"\n{summary.DAY_HEADING}\n", 1)[1]
    day_part, week_part = day_part.split(f"\n{summary.WEEK_HEADING}\n", 1)
    return day_part, week_part.split("\nWhat the figures mean:", 1)[0]


def _table(section: str) -> tuple[list[str], dict[str, list[str]]]:
    """A table: its column headings, and each figure's label -> its cells
    (the blocks of columns joined)."""
    rows: dict[str, list[str]] = {}
    headings: list[str] = []
    labels = {f.label for f in FIGURES}
    lines = section.splitlines()
    for i, line in enumerate(lines):
        label, *cells = re.split(r"\s{2,}", line.strip())
        if label in labels and cells:
            rows.setdefault(label, []).extend(cells)
        if label == FIGURES[0].label and i > 0:
            headings += re.split(r"\s{2,}", lines[i - 1].strip())
    return headings, rows


def _check_table(section: str, report: Any) -> dict[str, list[str]]:
    headings, table = _table(section)
    columns = [report.total, *report.rows]
    assert headings == [c.label[: summary.COLUMN_WIDTH - 2] for c in columns]
    assert set(table) == {f.label for f in FIGURES}
    for figure in FIGURES:
        assert table[figure.label] == [summary.format_value(figure, c.figures.get(figure.name)) for c in columns], figure.name
    return table


def _check_message(msg: EmailMessage, url: str, day: date, to: tuple[str, ...] = TO) -> dict[str, list[str]]:
    """Check the headers, both tables cell by cell and both CSV files byte
    for byte against ``store.report``; returns the day's table."""
    assert msg["From"] == FROM
    assert msg["To"] == ", ".join(to)
    assert msg["Subject"] == f"Acme Support: support summary for {day:%a} {day.isoformat()}"
    by_queue, by_day = _reports(url, day)
    text = msg.get_body(("plain",))
    assert text is not None
    body = text.get_content()
    assert f"Support summary for {day:%A} {day.isoformat()} ({TZ})" in body
    day_part, week_part = _sections(body)
    table = _check_table(day_part, by_queue)
    week = _check_table(week_part, by_day)
    assert len(week["Requests"]) == 1 + 7
    first = day - timedelta(days=6)
    attachments = {a.get_filename(): a for a in msg.iter_attachments()}
    assert set(attachments) == {f"desklink-summary-{day.isoformat()}.csv", f"desklink-days-{first}-to-{day}.csv"}
    for name, report in ((f"desklink-summary-{day.isoformat()}.csv", by_queue), (f"desklink-days-{first}-to-{day}.csv", by_day)):
        assert attachments[name].get_content_type() == "text/csv"
        payload = attachments[name].get_payload(decode=True)
        assert isinstance(payload, bytes) and payload.decode("utf-8") == as_csv(report)
    return table


def test_the_schedule_and_the_cli_send_yesterdays_figures(seeded: Seeded, certificate: tuple[Path, Path]) -> None:
    port = free_port()
    with SMTPServer(port, certificate) as smtp, ServerProcess(data_dir=seeded.data_dir, env=_env(port, certificate)) as server:
        # The schedule: the hour is now, so yesterday's summary goes out on its own.
        poll_until(lambda: smtp.inbox.messages(), timeout=30, what="the scheduled summary")
        mail_from, rcpts, msg = smtp.inbox.received[0]
        assert (mail_from, rcpts) == ("desklink@example.com", list(TO))
        table = _check_message(msg, seeded.url, seeded.day)

        # The figures themselves, known from the seed (not only "as the report says").
        total = {label: cells[0] for label, cells in table.items()}
        assert (total["Requests"], total["Answered"], total["Abandoned"], total["Cancelled"], total["Expired"]) == (
            "5", "3", "1", "1", "1"
        )
        assert (total["Wait p50"], total["Wait p90"]) == ("1 min 00 s", "2 min 00 s")
        assert (total["Handle p50"], total["Handle p90"]) == ("10 min 00 s", "20 min 00 s")
        assert (total["Resolved"], total["Escalated"], total["Rating"], total["Ratings"]) == ("33.3 %", "33.3 %", "3.50", "2")
        assert table["Requests"][1:] == ["3", "2"]  # Billing, Tech support

        # The operator's command sends it again, now, and another day to someone else.
        env = {**server.env, "DESKLINK_DAILY_SUMMARY_HOUR": "23"}
        cli = [sys.executable, "-m", "desklink", "admin", "--data-dir", str(seeded.data_dir), "send-summary"]
        done = subprocess.run([*cli, "--date", seeded.day.isoformat()], env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == (
            f"sent the summary for {seeded.day} ({TZ}) to {', '.join(TO)} through 127.0.0.1:{port}"
        )
        assert len(smtp.inbox.messages()) == 2
        _check_message(smtp.inbox.messages()[1], seeded.url, seeded.day)
        today = seeded.day + timedelta(days=1)
        done = subprocess.run(
            [*cli, "--date", today.isoformat(), "--to", "boss@example.com"], env=env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        third = smtp.inbox.messages()[2]
        assert _check_message(third, seeded.url, today, to=("boss@example.com",))["Requests"] == ["1", "1"]

        # Bad input to the command: a clear sentence, nothing sent.
        bad = subprocess.run([*cli, "--date", "yesterday"], env=env, capture_output=True, text=True, timeout=60)
        assert bad.returncode == 2 and "is not a date like 2026-12-03" in bad.stderr
        off = {k: v for k, v in env.items() if k != "DESKLINK_SMTP_HOST"}
        bad = subprocess.run(cli, env=off, capture_output=True, text=True, timeout=60)
        assert bad.returncode == 2 and "set DESKLINK_SMTP_HOST" in bad.stderr
        assert len(smtp.inbox.messages()) == 3

        # The schedule sent once: its metrics say so.
        metrics = server.metrics()
        assert "desklink_daily_summary_sent 1" in metrics and "desklink_daily_summary_days_done 1" in metrics


def test_smtp_down_is_logged_retried_and_harmless(seeded: Seeded, certificate: tuple[Path, Path]) -> None:
    port = free_port()  # nothing listens there yet
    with ServerProcess(data_dir=seeded.data_dir, env=_env(port, certificate)) as server:
        failed = f"daily summary for {seeded.day} could not be sent through the SMTP server 127.0.0.1:{port}: "
        poll_until(lambda: sum(failed in line for line in server.output) >= 2, timeout=30, what="two failed tries logged")
        line = next(line for line in server.output if failed in line)
        assert "trying again in 0.5 s (try 1 of 18)" in line
        assert httpx.get(server.url + "/healthz", timeout=10).status_code == 200
        # The mail server comes up: the next try delivers, once.
        with SMTPServer(port, certificate) as smtp:
            poll_until(lambda: smtp.inbox.messages(), timeout=30, what="the summary after the outage")
            _check_message(smtp.inbox.messages()[0], seeded.url, seeded.day)
        assert server.proc is not None and server.proc.poll() is None
        assert httpx.get(server.url + "/healthz", timeout=10).status_code == 200


def test_a_wrong_smtp_password_is_given_up_after_the_tries(seeded: Seeded, certificate: tuple[Path, Path]) -> None:
    port = free_port()
    env = _env(port, certificate, DESKLINK_SMTP_PASSWORD="wrong", DESKLINK_DAILY_SUMMARY_MAX_TRIES="2")
    with SMTPServer(port, certificate) as smtp, ServerProcess(data_dir=seeded.data_dir, env=env) as server:
        gave_up = f"daily summary for {seeded.day} NOT sent: the SMTP server 127.0.0.1:{port} failed 2 times"
        poll_until(lambda: any(gave_up in line for line in server.output), timeout=30, what="giving up logged")
        line = next(line for line in server.output if gave_up in line)
        assert "the server answered 535" in line and f"desklink admin send-summary --date {seeded.day}" in line
        assert smtp.inbox.messages() == []
        assert httpx.get(server.url + "/healthz", timeout=10).status_code == 200


@pytest.fixture
def pg_seeded(pg_database_url: str, tmp_path: Path) -> Seeded:
    day = _yesterday()
    asyncio.run(_seed(pg_database_url, day))
    return Seeded(tmp_path, pg_database_url, day)


@pytest.fixture
def two_nodes(
    pg_seeded: Seeded, certificate: tuple[Path, Path], redis_url: str, broker_prefix: str
) -> Iterator[tuple[SMTPServer, ServerProcess, ServerProcess]]:
    """Two nodes on one PostgreSQL database and one Redis, as deployed."""
    port = free_port()
    env = _env(
        port, certificate, DESKLINK_REDIS_URL=redis_url, DESKLINK_BROKER_PREFIX=broker_prefix,
        DESKLINK_DATABASE_URL=pg_seeded.url,
    )
    with SMTPServer(port, certificate) as smtp:
        with ServerProcess(env=env, data_dir=pg_seeded.data_dir / "a") as a, ServerProcess(env=env, data_dir=pg_seeded.data_dir / "b") as b:
            yield smtp, a, b


def _metric(server: ServerProcess, name: str) -> int:
    m = re.search(rf"^desklink_daily_summary_{name} (\d+)$", server.metrics(), re.M)
    assert m is not None
    return int(m.group(1))


@pytest.mark.redis
@pytest.mark.pg
def test_two_nodes_send_one_message(two_nodes: tuple[SMTPServer, ServerProcess, ServerProcess], pg_seeded: Seeded) -> None:
    smtp, a, b = two_nodes
    poll_until(lambda: smtp.inbox.messages(), timeout=30, what="the summary")
    # Both nodes know the day is done (one sent it, the other saw the claim).
    poll_until(lambda: _metric(a, "days_done") == 1 and _metric(b, "days_done") == 1, timeout=30, what="both nodes done")
    assert _metric(a, "sent") + _metric(b, "sent") == 1
    assert len(smtp.inbox.messages()) == 1
    _check_message(smtp.inbox.messages()[0], pg_seeded.url, pg_seeded.day)
