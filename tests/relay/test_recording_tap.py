"""The relay's recording tap and policy (sans-I/O): never records nothing,
always starts with sharing, on_request only by the rep holding the session;
the visitor is told; a storage failure stops sharing only under always."""

from __future__ import annotations

import pytest

from desklink.errors import Forbidden, ProtocolError
from desklink.protocol.messages import Consent, ScreenRecord
from desklink.protocol.server_messages import RecordingPolicy
from desklink.relay import ScreenSession, Viewer

from ._fakes import INTRO, REP_ID, SUPERVISOR_ID, End, audits, kinds, new_session, texts


def shared(policy: RecordingPolicy) -> tuple[ScreenSession, End, Viewer, End, list[str]]:
    s = new_session()
    s.recording_policy = policy
    rep = End("rep")
    viewer, _ = s.add_viewer(rep, REP_ID, "Alice", 0.0)
    agent = End("agent")
    welcome = texts(s.attach_agent(agent, INTRO, 0.0, resumed=False), agent)[0]
    assert welcome.get("recording", "never") == policy  # defaults are left out on the wire
    fx = s.receive_agent(Consent(view=True), 0.0)
    return s, agent, viewer, rep, [r.kind for r in fx.records]


def test_never_records_nothing() -> None:
    s, _agent, viewer, _rep, started = shared("never")
    assert started == []
    assert not s.receive_agent_frame(b"\x01\x01", 1, True, 0.1).records
    with pytest.raises(Forbidden):
        s.receive_viewer(viewer, ScreenRecord(on=True), 0.2)


def test_always_starts_with_sharing_and_taps_what_viewers_get() -> None:
    s, agent, _viewer, rep, started = shared("always")
    assert started[0] == "start" and "event" in started  # the screen.state saying "recording"
    assert s.recording
    fx = s.receive_agent_frame(b"\x01\x01frame", 1, True, 0.1)
    (r,) = fx.records
    assert (r.kind, r.session_id, r.at) == ("screen", "sess1", 0.1)
    assert r.data == next(d.data for d in fx.deliveries if d.to is rep)
    pointer = s.receive_agent_pointer(b"\x03\x00\x01\x00\x02", shape=False, now=0.2)
    assert [x.kind for x in pointer.records] == ["pointer"]
    fx = s.stop("visitor", 0.3)
    assert [x.kind for x in fx.records][-1] == "stop"
    assert ("recording_stopped", "visitor", {"by": "visitor"}) in audits(fx)
    assert not s.recording


def test_always_tells_the_visitor_and_the_viewer() -> None:
    s = new_session()
    s.recording_policy = "always"
    rep = End("rep")
    s.add_viewer(rep, REP_ID, "Alice", 0.0)
    agent = End("agent")
    s.attach_agent(agent, INTRO, 0.0, resumed=False)
    fx = s.receive_agent(Consent(view=True), 0.0)
    assert {"t": "screen.recording", "on": True, "policy": "always"} in texts(fx, agent)
    state = [m for m in texts(fx, rep) if m["t"] == "screen.state"][-1]
    assert state["recording"] is True and state["recording_policy"] == "always"
    assert ("recording_started", "system", {"policy": "always"}) in audits(fx)


def test_on_request_only_the_holding_rep_starts_and_stops() -> None:
    s, agent, viewer, rep, started = shared("on_request")
    assert started == [] and not s.recording
    watcher_end = End("watcher")
    watcher, _ = s.add_viewer(watcher_end, SUPERVISOR_ID, "Sue", 0.1)
    with pytest.raises(Forbidden):
        s.receive_viewer(watcher, ScreenRecord(on=True), 0.2)
    assert not s.recording
    s.receive_agent_frame(b"\x01\x01", 1, True, 0.25)  # the agent's first frame (a key frame) came
    fx = s.receive_viewer(viewer, ScreenRecord(on=True), 0.3)
    assert s.recording and fx.records[0].kind == "start"
    assert "screen.refresh" in kinds(fx, agent)  # the recording opens with a key frame
    assert ("recording_started", "rep", {"policy": "on_request"}) in audits(fx)
    fx = s.receive_viewer(viewer, ScreenRecord(on=False), 0.4)
    assert not s.recording and fx.records[-1].kind == "stop"


def test_on_request_needs_a_shared_screen() -> None:
    s = new_session()
    s.recording_policy = "on_request"
    rep = End("rep")
    viewer, _ = s.add_viewer(rep, REP_ID, "Alice", 0.0)
    with pytest.raises(ProtocolError, match="recording needs a screen"):
        s.receive_viewer(viewer, ScreenRecord(on=True), 0.1)


def test_storage_failure_under_always_stops_sharing() -> None:
    s, agent, _viewer, rep, _ = shared("always")
    fx = s.recording_failed("the recordings disk is full", 1.0)
    assert s.status() == "stopped" and not s.recording
    assert any(k == "recording_failed" for k, _a, _d in audits(fx))
    told = [m for m in texts(fx, agent) if m["t"] == "screen.recording"]
    assert told and told[0]["error"] == "the recordings disk is full"
    state = [m for m in texts(fx, rep) if m["t"] == "screen.state"][-1]
    assert "recording is required" in state["reason"]


def test_storage_failure_under_on_request_keeps_sharing() -> None:
    s, agent, viewer, rep, _ = shared("on_request")
    s.receive_viewer(viewer, ScreenRecord(on=True), 0.1)
    fx = s.recording_failed("the recordings directory cannot be written", 1.0)
    assert s.sharing and not s.recording
    state = [m for m in texts(fx, rep) if m["t"] == "screen.state"][-1]
    assert "recording" not in state and state["recording_error"] == "the recordings directory cannot be written"
    assert s.recording_failed("again", 1.1).audits == []  # told once
