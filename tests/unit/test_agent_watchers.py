"""No silent watching, on the agent's side: the core turns the welcome's
watchers and ``screen.watchers`` into changes for the indicator (each
change once, with names and roles); the terminal UI prints who started and
who stopped watching."""

from __future__ import annotations

import io

from desklink.agent.session import AgentSession, AskVisitor, WatchersChanged
from desklink.agent.ui import Hooks, TerminalUI
from desklink.protocol.server_messages import AgentLimits, AgentWelcome, Named, ScreenWatchers, Watcher, encode_out

SUE = Watcher("Sue", "supervisor")
BOB = Watcher("Bob", "admin")


def _welcome(watchers: list[Watcher], *, resumed: bool = False) -> str:
    return encode_out(AgentWelcome(session_id="s", provider="Acme", rep=Named("Rita"), visitor=Named("Vic"), asks=["view"],
                                   resume="r", resumed=resumed, limits=AgentLimits(65536, 1 << 20, 1000, 100, 4, 5.0, 15.0),
                                   watchers=watchers))


def _watchers(*watchers: Watcher) -> str:
    return encode_out(ScreenWatchers(watchers=list(watchers)))


def test_watchers_in_the_welcome_are_shown_before_the_question() -> None:
    core = AgentSession(code="123456789")
    core.connected(0.0)
    actions = core.receive(_welcome([SUE]), 0.0)
    assert actions == [WatchersChanged("Sue (supervisor) is watching", ["Sue (supervisor)"], []),
                       AskVisitor("view", "Rita", "Acme")]


def test_each_change_is_shown_once_and_a_returning_link_shows_what_changed_meanwhile() -> None:
    core = AgentSession(code="123456789")
    core.connected(0.0)
    assert core.receive(_welcome([]), 0.0) == [AskVisitor("view", "Rita", "Acme")]
    assert core.receive(_watchers(SUE), 1.0) == [WatchersChanged("Sue (supervisor) is watching", ["Sue (supervisor)"], [])]
    assert core.receive(_watchers(SUE), 1.1) == []
    assert core.receive(_watchers(SUE, BOB), 1.2) == [
        WatchersChanged("Sue (supervisor) and Bob (admin) are watching", ["Bob (admin)"], [])
    ]
    assert core.receive(_watchers(BOB), 1.3) == [WatchersChanged("Bob (admin) is watching", [], ["Sue (supervisor)"])]
    core.connected(2.0)  # the link dropped and came back; Bob left meanwhile
    actions = core.receive(_welcome([], resumed=True), 2.0)
    assert actions[0] == WatchersChanged("", [], ["Bob (admin)"])
    assert core.watchers == []


def test_the_terminal_prints_who_starts_and_stops_watching() -> None:
    out = io.StringIO()
    ui = TerminalUI(Hooks(stop=lambda: None), stdout=out)
    for change in (WatchersChanged("Sue (supervisor) is watching", ["Sue (supervisor)"], []),
                   WatchersChanged("", [], ["Sue (supervisor)"])):
        ui.post("watchers", change.words, change.joined, change.left)
    ui.post("quit")
    ui.run()
    assert out.getvalue().splitlines() == ["Sue (supervisor) is watching your screen.", "Sue (supervisor) stopped watching your screen."]


def test_a_transfer_renames_the_rep_on_the_indicator() -> None:
    from desklink.agent.session import StartSharing

    core = AgentSession(code="123456789")
    core.connected(0.0)
    core.receive(_welcome([]), 0.0)
    renamed = encode_out(ScreenWatchers(watchers=[], rep=Named("Bob")))
    assert core.receive(renamed, 0.5) == []  # not sharing yet: later questions name Bob
    assert core.answer("view", True) == [StartSharing("Bob")]
    assert core.receive(encode_out(ScreenWatchers(watchers=[], rep=Named("Carl"))), 1.0) == [StartSharing("Carl")]
    assert core.receive(encode_out(ScreenWatchers(watchers=[], rep=Named("Carl"))), 1.1) == []
