"""No silent watching (relay/session.py rule 7): the visitor's side is told
who watches besides the rep, by name and role, whenever that changes."""

from __future__ import annotations

from desklink.protocol.messages import Consent
from desklink.protocol.server_messages import Watcher, watching_words
from desklink.relay import Effects, ScreenSession, Viewer

from ._fakes import INTRO, REP_ID, SUPERVISOR_ID, End, audits, kinds, new_session, texts

ADMIN_ID = 11
SUE = {"name": "Sue", "role": "supervisor"}
BOB = {"name": "Bob", "role": "admin"}


def sharing() -> tuple[ScreenSession, End, Viewer, End]:
    s = new_session()
    rep = End("rep")
    viewer, _ = s.add_viewer(rep, REP_ID, "Alice", 0.0, "rep")
    agent = End("agent")
    s.attach_agent(agent, INTRO, 0.0, resumed=False)
    s.receive_agent(Consent(view=True), 0.0)
    return s, agent, viewer, rep


def watchers_told(fx: Effects, agent: End) -> list[list[dict[str, str]]]:
    return [m["watchers"] for m in texts(fx, agent) if m["t"] == "screen.watchers"]


def test_the_agent_is_told_when_a_watcher_joins_and_leaves_and_it_is_logged() -> None:
    s, agent, _, rep = sharing()
    sue, fx = s.add_viewer(End("sue"), SUPERVISOR_ID, "Sue", 1.0, "supervisor")
    assert watchers_told(fx, agent) == [[SUE]]
    assert ("watcher_joined", "watcher", {"name": "Sue"}) in audits(fx)
    assert texts(fx, rep)[-1]["watchers"] == ["Sue"]  # the rep sees it too, as before
    bob, fx = s.add_viewer(End("bob"), ADMIN_ID, "Bob", 1.5, "admin")
    assert watchers_told(fx, agent) == [[SUE, BOB]]
    fx = s.remove_viewer(sue, 2.0)
    assert watchers_told(fx, agent) == [[BOB]]
    assert ("watcher_left", "watcher", {"name": "Sue"}) in audits(fx)
    fx = s.remove_viewer(bob, 2.5)
    assert watchers_told(fx, agent) == [[]]
    assert s.remove_viewer(bob, 2.6).deliveries == []  # already gone: nothing to say


def test_the_rep_holding_the_session_is_no_watcher() -> None:
    s, agent, viewer, _ = sharing()
    _, fx = s.add_viewer(End("rep tab"), REP_ID, "Alice", 1.0, "rep")  # a second tab of the rep's
    assert "screen.watchers" not in kinds(fx, agent)
    assert "screen.watchers" not in kinds(s.remove_viewer(viewer, 2.0), agent)


def test_a_person_with_two_viewers_is_one_watcher_and_told_only_on_a_change() -> None:
    s, agent, _, _ = sharing()
    first, fx = s.add_viewer(End("sue 1"), SUPERVISOR_ID, "Sue", 1.0, "supervisor")
    assert watchers_told(fx, agent) == [[SUE]]
    second, fx = s.add_viewer(End("sue 2"), SUPERVISOR_ID, "Sue", 1.1, "supervisor")
    assert watchers_told(fx, agent) == []  # still the same people
    assert ("watcher_joined", "watcher", {"name": "Sue"}) in audits(fx)  # each viewer is logged
    assert watchers_told(s.remove_viewer(first, 2.0), agent) == []  # Sue still watches in the other
    assert watchers_told(s.remove_viewer(second, 2.1), agent) == [[]]


def test_a_watcher_before_the_agent_is_in_its_welcome_and_a_returning_agent_is_told_afresh() -> None:
    s = new_session()
    sue, fx = s.add_viewer(End("sue"), SUPERVISOR_ID, "Sue", 0.0, "supervisor")
    assert all("screen.watchers" not in str(d.data) for d in fx.deliveries)  # no agent yet to tell
    agent = End("agent")
    welcome = texts(s.attach_agent(agent, INTRO, 0.5, resumed=False), agent)[0]
    assert welcome["t"] == "welcome" and welcome["watchers"] == [SUE]
    s.detach_agent(agent, 1.0)
    s.remove_viewer(sue, 1.5)  # she left while the agent's link was down
    again = End("agent again")
    fx = s.attach_agent(again, INTRO, 2.0, resumed=True)
    welcome = texts(fx, again)[0]
    assert "watchers" not in welcome  # nobody: left out, and the agent clears what it showed
    assert "screen.watchers" not in kinds(fx, again)


def test_watching_words() -> None:
    assert watching_words([]) == ""
    assert watching_words([Watcher("Sue", "supervisor")]) == "Sue (supervisor) is watching"
    two = [Watcher("Sue", "supervisor"), Watcher("Bob", "admin")]
    assert watching_words(two) == "Sue (supervisor) and Bob (admin) are watching"
    assert watching_words([*two, Watcher("Ann", "admin")]) == "Sue (supervisor), Bob (admin) and Ann (admin) are watching"
