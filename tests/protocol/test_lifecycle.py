"""The request lifecycle (protocol/lifecycle.py), checked as data: the table
is the single source of the rules, so the tests check the table's shape and
the functions that read it, and walk it with random event sequences."""

from __future__ import annotations

import itertools
from typing import get_args

import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from desklink.protocol.lifecycle import (
    CHAT_ALLOWED,
    REQUEST_FINAL,
    REQUEST_OPEN,
    REQUEST_TRANSITIONS,
    RequestEvent,
    RequestStatus,
    SessionStatus,
    TransitionRefused,
    next_status,
    sources_of,
)

STATES: tuple[str, ...] = get_args(RequestStatus)
EVENTS: tuple[str, ...] = get_args(RequestEvent)
PAIRS = list(itertools.product(STATES, EVENTS))


def test_states_and_events_are_the_documented_ones() -> None:
    assert set(STATES) == {"waiting", "accepted", "closed", "abandoned", "expired"}
    assert set(EVENTS) == {"accept", "cancel", "expire", "abandon", "end"}
    assert set(get_args(SessionStatus)) == {"open", "ended"}


def test_the_rules_from_the_module_docstring() -> None:
    assert next_status("waiting", "accept") == "accepted"
    assert next_status("waiting", "cancel") == "abandoned"
    assert next_status("waiting", "abandon") == "abandoned"
    assert next_status("waiting", "expire") == "expired"
    assert next_status("accepted", "end") == "closed"


def test_state_sets_partition_the_states() -> None:
    assert REQUEST_OPEN | REQUEST_FINAL == set(STATES)
    assert not REQUEST_OPEN & REQUEST_FINAL
    assert REQUEST_FINAL == {"closed", "abandoned", "expired"}
    assert CHAT_ALLOWED == {"waiting", "accepted"}
    assert CHAT_ALLOWED <= REQUEST_OPEN


def test_table_uses_only_known_states_and_events() -> None:
    for (state, event), target in REQUEST_TRANSITIONS.items():
        assert state in STATES
        assert event in EVENTS
        assert target in STATES


def test_final_states_have_no_way_out() -> None:
    for state, _event in REQUEST_TRANSITIONS:
        assert state not in REQUEST_FINAL


def test_every_state_is_reachable_from_waiting_and_every_open_state_can_finish() -> None:
    reachable = {"waiting"}
    frontier = ["waiting"]
    while frontier:
        state = frontier.pop()
        for (src, _e), dst in REQUEST_TRANSITIONS.items():
            if src == state and dst not in reachable:
                reachable.add(dst)
                frontier.append(dst)
    assert reachable == set(STATES)
    for state in REQUEST_OPEN:
        assert any(src == state and dst in REQUEST_FINAL for (src, _e), dst in REQUEST_TRANSITIONS.items())


def test_only_waiting_can_be_accepted() -> None:
    assert sources_of("accept") == {"waiting"}
    assert [s for (s, e) in REQUEST_TRANSITIONS if e == "accept"] == ["waiting"]


def test_accepted_is_entered_only_by_accept() -> None:
    assert {e for (_s, e), dst in REQUEST_TRANSITIONS.items() if dst == "accepted"} == {"accept"}
    assert "waiting" not in REQUEST_TRANSITIONS.values()  # nothing goes back to waiting


@pytest.mark.parametrize(("state", "event"), PAIRS)
def test_next_status_follows_the_table_or_refuses(state: str, event: str) -> None:
    if (state, event) in REQUEST_TRANSITIONS:
        assert next_status(state, event) == REQUEST_TRANSITIONS[(state, event)]  # type: ignore[arg-type]
        assert state in sources_of(event)  # type: ignore[arg-type]
    else:
        with pytest.raises(TransitionRefused) as info:
            next_status(state, event)  # type: ignore[arg-type]
        assert (info.value.state, info.value.event) == (state, event)
        assert event in str(info.value) and state in str(info.value)
        assert state not in sources_of(event)  # type: ignore[arg-type]


@pytest.mark.parametrize("event", EVENTS)
def test_sources_of_matches_next_status(event: str) -> None:
    allowed = set()
    for state in STATES:
        try:
            next_status(state, event)  # type: ignore[arg-type]
        except TransitionRefused:
            continue
        allowed.add(state)
    assert sources_of(event) == allowed  # type: ignore[arg-type]
    assert isinstance(sources_of(event), frozenset)  # type: ignore[arg-type]


@pytest.mark.parametrize("state", ["", "WAITING", "open", "ended"])
def test_unknown_states_and_events_are_refused(state: str) -> None:
    with pytest.raises(TransitionRefused):
        next_status(state, "accept")  # type: ignore[arg-type]
    with pytest.raises(TransitionRefused):
        next_status("waiting", state)  # type: ignore[arg-type]
    assert sources_of(state) == frozenset()  # type: ignore[arg-type]


@given(events=st.lists(st.sampled_from(EVENTS), max_size=30))
def test_any_event_sequence(events: list[str]) -> None:
    state = "waiting"
    path = [state]
    accepts = 0
    for event in events:
        try:
            new = next_status(state, event)  # type: ignore[arg-type]
        except TransitionRefused:
            assert (state, event) not in REQUEST_TRANSITIONS
            continue
        assert state not in REQUEST_FINAL  # nothing leaves a final state
        if event == "accept":
            assert state == "waiting"
            accepts += 1
        state = new
        path.append(state)
    assert accepts <= 1
    assert path.count("accepted") <= 1
    # once final, the path stays there
    finals = [i for i, s in enumerate(path) if s in REQUEST_FINAL]
    if finals:
        assert finals[0] == len(path) - 1


class RequestMachine(RuleBasedStateMachine):
    """One request driven by random events; a reference model written from
    the module's rules, independent of the table."""

    def __init__(self) -> None:
        super().__init__()
        self.state: str = "waiting"
        self.accepts = 0
        self.was_final = False

    def expected(self, event: str) -> str | None:
        if self.state == "waiting":
            return {"accept": "accepted", "cancel": "abandoned", "abandon": "abandoned", "expire": "expired"}.get(event)
        if self.state == "accepted":
            return "closed" if event == "end" else None
        return None

    @rule(event=st.sampled_from(EVENTS))
    def apply(self, event: str) -> None:
        want = self.expected(event)
        if want is None:
            with pytest.raises(TransitionRefused):
                next_status(self.state, event)  # type: ignore[arg-type]
            assert self.state not in sources_of(event)  # type: ignore[arg-type]
            return
        assert self.state in sources_of(event)  # type: ignore[arg-type]
        got = next_status(self.state, event)  # type: ignore[arg-type]
        assert got == want
        if event == "accept":
            self.accepts += 1
        self.state = got

    @precondition(lambda self: self.state in REQUEST_FINAL)
    @rule(event=st.sampled_from(EVENTS))
    def final_refuses_everything(self, event: str) -> None:
        with pytest.raises(TransitionRefused):
            next_status(self.state, event)  # type: ignore[arg-type]

    @invariant()
    def final_is_final(self) -> None:
        if self.was_final:
            assert self.state in REQUEST_FINAL
        self.was_final = self.state in REQUEST_FINAL

    @invariant()
    def accepted_at_most_once(self) -> None:
        assert self.accepts <= 1
        if self.state == "accepted" or self.state == "closed":
            assert self.accepts == 1

    @invariant()
    def chat_only_while_open(self) -> None:
        assert (self.state in CHAT_ALLOWED) == (self.state in ("waiting", "accepted"))


TestRequestMachine = RequestMachine.TestCase
