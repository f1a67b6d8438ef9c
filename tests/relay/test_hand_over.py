"""A supervisor takes the session over (relay/session.py ``hand_over``): the
primary viewer becomes theirs, the old rep's viewers leave, and control the
visitor gave the old rep ends."""

from __future__ import annotations

import pytest

from desklink.errors import Forbidden
from desklink.protocol.messages import Consent, ControlRequest, Input, ScreenAck, StopSharing
from desklink.relay import ScreenSession, Viewer

from ._fakes import INTRO, REP_ID, SUPERVISOR_ID, End, audits, texts, new_session


def sharing() -> tuple[ScreenSession, End, Viewer, End]:
    s = new_session()
    rep = End("rep")
    viewer, _ = s.add_viewer(rep, REP_ID, "Alice", 0.0, "rep")
    agent = End("agent")
    s.attach_agent(agent, INTRO, 0.0, resumed=False)
    s.receive_agent(Consent(view=True), 0.0)
    return s, agent, viewer, rep


def test_the_watcher_becomes_primary_and_the_old_rep_leaves() -> None:
    s, agent, rep_viewer, rep = sharing()
    sue_end = End("sue")
    sue, _ = s.add_viewer(sue_end, SUPERVISOR_ID, "Sue", 1.0, "supervisor")
    with pytest.raises(Forbidden):
        s.receive_viewer(sue, StopSharing(), 1.1)  # a watcher only looks
    assert {"t": "screen.ack", "seq": 1} not in texts(s.receive_viewer(sue, ScreenAck(seq=1), 1.2), agent)
    gone, fx = s.hand_over(SUPERVISOR_ID, 2.0)
    assert gone == [rep]
    assert s.rep_id == SUPERVISOR_ID and sue.primary and rep_viewer not in s.seats.viewers
    # Sue is no longer "watching": the agent is told nobody watches besides the rep.
    assert [m["watchers"] for m in texts(fx, agent) if m["t"] == "screen.watchers"] == [[]]
    # Her acks now pace the agent, and she may act.
    assert {"t": "screen.ack", "seq": 1} in texts(s.receive_viewer(sue, ScreenAck(seq=1), 2.1), agent)
    assert s.receive_viewer(sue, ControlRequest(), 2.2) is not None
    # Idempotent: a second note changes nothing.
    assert s.hand_over(SUPERVISOR_ID, 2.3)[0] == []


def test_control_given_to_the_old_rep_ends() -> None:
    s, agent, rep_viewer, _ = sharing()
    s.receive_viewer(rep_viewer, ControlRequest(), 1.0)
    s.receive_agent(Consent(control=True), 1.1)
    assert s.privileges.granted("control")
    _, fx = s.hand_over(SUPERVISOR_ID, 2.0)
    told = [m["t"] for m in texts(fx, agent)]
    assert "control.end" in told and told.index("input") < told.index("control.end")  # keys released first
    assert not s.privileges.granted("control")
    assert ("privilege_released", "system", {"privilege": "control"}) in audits(fx)
    with pytest.raises(Forbidden):
        s.receive_viewer(rep_viewer, Input(events=[]), 2.1)


def test_the_agent_is_told_the_new_reps_name() -> None:
    s, agent, _, _ = sharing()
    _, fx = s.hand_over(SUPERVISOR_ID, 2.0, "Bob")
    told = [m for m in texts(fx, agent) if m["t"] == "screen.watchers"]
    assert told == [{"t": "screen.watchers", "watchers": [], "rep": {"name": "Bob"}}]
    assert s.rep_name == "Bob"
