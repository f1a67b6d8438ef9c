"""The relay core (relay/session.py) without a network: messages in,
effects out, asserted exactly and synchronously."""

from __future__ import annotations

import pytest

from desklink.errors import Forbidden, LimitExceeded, ProtocolError, TooLarge
from desklink.protocol import codes
from desklink.protocol.messages import (
    Annotate,
    Clipboard,
    ClipboardAllow,
    Consent,
    ControlRelease,
    ControlRequest,
    ControlRevoked,
    Monitor,
    ScreenAck,
    ScreenInfo,
    ScreenRefresh,
    ScreenSelect,
    StopSharing,
    decode_agent,
    decode_viewer,
)
from desklink.relay import ScreenSession, Viewer

from ._fakes import INTRO, REP_ID, SUPERVISOR_ID, End, audits, frames, kinds, new_session, texts

FRAME = b"payload"


def sharing(**policy: object) -> tuple[ScreenSession, End, Viewer, End]:
    """A session whose agent shares, with the rep's viewer connected."""
    s = new_session(**policy)
    rep = End("rep")
    viewer, _ = s.add_viewer(rep, REP_ID, "Alice", 0.0)
    agent = End("agent")
    s.attach_agent(agent, INTRO, 0.0, resumed=False)
    s.receive_agent(Consent(view=True), 0.0)
    s.receive_agent(ScreenInfo(monitors=[Monitor(1, 640, 480, True), Monitor(2, 800, 600)], selected=1), 0.0)
    s.receive_agent_frame(FRAME, 1, True, 0.0)  # the key frame an agent starts sharing with
    return s, agent, viewer, rep


def test_the_welcome_asks_what_the_table_says() -> None:
    s = new_session()
    agent = End("agent")
    fx = s.attach_agent(agent, INTRO, 0.0, resumed=False)
    (welcome,) = texts(fx, agent)
    assert welcome["t"] == "welcome" and welcome["asks"] == ["view"] and welcome["resumed"] is False
    assert welcome["limits"]["max_message_bytes"] == 65536
    assert audits(fx) == [("privilege_asked", "rep", {"privilege": "view"}), ("agent_joined", "visitor", {})]


def test_frames_flow_only_after_consent() -> None:
    s = new_session()
    rep = End("rep")
    s.add_viewer(rep, REP_ID, "Alice", 0.0)
    agent = End("agent")
    s.attach_agent(agent, INTRO, 0.0, resumed=False)
    assert frames(s.receive_agent_frame(FRAME, 1, True, 0.0), rep) == 0
    assert s.frames_dropped_before_consent == 1
    fx = s.receive_agent(Consent(view=True), 0.1)
    assert ("sharing_started", "visitor", {}) in audits(fx)
    assert "screen.refresh" not in kinds(fx, agent)  # the agent starts sharing with a key frame: one is enough
    assert frames(s.receive_agent_frame(FRAME, 2, True, 0.2), rep) == 1


def test_one_key_frame_at_start_and_refreshes_once_it_came() -> None:
    """While the agent's first key frame is on its way, a viewer joining or
    asking gets it and no second one; afterwards refreshes reach the agent."""
    s = new_session()
    rep = End("rep")
    viewer, _ = s.add_viewer(rep, REP_ID, "Alice", 0.0)
    agent = End("agent")
    s.attach_agent(agent, INTRO, 0.0, resumed=False)
    s.receive_agent(Consent(view=True), 0.1)
    sup = End("supervisor")
    _, fx = s.add_viewer(sup, SUPERVISOR_ID, "Sam", 0.2)
    assert "screen.refresh" not in kinds(fx, agent)
    assert kinds(s.receive_viewer(viewer, ScreenRefresh(), 0.2), agent) == []
    fx = s.receive_agent_frame(FRAME, 1, True, 0.3)
    assert (frames(fx, rep), frames(fx, sup)) == (1, 1)  # both got the one key frame
    assert kinds(fx, agent) == []
    assert kinds(s.receive_viewer(viewer, ScreenRefresh(), 0.4), agent) == ["screen.refresh"]


def test_a_first_frame_that_is_not_a_key_frame_asks_for_one() -> None:
    s = new_session()
    rep = End("rep")
    s.add_viewer(rep, REP_ID, "Alice", 0.0)
    agent = End("agent")
    s.attach_agent(agent, INTRO, 0.0, resumed=False)
    s.receive_agent(Consent(view=True), 0.1)
    fx = s.receive_agent_frame(FRAME, 1, False, 0.2)
    assert frames(fx, rep) == 0 and kinds(fx, agent) == ["screen.refresh"]
    assert frames(s.receive_agent_frame(FRAME, 2, True, 0.3), rep) == 1


