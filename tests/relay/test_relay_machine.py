"""The two gates, driven at random: the relay core and the agent's core,
wired together without a network. Whatever happens (requests, answers,
revokes, releases, drops, resumes, stops, input from the rep and from a
watcher), no input reaches the agent while the relay's control is not
granted, and the agent injects none while its own is not."""

from __future__ import annotations

import json

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from desklink.agent.session import AgentSession, AskVisitor, Inject
from desklink.errors import DeskLinkError
from desklink.protocol.messages import ControlRelease, ControlRequest, StopSharing, decode_agent, decode_viewer
from desklink.relay import Effects

from ._fakes import INTRO, REP_ID, SUPERVISOR_ID, End, new_session

MOVE = '{"t":"input","events":[{"k":"move","x":3,"y":4}]}'


class TwoGates(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0
        self.relay = new_session(input_events_per_s=10_000)
        self.rep_end, self.sup_end = End("rep"), End("sup")
        self.rep, _ = self.relay.add_viewer(self.rep_end, REP_ID, "Alice", 0.0)
        self.watcher, _ = self.relay.add_viewer(self.sup_end, SUPERVISOR_ID, "Sam", 0.0)
        self.agent = AgentSession(code="123456789")
        self.agent.connected(0.0)
        self.agent_end: End | None = None
        self.asked: list[str] = []
        self.injected_while_not_granted = False
        self.forwarded_while_not_granted = False
        self.connect()
        self.visitor_answers(True)  # view

    # ---------------------------------------------------------------- wiring
    def pump(self, fx: Effects) -> None:
        """Carry the relay's deliveries to the agent core; its answers back."""
        for d in fx.deliveries:
            if d.to is not self.agent_end or not isinstance(d.data, str):
                continue
            msg = json.loads(d.data)
            if msg["t"] == "input" and not self.relay.privileges.granted("control"):
                self.forwarded_while_not_granted = True
            for action in self.agent.receive(d.data, self.now):
                if isinstance(action, AskVisitor):
                    self.asked.append(action.privilege)
                if isinstance(action, Inject) and action.events and not self.agent.privileges.granted("control"):
                    if any(type(e).__name__ != "EvRelease" for e in action.events):
                        self.injected_while_not_granted = True
        self.flush_agent()

    def flush_agent(self) -> None:
        while (item := self.agent.data_to_send()) is not None:
            if isinstance(item, bytes) or self.agent_end is None:
                continue
            msg = decode_agent(item)
            try:
                self.pump(self.relay.receive_agent(msg, self.now))
            except DeskLinkError:
                pass  # refused by the relay: an error to the agent, nothing else

    def connect(self) -> None:
        self.agent_end = End("agent")
        self.agent.connected(self.now)
        self.pump(self.relay.attach_agent(self.agent_end, INTRO, self.now, resumed=bool(self.agent.resume)))

    # ----------------------------------------------------------------- rules
    @rule()
    def tick(self) -> None:
        self.now += 0.1

    @precondition(lambda self: self.agent_end is not None)
    @rule()
    def rep_requests_control(self) -> None:
        try:
            self.pump(self.relay.receive_viewer(self.rep, ControlRequest(), self.now))
        except DeskLinkError:
            pass

    @rule(allowed=st.booleans())
    def visitor_answers(self, allowed: bool) -> None:
        if self.asked:
            privilege = self.asked.pop(0)
            self.agent.answer(privilege, allowed)  # type: ignore[arg-type]
            self.flush_agent()

    @rule()
    def visitor_revokes(self) -> None:
        self.agent.revoke_control()
        self.flush_agent()

    @rule()
    def rep_releases(self) -> None:
        try:
            self.pump(self.relay.receive_viewer(self.rep, ControlRelease(), self.now))
        except DeskLinkError:
            pass

    @rule(from_rep=st.booleans())
    def input(self, from_rep: bool) -> None:
        viewer = self.rep if from_rep else self.watcher
        try:
            fx = self.relay.receive_viewer(viewer, decode_viewer(MOVE), self.now)
        except DeskLinkError:
            return
        assert from_rep, "a watcher's input was accepted"
        self.pump(fx)

    @precondition(lambda self: self.agent_end is not None)
    @rule()
    def link_drops(self) -> None:
        assert self.agent_end is not None
        self.pump(self.relay.detach_agent(self.agent_end, self.now))
        self.agent.disconnected()
        self.asked.clear()
        self.agent_end = None
        assert not self.relay.privileges.granted("control")

    @precondition(lambda self: self.agent_end is None and self.relay.ended is None)
    @rule()
    def agent_comes_back(self) -> None:
        self.connect()

    @rule()
    def rep_stops(self) -> None:
        try:
            self.pump(self.relay.receive_viewer(self.rep, StopSharing(), self.now))
        except DeskLinkError:
            pass

    @invariant()
    def no_input_outside_granted(self) -> None:
        assert not self.forwarded_while_not_granted
        assert not self.injected_while_not_granted

    @invariant()
    def relay_control_needs_view(self) -> None:
        if self.relay.privileges["control"] == "granted":
            assert self.relay.privileges["view"] == "granted" and self.agent_end is not None


TestTwoGates = TwoGates.TestCase
TestTwoGates.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
