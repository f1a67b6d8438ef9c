"""The daily summary e-mail: yesterday's report, per queue and in total, and
the last seven days day by day, as aligned plain-text tables with the
reports' CSV attached, sent through the configured SMTP server.

Theory of operation
-------------------
The summary is made of exactly what the reports are made of:
``store.report(ReportQuery(day, day, daily_summary_tz, "queue"))`` (and the
same over the seven days ending with it, ``group="day"``) and
:func:`desklink.reports.as_csv`, so the e-mail, the admin center's charts
and a CSV export of the same day can never disagree. The body shows the
figures with units for people (``4 min 05 s``, ``42.5 %``); the attachment
holds the same numbers as the reports' CSV (seconds, fractions).

Sending goes through :mod:`desklink.server.mail` (the standard library's
:mod:`smtplib` on a worker thread), the sender the offline messages use too.

When: :class:`DailySummary` runs on every node and checks every
``min(60 s, daily_summary_retry_s)``. From ``daily_summary_hour`` (local, in
``daily_summary_tz``) yesterday's summary is due. Several nodes send it once
between them through the broker (the claims below are keyed by the date):

* ``daily-summary:sent:<date>``: present once it went out (or was given up);
  every node then leaves that date alone.
* ``daily-summary:sending:<date>``: the one node sending right now; the
  others wait for its outcome.
* ``daily-summary:tries:<date>``: sends tried, shared by all nodes.

A failed send is logged as a warning with the SMTP server and the reason, and
tried again ``daily_summary_retry_s`` later (by whichever node gets there
first), at most ``daily_summary_max_tries`` times; then an error line says it
was given up. Nothing here ever stops the node: every failure is logged and
the loop goes on. A mail server may accept a message and then lose the
connection before saying so; that day's summary is then sent twice, which is
better than not at all.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Final

from desklink.broker.base import BROKER_ERRORS, Broker
from desklink.config import Settings
from desklink.reports import FIGURES, Figure, Group, Report, ReportQuery, Value, as_csv, zone
from desklink.server import mail
from desklink.server.mail import SEND_ERRORS, reason, where
from desklink.store import Store

log = logging.getLogger("desklink.summary")

#: The day's table: one column per queue (plus the total).
GROUP: Final[Group] = "queue"
#: The second table: one column per day, the summary's day the last of them.
WEEK_DAYS = 7
#: How often the schedule looks at the clock at most, seconds.
CHECK_S = 60.0
#: The claims of a date outlive the day by far.
DONE_TTL_S = 3 * 24 * 3600.0
#: Widths of the body's table, characters: the figure's label, then each column.
LABEL_WIDTH = 22
COLUMN_WIDTH = 14
#: Value columns per block of the table (the total and up to four queues),
#: so a line stays under about 90 characters whatever the number of queues.
COLUMNS_PER_BLOCK = 5
def enabled(settings: Settings) -> bool:
    """The summary is sent only when both a mail server and recipients are set."""
    return bool(settings.smtp_host and settings.daily_summary_to)


def due_day(now: datetime, settings: Settings) -> date | None:
    """The day whose summary is due at ``now``: yesterday in
    ``daily_summary_tz`` once its clock has reached ``daily_summary_hour``,
    else ``None``."""
    local = now.astimezone(zone(settings.daily_summary_tz))
    if local.hour < settings.daily_summary_hour:
        return None
    return local.date() - timedelta(days=1)


def yesterday(now: datetime, settings: Settings) -> date:
    return now.astimezone(zone(settings.daily_summary_tz)).date() - timedelta(days=1)


# ------------------------------------------------------------------ the body
def _duration(seconds: float) -> str:
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {(s % 3600) // 60:02d} min"


def format_value(figure: Figure, value: Value) -> str:
    """One figure for people: counts as whole numbers, times as ``42 s``,
    ``4 min 05 s`` or ``2 h 03 min``, rates (``*_rate``) as percentages,
    other ratios and the rating with two decimals; ``-`` where there is
    nothing to measure (``None``)."""
    if value is None:
        return "-"
    if figure.unit == "count":
        return str(int(value))
    if figure.unit == "seconds":
        return _duration(float(value))
    if figure.unit == "ratio" and figure.name.endswith("_rate"):
        return f"{float(value) * 100:.1f} %"
    return f"{float(value):.2f}"


def _fit(text: str, width: int) -> str:
    """A label on one line of at most ``width - 2`` characters (two spaces
    always separate columns)."""
    text = " ".join(text.split())
    return text if len(text) <= width - 2 else text[: width - 3] + "…"


def table(report: Report) -> str:
    """The figures as an aligned table: one line per figure, one column for
    the total and one per queue, in blocks of :data:`COLUMNS_PER_BLOCK`."""
    columns = [report.total, *report.rows]
    blocks = []
    for at in range(0, len(columns), COLUMNS_PER_BLOCK):
        part = columns[at : at + COLUMNS_PER_BLOCK]
        lines = ["".ljust(LABEL_WIDTH) + "".join(_fit(c.label, COLUMN_WIDTH).ljust(COLUMN_WIDTH) for c in part)]
        for figure in FIGURES:
            cells = "".join(format_value(figure, c.figures.get(figure.name)).ljust(COLUMN_WIDTH) for c in part)
            lines.append(_fit(figure.label, LABEL_WIDTH).ljust(LABEL_WIDTH) + cells)
        blocks.append("\n".join(line.rstrip() for line in lines))
    return "\n\n".join(blocks)


def subject(settings: Settings, day: date) -> str:
    return f"{settings.provider_name}: support summary for {day:%a} {day.isoformat()}"


#: The heading of each table in the body (tests find the tables by them).
DAY_HEADING = "By queue"
WEEK_HEADING = f"The last {WEEK_DAYS} days, by day"


def body(report: Report, settings: Settings, day: date, week: Report | None = None) -> str:
    tz = settings.daily_summary_tz
    queues = len(report.rows)
    lines = [
        f"Support summary for {day:%A} {day.isoformat()} ({tz})",
        "",
        "Every figure counts the requests submitted in its period, whenever they",
        "ended; the reps' online time and load count the part of it they were online.",
        "",
        DAY_HEADING,
        f"(the day's total, then each queue that had requests: {queues})",
        "",
        table(report),
        "",
    ]
    if week is not None:
        lines += [
            WEEK_HEADING,
            f"({week.query.first.isoformat()} to {week.query.last.isoformat()}: the total, then each day)",
            "",
            table(week),
            "",
        ]
    lines += [
        "What the figures mean:",
        *(f"  {f.label}: {f.definition}" for f in FIGURES),
        "",
        "The attached CSV files hold the same figures as plain numbers (seconds,",
        "fractions), as the admin center's report export does.",
        "",
        f"-- {settings.provider_name} (DeskLink)",
    ]
    return "\n".join(lines) + "\n"


def csv_name(day: date) -> str:
    return f"desklink-summary-{day.isoformat()}.csv"


def week_csv_name(week: Report) -> str:
    return f"desklink-days-{week.query.first.isoformat()}-to-{week.query.last.isoformat()}.csv"


def compose(report: Report, settings: Settings, day: date, week: Report | None = None) -> EmailMessage:
    """The e-mail: ``From`` ``smtp_from``, ``To`` every ``daily_summary_to``,
    the plain-text body, the day's CSV and (with ``week``) the last days'
    CSV attached byte for byte."""
    msg = EmailMessage()
    msg["From"] = settings.smtp_from
    msg["To"] = ", ".join(settings.daily_summary_to)
    msg["Subject"] = subject(settings, day)
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = make_msgid("desklink-summary")
    msg.set_content(body(report, settings, day, week))
    msg.add_attachment(as_csv(report).encode("utf-8"), maintype="text", subtype="csv", filename=csv_name(day))
    if week is not None:
        msg.add_attachment(as_csv(week).encode("utf-8"), maintype="text", subtype="csv", filename=week_csv_name(week))
    return msg


# ------------------------------------------------------------------ sending
def queries(settings: Settings, day: date) -> tuple[ReportQuery, ReportQuery]:
    """The two reports of ``day``'s summary: that day by queue, and the
    :data:`WEEK_DAYS` days ending with it by day."""
    tz = settings.daily_summary_tz
    return (
        ReportQuery(first=day, last=day, tz=tz, group=GROUP),
        ReportQuery(first=day - timedelta(days=WEEK_DAYS - 1), last=day, tz=tz, group="day"),
    )


async def summary_for(store: Store, settings: Settings, day: date, *, now: datetime | None = None) -> EmailMessage:
    """The summary e-mail of ``day``, composed from ``store.report``."""
    by_queue, by_day = queries(settings, day)
    report = await store.report(by_queue, now=now)
    week = await store.report(by_day, now=now)
    return compose(report, settings, day, week)


async def send_summary(store: Store, settings: Settings, day: date, *, now: datetime | None = None) -> EmailMessage:
    """Compose and send the summary of ``day`` now; returns the message.
    Raises one of :data:`SEND_ERRORS` when sending failed."""
    msg = await summary_for(store, settings, day, now=now)
    await mail.send(msg, settings)
    return msg


# ------------------------------------------------------------------ the schedule
class DailySummary:
    """The schedule on one node (see the module's notes). :meth:`check` is
    one look at the clock; :meth:`run` loops over it and never raises."""

    def __init__(
        self,
        store: Store,
        broker: Broker,
        settings: Settings,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.broker = broker
        self.settings = settings
        self.clock = clock
        self.monotonic = monotonic
        self.node = "node-" + secrets.token_hex(6)
        #: Days this node knows are done (sent here or elsewhere, or given up).
        self.done: set[date] = set()
        #: No send before this (monotonic), after a failure here.
        self.next_try = 0.0
        #: Looks at the clock, summaries sent and failed sends on this node.
        self.checks = 0
        self.sent = 0
        self.failures = 0

    def statistics(self) -> dict[str, int]:
        """For ``/metrics``: checks made, summaries sent and sends failed
        here, and days this node knows are done (sent by any node, or
        given up)."""
        return {"checks": self.checks, "sent": self.sent, "failures": self.failures, "days_done": len(self.done)}

    @property
    def interval_s(self) -> float:
        return min(CHECK_S, self.settings.daily_summary_retry_s)

    async def run(self) -> None:
        if not enabled(self.settings):
            return
        s = self.settings
        log.info(
            "daily summary on: yesterday's report to %s from %02d:00 %s through %s",
            ", ".join(s.daily_summary_to), s.daily_summary_hour, s.daily_summary_tz, where(s),
        )
        while True:
            try:
                await self.check()
            except BROKER_ERRORS as exc:
                log.warning("daily summary: the broker cannot be reached (%s); checking again shortly", exc)
            except Exception:
                log.exception("daily summary check failed; checking again shortly")
            await asyncio.sleep(self.interval_s)

    async def check(self) -> str:
        """One look: send the due summary if it is this node's to send.
        Returns what happened, in a word (for tests and the debug log)."""
        s = self.settings
        self.checks += 1
        day = due_day(self.clock(), s)
        if day is None:
            return "not_due"
        if day in self.done:
            return "done"
        sent_key, lock_key = f"daily-summary:sent:{day}", f"daily-summary:sending:{day}"
        if await self.broker.ttl(sent_key) > 0:
            self.done.add(day)
            log.info("daily summary for %s: already sent (or given up) by a node", day)
            return "done_elsewhere"
        if self.monotonic() < self.next_try:
            return "waiting"
        lock_s = s.smtp_timeout_s * 4 + 60
        if await self.broker.claim(lock_key, self.node, lock_s) != self.node:
            return "busy_elsewhere"
        try:
            if await self.broker.ttl(sent_key) > 0:  # finished elsewhere just before the claim
                self.done.add(day)
                return "done_elsewhere"
            tries = await self.broker.hit(f"daily-summary:tries:{day}", DONE_TTL_S)
            try:
                msg = await send_summary(self.store, s, day, now=self.clock())
            except SEND_ERRORS as exc:
                return await self._failed(day, sent_key, tries, exc)
            await self.broker.claim(sent_key, self.node, DONE_TTL_S)
            self.done.add(day)
            self.sent += 1
            log.info("daily summary for %s sent to %s (%s)", day, msg["To"], msg["Message-ID"])
            return "sent"
        finally:
            await self.broker.release(lock_key, self.node)

    async def _failed(self, day: date, sent_key: str, tries: int, exc: BaseException) -> str:
        s = self.settings
        self.failures += 1
        if tries >= s.daily_summary_max_tries:
            await self.broker.claim(sent_key, "given-up", DONE_TTL_S)
            self.done.add(day)
            log.error(
                "daily summary for %s NOT sent: the SMTP server %s failed %d times (daily_summary_max_tries); "
                "last: %s. Send it by hand with: desklink admin send-summary --date %s",
                day, where(s), tries, reason(exc), day,
            )
            return "given_up"
        self.next_try = self.monotonic() + s.daily_summary_retry_s
        log.warning(
            "daily summary for %s could not be sent through the SMTP server %s: %s; "
            "trying again in %g s (try %d of %d)",
            day, where(s), reason(exc), s.daily_summary_retry_s, tries, s.daily_summary_max_tries,
        )
        return "failed"
