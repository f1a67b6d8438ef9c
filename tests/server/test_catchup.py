"""What a socket remembers to catch up after an outage: the prefixes it reads
agree with what the dispatcher really encodes, and the seq bookkeeping."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from desklink.dispatch import channels as ch
from desklink.dispatch.dispatcher import Dispatcher
from desklink.server.catchup import (
    ALERT_PREFIX,
    CHAT_PREFIX,
    JOINED_PREFIX,
    MAX_SEQS_ABOVE_FLOOR,
    WITHDRAWN_PREFIX,
    SeqsSent,
    chat_head,
    quoted_id,
)
from desklink.store.records import Message, Queue, Request

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def test_prefixes_match_what_the_dispatcher_encodes() -> None:
    req = Request(
        id="req-1", queue_id=3, visitor_name="Ann", visitor_email="", question="help", ip="127.0.0.1", origin="",
        status="waiting", rep_id=None, created_at=NOW, accepted_at=None, closed_at=None,
    )
    queue = Queue(id=3, slug="support", name="Support", allowed_origins=(), created_at=NOW)
    alert = ch.envelope("R", {"t": "alert", "request": Dispatcher.alert_view(req, queue)}).decode()
    assert alert.startswith(ALERT_PREFIX) and quoted_id(alert, ALERT_PREFIX) == "req-1"
    withdrawn = {"t": "alert.withdrawn", "request_id": "req-1", "reason": "taken", "taken_by": None}
    text = ch.envelope("R", withdrawn).decode()
    assert text.startswith(WITHDRAWN_PREFIX) and quoted_id(text, WITHDRAWN_PREFIX) == "req-1"
    msg = Message(
        request_id="req-1", seq=7, client_id="c", sender="visitor", sender_name="Ann", user_id=None, body="hi", created_at=NOW
    )
    chat = ch.envelope("A", Dispatcher.message_view(msg, "sess-1")).decode()
    assert chat.startswith(CHAT_PREFIX) and chat_head(chat) == ("req-1", 7)
    assert ch.envelope("V", {"t": "joined", "rep": {"name": "Bo"}}).decode().startswith(JOINED_PREFIX)
    assert chat_head('A{"t":"chat",') is None  # truncated: ignored, never raises


def test_seqs_sent_floor_follows_the_gapless_run() -> None:
    sent = SeqsSent(3)
    assert 1 in sent and 3 in sent and 4 not in sent
    sent.add(5)  # 4 was lost on the way
    assert sent.floor == 3 and 5 in sent and 4 not in sent
    sent.add(6)
    sent.add(4)  # a catch-up filled the gap
    assert sent.floor == 6
    sent.add(2)
    assert sent.floor == 6


def test_a_gap_that_never_fills_is_given_up_past_the_bound() -> None:
    sent = SeqsSent(0)
    for seq in range(2, MAX_SEQS_ABOVE_FLOOR + 3):  # seq 1 never arrives
        sent.add(seq)
    assert sent.floor == MAX_SEQS_ABOVE_FLOOR + 2
    assert len(sent._above) == 0


@given(st.lists(st.integers(min_value=1, max_value=60), max_size=80), st.integers(min_value=0, max_value=10))
def test_seqs_sent_agrees_with_a_set(seqs: list[int], start: int) -> None:
    sent = SeqsSent(start)
    model = set(range(1, start + 1))
    for seq in seqs:
        sent.add(seq)
        model.add(seq)
        floor = 0
        while floor + 1 in model:
            floor += 1
        assert sent.floor == floor
        assert all((n in sent) == (n in model) for n in range(1, 62))
