"""The privileges table (protocol/privileges.py): the rules at its top,
checked directly and by a Hypothesis state machine of random events. The
relay's use of it (no input forwarded outside ``granted``) is proven by
tests/relay/test_relay_machine.py."""

from __future__ import annotations

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from desklink.errors import ProtocolError
from desklink.protocol.privileges import EVENTS, PRIVILEGES, TRANSITIONS, Privileges


def test_everything_starts_off_and_only_allow_grants() -> None:
    p = Privileges()
    assert dict(p) == {"view": "off", "control": "off", "files": "off"}
    granting = {(priv, state, event) for (priv, state, event), after in TRANSITIONS.items() if after == "granted"}
    assert {event for _, _, event in granting} == {"allow", "resume"}
    assert all(state == "suspended" for _, state, event in granting if event == "resume")


def test_control_needs_view() -> None:
    p = Privileges()
    with pytest.raises(ProtocolError, match="needs view"):
        p.apply("control", "ask")
    p.apply("view", "ask")
    p.apply("view", "allow")
    p.apply("control", "ask")
    p.apply("control", "allow")
    changes = p.apply("view", "stop")
    assert [(c.privilege, c.after) for c in changes] == [("view", "off"), ("control", "off")]


def test_a_drop_suspends_view_and_files_and_ends_control() -> None:
    p = Privileges()
    for priv in ("view", "files"):
        p.apply(priv, "ask")
        p.apply(priv, "allow")
    p.apply("control", "ask")
    p.apply("control", "allow")
    p.apply_all("drop")
    assert dict(p) == {"view": "suspended", "control": "off", "files": "suspended"}
    p.apply_all("resume")
    assert dict(p) == {"view": "granted", "control": "off", "files": "granted"}


def test_refused_transitions_say_why() -> None:
    p = Privileges()
    with pytest.raises(ProtocolError, match="cannot allow view while it is off") as exc:
        p.apply("view", "allow")
    assert exc.value.code == "bad_state"
    with pytest.raises(ProtocolError):
        p.apply("view", "release")  # view is given up by stop, not release


class PrivilegeMachine(RuleBasedStateMachine):
    """Random events; the invariants are the rules that must never break."""

    def __init__(self) -> None:
        super().__init__()
        self.p = Privileges()

    @rule(priv=st.sampled_from(PRIVILEGES), event=st.sampled_from(EVENTS))
    def event(self, priv: str, event: str) -> None:
        before = dict(self.p)
        if self.p.can(priv, event):  # type: ignore[arg-type]
            self.p.apply(priv, event)  # type: ignore[arg-type]
        else:
            with pytest.raises(ProtocolError):
                self.p.apply(priv, event)  # type: ignore[arg-type]
            assert dict(self.p) == before  # a refused event changes nothing

    @rule(priv=st.sampled_from(PRIVILEGES))
    def revoke_always_wins(self, priv: str) -> None:
        if self.p[priv] in ("asking", "granted", "suspended"):  # type: ignore[index]
            self.p.apply(priv, "revoke")  # type: ignore[arg-type]
        assert self.p[priv] == "off"  # type: ignore[index]
        if priv == "view":
            assert self.p["control"] == "off"

    @rule()
    def agent_drops(self) -> None:
        self.p.apply_all("drop")
        assert not any(self.p.granted(priv) for priv in PRIVILEGES)  # a drop ends every privilege
        assert self.p["control"] == "off"

    @rule()
    def sharing_stops(self) -> None:
        self.p.apply_all("stop")
        assert all(state == "off" for _, state in self.p)

    @invariant()
    def control_only_with_view(self) -> None:
        if self.p["control"] in ("asking", "granted"):
            assert self.p["view"] == "granted"


TestPrivilegeMachine = PrivilegeMachine.TestCase