def test_only_the_primary_paces_the_agent_and_a_slow_watcher_catches_up_with_a_key() -> None:
    s, agent, viewer, rep = sharing()
    sup = End("supervisor")
    watcher, fx = s.add_viewer(sup, SUPERVISOR_ID, "Sam", 1.0)
    assert ("watcher_joined", "watcher", {"name": "Sam"}) in audits(fx)
    assert texts(fx, rep)[-1]["watchers"] == ["Sam"]
    got = []
    for seq in range(1, 6):  # the agent sends as the rep acks; the watcher never acks
        fx = s.receive_agent_frame(FRAME, seq, seq == 1, 1.0)
        got.append((frames(fx, rep), frames(fx, sup)))
        assert kinds(s.receive_viewer(viewer, ScreenAck(seq), 1.1), agent) == ["screen.ack"]
    assert got == [(1, 1), (1, 1), (1, 0), (1, 0), (1, 0)]  # its window (2) filled; skipped for it alone
    assert kinds(s.receive_viewer(watcher, ScreenAck(1), 1.2), agent) == []  # watchers never pace the agent
    assert kinds(s.receive_viewer(watcher, ScreenAck(2), 1.2), agent) == ["screen.refresh"]  # caught up: key wanted
    assert frames(s.receive_agent_frame(FRAME, 6, False, 1.3), sup) == 0  # a delta is of no use to it
    assert frames(s.receive_agent_frame(FRAME, 7, True, 1.3), sup) == 1


def test_watchers_look_but_never_act() -> None:
    s, agent, _, _ = sharing()
    watcher, _ = s.add_viewer(End("sup"), SUPERVISOR_ID, "Sam", 1.0)
    for msg in (ScreenSelect(monitor=2), StopSharing(), ControlRequest(), ControlRelease(), Clipboard("x")):
        with pytest.raises(Forbidden, match="watchers can look"):
            s.receive_viewer(watcher, msg, 1.0)
    with pytest.raises(Forbidden):
        s.receive_viewer(watcher, decode_viewer('{"t":"input","events":[{"k":"move","x":1,"y":1}]}'), 1.0)
    assert s.status() == "sharing"


def test_the_rep_selects_only_a_monitor_that_exists() -> None:
    s, agent, viewer, _ = sharing()
    assert texts(s.receive_viewer(viewer, ScreenSelect(monitor=2), 1.0), agent) == [{"t": "screen.select", "monitor": 2}]
    with pytest.raises(Forbidden, match="no monitor 3"):
        s.receive_viewer(viewer, ScreenSelect(monitor=3), 1.0)


def test_input_only_while_control_is_granted_and_re_encoded() -> None:
    s, agent, viewer, rep = sharing()
    raw = '{"t":"input","events":[{"k":"key","key":"a","down":true,"evil":1}],"extra":"x"}'
    with pytest.raises(Forbidden, match="not granted"):
        s.receive_viewer(viewer, decode_viewer(raw), 1.0)
    fx = s.receive_viewer(viewer, ControlRequest(), 1.0)
    assert texts(fx, agent) == [{"t": "control.ask", "rep": "Alice"}]
    assert texts(fx, rep)[-1]["control"] == "asking"
    with pytest.raises(Forbidden):
        s.receive_viewer(viewer, decode_viewer(raw), 1.0)  # asking is not granted
    s.receive_agent(Consent(control=True), 1.1)
    fx = s.receive_viewer(viewer, decode_viewer(raw), 1.2)
    assert texts(fx, agent) == [{"t": "input", "events": [{"k": "key", "key": "a", "down": True}]}]
    assert s.inputs_forwarded == 1 and s.inputs_refused == 2


def test_input_past_its_rate_is_refused_whole() -> None:
    s, agent, viewer, _ = sharing(input_events_per_s=3)
    s.receive_viewer(viewer, ControlRequest(), 1.0)
    s.receive_agent(Consent(control=True), 1.0)
    two = decode_viewer('{"t":"input","events":[{"k":"move","x":1,"y":1},{"k":"move","x":2,"y":2}]}')
    assert kinds(s.receive_viewer(viewer, two, 1.0), agent) == ["input"]
    with pytest.raises(LimitExceeded):
        s.receive_viewer(viewer, two, 1.0)
    assert kinds(s.receive_viewer(viewer, two, 2.0), agent) == ["input"]  # a second later the budget is back


def test_the_visitor_revokes_and_the_rep_releases() -> None:
    s, agent, viewer, rep = sharing()
    s.receive_viewer(viewer, ControlRequest(), 1.0)
    s.receive_agent(Consent(control=True), 1.0)
    fx = s.receive_agent(ControlRevoked(), 1.1)
    assert texts(fx, agent) == []  # the agent already let go
    assert (texts(fx, rep)[-1]["control"], texts(fx, rep)[-1]["control_by"]) == ("view", "visitor")
    assert audits(fx) == [("privilege_revoked", "visitor", {"privilege": "control"})]
    s.receive_viewer(viewer, ControlRequest(), 1.2)
    s.receive_agent(Consent(control=True), 1.2)
    fx = s.receive_viewer(viewer, ControlRelease(), 1.3)
    assert texts(fx, agent) == [{"t": "control.end", "by": "rep"}]
    assert audits(fx) == [("privilege_released", "rep", {"privilege": "control"})]


