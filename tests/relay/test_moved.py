"""A session arriving at a new relay node after its own died
(relay/moved.py): the same agent process keeps what the visitor allowed."""

from __future__ import annotations

from desklink.protocol.messages import Consent
from desklink.relay.moved import carry_over

from ._fakes import INTRO, REP_ID, End, audits, new_session, texts


def test_kept_view_and_files_resume_without_asking() -> None:
    s = new_session()
    rep = End("rep")
    s.add_viewer(rep, REP_ID, "Alice", 0.0)
    assert carry_over(s, ["view", "files"]) is True
    agent = End("agent")
    fx = s.attach_agent(agent, INTRO, 0.0, resumed=True)
    (welcome, *_) = texts(fx, agent)
    assert welcome["resumed"] is True and welcome["asks"] == []
    assert s.privileges["view"] == "granted" and s.privileges["files"] == "granted"
    assert ("privilege_asked", "rep", {"privilege": "view"}) not in audits(fx)
    assert ("agent_resumed", "visitor", {}) in audits(fx)


def test_nothing_is_kept_without_view() -> None:
    s = new_session()
    assert carry_over(s, ["files"]) is False
    assert carry_over(s, []) is False
    agent = End("agent")
    fx = s.attach_agent(agent, INTRO, 0.0, resumed=False)
    assert texts(fx, agent)[0]["asks"] == ["view"]


def test_a_session_with_an_agent_or_a_refusal_here_keeps_nothing() -> None:
    s = new_session()
    agent = End("agent")
    s.attach_agent(agent, INTRO, 0.0, resumed=False)
    assert carry_over(s, ["view"]) is False  # an agent holds it here
    s.receive_agent(Consent(view=False), 0.0)
    s.detach_agent(agent, 1.0)
    assert carry_over(s, ["view"]) is False  # the visitor said no here
    assert s.privileges["view"] == "off"
    fresh = new_session()
    fresh.privileges.states["view"] = "asking"
    assert carry_over(fresh, ["view"]) is False  # a question is open here: not overruled
    assert fresh.privileges["view"] == "asking"
