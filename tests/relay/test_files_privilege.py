"""The files privilege in the relay core (relay/session.py), sans-I/O: the
rep asks, the visitor allows, denies or takes it back, the rep releases it,
a drop suspends it, a stop ends it; a browser share has no files."""

from __future__ import annotations

import dataclasses

import pytest

from desklink.errors import Forbidden, ProtocolError
from desklink.protocol.messages import Consent, FilesRelease, FilesRequest, FilesRevoked, StopSharing
from desklink.relay import ScreenSession, Viewer

from ._fakes import INTRO, REP_ID, SUPERVISOR_ID, End, audits, new_session, texts


def sharing() -> tuple[ScreenSession, End, Viewer, End]:
    s = new_session()
    rep = End("rep")
    viewer, _ = s.add_viewer(rep, REP_ID, "Alice", 0.0)
    agent = End("agent")
    s.attach_agent(agent, INTRO, 0.0, resumed=False)
    s.receive_agent(Consent(view=True), 0.0)
    return s, agent, viewer, rep


def test_the_rep_asks_and_the_visitor_allows() -> None:
    s, agent, viewer, rep = sharing()
    fx = s.receive_viewer(viewer, FilesRequest(), 1.0)
    assert texts(fx, agent) == [{"t": "files.ask", "rep": "Alice"}]
    assert texts(fx, rep)[-1]["privileges"]["files"] == "asking"
    assert audits(fx) == [("privilege_asked", "rep", {"privilege": "files"})]
    again = s.receive_viewer(viewer, FilesRequest(), 1.1)
    assert texts(again, agent) == []  # already asking: nothing asked twice
    fx = s.receive_agent(Consent(files=True), 1.2)
    assert s.privileges.granted("files") and s.sharing
    assert texts(fx, rep)[-1]["privileges"]["files"] == "granted"
    assert audits(fx) == [("privilege_granted", "visitor", {"privilege": "files"})]


def test_a_no_leaves_sharing_on_and_the_rep_may_ask_again() -> None:
    s, agent, viewer, rep = sharing()
    s.receive_viewer(viewer, FilesRequest(), 1.0)
    fx = s.receive_agent(Consent(files=False), 1.1)
    assert s.privileges["files"] == "off" and s.sharing and fx.closes == []
    assert audits(fx) == [("privilege_refused", "visitor", {"privilege": "files"})]
    assert texts(s.receive_viewer(viewer, FilesRequest(), 1.2), agent) == [{"t": "files.ask", "rep": "Alice"}]


def test_an_answer_nobody_asked_for_is_refused() -> None:
    s, _agent, _viewer, _rep = sharing()
    with pytest.raises(ProtocolError):
        s.receive_agent(Consent(files=True), 1.0)
    assert s.privileges["files"] == "off"


def test_the_visitor_takes_it_back_and_the_rep_releases_it() -> None:
    s, agent, viewer, rep = sharing()
    s.receive_viewer(viewer, FilesRequest(), 1.0)
    s.receive_agent(Consent(files=True), 1.0)
    fx = s.receive_agent(FilesRevoked(), 1.1)
    assert s.privileges["files"] == "off" and texts(fx, rep)[-1]["privileges"]["files"] == "off"
    assert audits(fx) == [("privilege_revoked", "visitor", {"privilege": "files"})]
    s.receive_viewer(viewer, FilesRequest(), 1.2)
    s.receive_agent(Consent(files=True), 1.2)
    fx = s.receive_viewer(viewer, FilesRelease(), 1.3)
    assert texts(fx, agent) == [{"t": "files.end", "by": "rep"}]
    assert audits(fx) == [("privilege_released", "rep", {"privilege": "files"})]
    assert s.receive_viewer(viewer, FilesRelease(), 1.4).deliveries == []


def test_watchers_cannot_ask_for_files() -> None:
    s, _agent, _viewer, _rep = sharing()
    watcher, _ = s.add_viewer(End("sup"), SUPERVISOR_ID, "Sue", 1.0)
    with pytest.raises(Forbidden):
        s.receive_viewer(watcher, FilesRequest(), 1.0)
    assert s.privileges["files"] == "off"


def test_files_need_an_agent_that_shares() -> None:
    s = new_session()
    viewer, _ = s.add_viewer(End("rep"), REP_ID, "Alice", 0.0)
    with pytest.raises(ProtocolError):
        s.receive_viewer(viewer, FilesRequest(), 1.0)


def test_a_browser_share_has_no_files_and_says_why() -> None:
    s = new_session()
    viewer, _ = s.add_viewer(End("rep"), REP_ID, "Alice", 0.0)
    s.attach_agent(End("page"), dataclasses.replace(INTRO, source="browser"), 0.0, resumed=False)
    s.receive_agent(Consent(view=True), 0.0)
    with pytest.raises(Forbidden, match="need the DeskLink agent; files in the chat work without it"):
        s.receive_viewer(viewer, FilesRequest(), 1.0)


def test_a_drop_suspends_files_a_resume_keeps_them_a_stop_ends_them() -> None:
    s, agent, viewer, rep = sharing()
    s.receive_viewer(viewer, FilesRequest(), 1.0)
    s.receive_agent(Consent(files=True), 1.0)
    s.detach_agent(agent, 2.0)
    assert s.privileges["files"] == "suspended"
    s.attach_agent(End("agent again"), INTRO, 3.0, resumed=True)
    assert s.privileges.granted("files")
    fx = s.receive_viewer(viewer, StopSharing(), 4.0)
    assert s.privileges["files"] == "off"
    assert ("privilege_revoked", "rep", {"privilege": "files", "because": "stop"}) in audits(fx)


def test_a_new_agent_replacing_a_dropped_one_is_asked_view_then_files_again() -> None:
    """The visitor restarted the agent while its link was lost: the new
    process holds no yes, so view is asked; once allowed, files (which the
    old one had) is asked too, without the rep asking, so what was crossing
    can resume."""
    s, agent, viewer, rep = sharing()
    s.receive_viewer(viewer, FilesRequest(), 1.0)
    s.receive_agent(Consent(files=True), 1.1)
    s.detach_agent(agent, 2.0)
    assert s.privileges["view"] == "suspended" and s.privileges["files"] == "suspended"
    fresh = End("agent2")
    fx = s.attach_agent(fresh, INTRO, 3.0, resumed=False)
    welcome = texts(fx, fresh)[0]
    assert welcome["t"] == "welcome" and welcome["asks"] == ["view"] and welcome["resumed"] is False
    assert s.privileges["view"] == "asking" and s.privileges["files"] == "off" and s.reasking_files
    fx = s.receive_agent(Consent(view=True), 3.5)
    assert texts(fx, fresh)[-1] == {"t": "files.ask", "rep": INTRO.rep_name}
    assert s.privileges["files"] == "asking" and s.reasking_files
    s.receive_agent(Consent(files=True), 3.6)
    assert s.privileges.granted("files")


def test_a_new_agent_after_a_drop_without_files_is_not_asked_for_files() -> None:
    s, agent, _viewer, _rep = sharing()
    s.detach_agent(agent, 2.0)
    fresh = End("agent2")
    s.attach_agent(fresh, INTRO, 3.0, resumed=False)
    fx = s.receive_agent(Consent(view=True), 3.5)
    assert all(m["t"] != "files.ask" for m in texts(fx, fresh))
    assert s.privileges["files"] == "off" and not s.reasking_files