def test_a_refused_control_says_who() -> None:
    s, _, viewer, rep = sharing()
    s.receive_viewer(viewer, ControlRequest(), 1.0)
    fx = s.receive_agent(Consent(control=False), 1.0)
    assert (texts(fx, rep)[-1]["control"], texts(fx, rep)[-1]["control_by"]) == ("view", "visitor")
    assert audits(fx) == [("privilege_refused", "visitor", {"privilege": "control"})]
    with pytest.raises(ProtocolError, match="not asked"):
        s.receive_agent(Consent(control=True), 1.1)


def test_the_primary_leaving_mid_control_releases_every_key() -> None:
    s, agent, viewer, _ = sharing()
    s.receive_viewer(viewer, ControlRequest(), 1.0)
    s.receive_agent(Consent(control=True), 1.0)
    fx = s.remove_viewer(viewer, 2.0)
    assert texts(fx, agent) == [{"t": "input", "events": [{"k": "release"}]}]
    assert s.privileges.granted("control")  # a quick reconnect needs no new consent


def test_annotations_are_re_encoded_kept_and_budgeted() -> None:
    s, agent, viewer, rep = sharing(annotations_per_minute=2)
    raw = '{"t":"annotate","op":"stroke","id":"s1","tool":"pen","color":"#ff0000","width":3,"points":[[1,2]],"secret":"x"}'
    fx = s.receive_viewer(viewer, decode_viewer(raw), 1.0)
    (forwarded,) = texts(fx, agent)
    assert "secret" not in forwarded and forwarded["points"] == [[1, 2]]
    assert texts(fx, rep) == []  # not echoed to its sender
    late = End("late")
    _, fx = s.add_viewer(late, REP_ID, "Alice again", 1.5)
    assert [m for m in texts(fx, late) if m["t"] == "annotate"] == [forwarded]
    s.receive_agent(Annotate(op="clear"), 2.0)  # the agent's budget is its own
    assert len(s.board) == 0
    s.receive_viewer(viewer, Annotate(op="undo", id="zz"), 2.0)
    with pytest.raises(LimitExceeded):
        s.receive_viewer(viewer, Annotate(op="clear"), 2.0)


def test_each_annotation_message_is_one_audit_event_and_a_refused_one_none() -> None:
    s, agent, viewer, rep = sharing(annotations_per_minute=2)
    stroke = Annotate(op="stroke", id="s1", tool="arrow", points=[(1, 2), (30, 40)])
    assert audits(s.receive_viewer(viewer, stroke, 1.0)) == [
        ("annotated", "rep", {"op": "stroke", "side": "rep", "tool": "arrow"})
    ]
    assert audits(s.receive_agent(Annotate(op="clear"), 1.0)) == [("annotated", "visitor", {"op": "clear", "side": "visitor"})]
    assert audits(s.receive_viewer(viewer, Annotate(op="undo", id="s1"), 1.0)) == [
        ("annotated", "rep", {"op": "undo", "side": "rep"})
    ]
    with pytest.raises(LimitExceeded):  # past the budget: dropped, so nothing is logged either
        s.receive_viewer(viewer, Annotate(op="clear"), 1.0)


def test_clipboard_crosses_only_when_the_visitor_shares_it_and_only_its_size_is_logged() -> None:
    s, agent, viewer, rep = sharing(clipboard_from_visitor=True, max_clipboard_chars=100)
    with pytest.raises(Forbidden, match="not turned on"):
        s.receive_viewer(viewer, Clipboard("hello"), 1.0)
    with pytest.raises(Forbidden, match="not turned on"):
        s.receive_agent(Clipboard("secret"), 1.0)
    fx = s.receive_agent(ClipboardAllow(to_visitor=True, from_visitor=True), 1.0)
    assert texts(fx, rep)[-1]["clipboard"] == {"from_visitor": True, "to_visitor": True}
    fx = s.receive_agent(Clipboard("secret"), 1.1)
    assert texts(fx, rep) == [{"t": "clipboard", "text": "secret"}]
    assert audits(fx) == [("clipboard_crossed", "visitor", {"direction": "from_visitor", "chars": 6})]
    fx = s.receive_viewer(viewer, Clipboard("hello"), 1.2)
    assert texts(fx, agent) == [{"t": "clipboard", "text": "hello"}]
    with pytest.raises(TooLarge):
        s.receive_viewer(viewer, Clipboard("x" * 101), 1.3)


