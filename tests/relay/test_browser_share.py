"""The relay core with a browser sharing (source ``browser``, ``/ws/share``):
view only, no grace period, stop reasons, the agent taking over."""

from __future__ import annotations

import dataclasses

import pytest

from desklink.errors import Forbidden
from desklink.protocol.messages import Consent, ControlRequest, ScreenAck, StopSharing
from desklink.relay import ScreenSession, Viewer
from desklink.relay.session import AGENT_TOOK_OVER, BROWSER_PAGE_GONE, BROWSER_VIEW_ONLY

from ._fakes import INTRO, REP_ID, End, audits, frames, kinds, new_session, texts

BROWSER = dataclasses.replace(INTRO, source="browser")


def browser_sharing() -> tuple[ScreenSession, End, Viewer, End]:
    s = new_session()
    rep = End("rep")
    viewer, _ = s.add_viewer(rep, REP_ID, "Alice", 0.0)
    page = End("page")
    fx = s.attach_agent(page, BROWSER, 0.0, resumed=False)
    assert texts(fx, page)[0]["asks"] == ["view"]
    assert texts(fx, rep)[-1]["source"] == "browser"
    s.receive_agent(Consent(view=True), 0.0)
    return s, page, viewer, rep


def test_chunks_go_through_the_viewer_window_like_frames() -> None:
    s, page, viewer, rep = browser_sharing()
    assert frames(s.receive_agent_frame(b"k", 1, True, 1.0), rep) == 1
    assert frames(s.receive_agent_frame(b"d", 2, False, 1.0), rep) == 1
    assert frames(s.receive_agent_frame(b"d", 3, False, 1.0), rep) == 0  # window of two is full
    fx = s.receive_viewer(viewer, ScreenAck(2), 1.1)  # caught up after a skip: ask for a key frame
    assert kinds(fx, page) == ["screen.ack", "screen.refresh"]


def test_control_is_refused_with_the_reason() -> None:
    s, _page, viewer, _rep = browser_sharing()
    with pytest.raises(Forbidden) as info:
        s.receive_viewer(viewer, ControlRequest(), 1.0)
    assert info.value.message == BROWSER_VIEW_ONLY
    assert s.privileges["control"] == "off"


def test_the_page_going_away_stops_at_once_with_why() -> None:
    s, page, _viewer, rep = browser_sharing()
    fx = s.detach_agent(page, 1.0)
    (state,) = texts(fx, rep)
    assert (state["status"], state["by"], state["reason"]) == ("stopped", "visitor", BROWSER_PAGE_GONE)
    assert ("sharing_stopped", "visitor", {"by": "visitor", "reason": BROWSER_PAGE_GONE}) in audits(fx)  # why, on the timeline too
    assert s.idle() is False and s.ended == "stopped"


@pytest.mark.parametrize(
    ("why", "reason"),
    [
        ("stop_button", "the visitor pressed Stop in the help box"),
        ("browser_bar", "the visitor stopped sharing with the browser's own button"),
        ("page_closed", "the visitor closed or left the page"),
        ("", None),
    ],
)
def test_the_visitors_stops_say_which(why: str, reason: str | None) -> None:
    s, _page, _viewer, rep = browser_sharing()
    fx = s.receive_agent(StopSharing(why=why), 1.0)  # type: ignore[arg-type]
    state = texts(fx, rep)[-1]
    assert state["status"] == "stopped" and state.get("reason") == reason


def test_the_agent_takes_over_from_the_browser() -> None:
    s, page, _viewer, rep = browser_sharing()
    agent = End("agent")
    fx = s.attach_agent(agent, INTRO, 2.0, resumed=False)
    assert kinds(fx, page) == ["ended"] and [(c.to, c.reason) for c in fx.closes] == [(page, AGENT_TOOK_OVER)]
    assert texts(fx, agent)[0]["asks"] == ["view"]  # the agent asks the visitor itself
    state = texts(fx, rep)[-1]
    assert "source" not in state and state["status"] == "asking"  # omitted: the default, "agent"
    # The browser's socket closing afterwards changes nothing.
    assert s.detach_agent(page, 2.1).deliveries == []
    s.receive_agent(Consent(view=True), 2.2)
    assert s.sharing and s.source == "agent"