def test_policy_can_close_a_direction_whatever_the_visitor_says() -> None:
    s, _, viewer, rep = sharing(clipboard_to_visitor=False)
    fx = s.receive_agent(ClipboardAllow(to_visitor=True, from_visitor=True), 1.0)
    assert texts(fx, rep)[-1]["clipboard"] == {"from_visitor": True, "to_visitor": False}
    with pytest.raises(Forbidden, match="policy"):
        s.receive_viewer(viewer, Clipboard("hello"), 1.0)


def test_the_rep_stops() -> None:
    s, agent, viewer, rep = sharing()
    fx = s.receive_viewer(viewer, StopSharing(), 3.0)
    assert texts(fx, agent) == [{"t": "ended", "by": "rep"}]
    assert [(c.to, c.code) for c in fx.closes] == [(agent, codes.CLOSE_NORMAL)]
    assert texts(fx, rep)[-1]["status"] == "stopped" and texts(fx, rep)[-1]["by"] == "rep"
    assert ("sharing_stopped", "rep", {"by": "rep"}) in audits(fx)
    assert frames(s.receive_agent_frame(FRAME, 9, True, 3.1), rep) == 0
    assert not s.receive_viewer(viewer, StopSharing(), 3.2)  # stopping twice does nothing


def test_the_session_ending_closes_everyone() -> None:
    s, agent, _, rep = sharing()
    fx = s.stop("session_ended", 3.0)
    assert {(c.to, c.code) for c in fx.closes} == {(agent, codes.CLOSE_ENDED), (rep, codes.CLOSE_ENDED)}


def test_a_silent_agent_is_dropped_and_the_grace_period_ends_sharing() -> None:
    s, agent, _, rep = sharing(agent_link_timeout_s=5.0, agent_grace_s=30.0)
    s.receive_agent(decode_agent('{"t":"ping"}'), 10.0)
    assert not s.tick(14.9)
    fx = s.tick(15.1)
    assert [(c.to, c.code) for c in fx.closes] == [(agent, codes.CLOSE_GOING_AWAY)]
    state = texts(fx, rep)[-1]
    assert (state["agent"], state["status"], state["grace_left_s"]) == (False, "sharing", 30.0)
    assert ("agent_lost", "system", {"reason": "no answer"}) in audits(fx)
    assert not s.privileges.granted("view")  # the drop ended it (suspended, not granted)
    assert texts(s.tick(30.0), rep) == []  # still waiting
    fx = s.tick(45.2)
    assert (texts(fx, rep)[-1]["status"], texts(fx, rep)[-1]["by"]) == ("stopped", "agent_lost")


def test_a_resuming_agent_keeps_view_and_gets_the_board_back() -> None:
    s, agent, viewer, rep = sharing()
    s.receive_viewer(viewer, Annotate(op="stroke", id="s1", points=[(1, 1)]), 1.0)
    s.receive_viewer(viewer, ControlRequest(), 1.0)
    s.receive_agent(Consent(control=True), 1.0)
    s.detach_agent(agent, 2.0)
    assert s.privileges["control"] == "off" and s.control_by == "system"
    again = End("agent again")
    fx = s.attach_agent(again, INTRO, 3.0, resumed=True)
    welcome, *rest = texts(fx, again)
    assert welcome["resumed"] is True and welcome["asks"] == []
    assert [m["t"] for m in rest] == ["screen.refresh", "annotate"]
    assert s.sharing and s.privileges["control"] == "off"
    assert ("privilege_granted", "visitor", {"privilege": "view", "because": "resume"}) in audits(fx)


def test_an_agent_that_drops_while_asking_is_asked_again() -> None:
    s = new_session()
    agent = End("agent")
    s.attach_agent(agent, INTRO, 0.0, resumed=False)
    s.detach_agent(agent, 1.0)
    fx = s.attach_agent(End("again"), INTRO, 2.0, resumed=True)
    assert texts(fx, fx.deliveries[0].to)[0]["asks"] == ["view"]


def test_a_denial_ends_the_round_and_a_restart_begins_a_new_one() -> None:
    s = new_session()
    rep = End("rep")
    s.add_viewer(rep, REP_ID, "Alice", 0.0)
    agent = End("agent")
    s.attach_agent(agent, INTRO, 0.0, resumed=False)
    fx = s.receive_agent(Consent(view=False), 1.0)
    assert texts(fx, rep)[-1]["status"] == "denied"
    assert [(c.to, c.code) for c in fx.closes] == [(agent, codes.CLOSE_NORMAL)]
    s.detach_agent(agent, 1.1)
    fx = s.restart(2.0)
    assert texts(fx, rep)[-1]["status"] == "waiting_agent"
    assert s.resume_token and s.privileges["view"] == "off"
