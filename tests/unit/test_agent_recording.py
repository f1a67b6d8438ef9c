"""The visitor is always told about recording: the agent's core carries the
queue's policy into the view question and turns ``screen.recording`` into
a change for the indicator; the terminal UI prints both."""

from __future__ import annotations

import io

from desklink.agent.session import AgentSession, AskVisitor, RecordingChanged
from desklink.agent.ui import Ask, Hooks, TerminalUI
from desklink.protocol.server_messages import (
    RECORDING_NOTICE,
    AgentLimits,
    AgentWelcome,
    Named,
    RecordingPolicy,
    ScreenRecording,
    encode_out,
)


def _welcome(policy: RecordingPolicy, *, resumed: bool = False) -> str:
    return encode_out(AgentWelcome(session_id="s", provider="Acme", rep=Named("Rita"), visitor=Named("Vic"), asks=["view"],
                                   resume="r", resumed=resumed, limits=AgentLimits(65536, 1 << 20, 1000, 100, 4, 5.0, 15.0),
                                   recording=policy))


def _core(policy: RecordingPolicy) -> tuple[AgentSession, list[object]]:
    core = AgentSession(code="123456789")
    core.connected(0.0)
    return core, list(core.receive(_welcome(policy), 0.0))


def test_the_view_question_carries_the_policy() -> None:
    for policy in ("always", "on_request", "never"):
        _, actions = _core(policy)
        assert actions == [AskVisitor("view", "Rita", "Acme", policy)]
    assert RECORDING_NOTICE["always"] == "This session's screen will be recorded."
    assert RECORDING_NOTICE["on_request"] == "The support rep may record the screen; you will see when."
    assert "never" not in RECORDING_NOTICE


def test_a_never_welcome_omits_the_field_and_means_never() -> None:
    assert '"recording"' not in _welcome("never")
    core, _ = _core("never")
    assert core.recording_policy == "never"


def test_recording_changes_are_shown_once_and_failures_always() -> None:
    core, _ = _core("on_request")
    core.answer("view", True)
    on = encode_out(ScreenRecording(on=True, policy="on_request"))
    assert core.receive(on, 1.0) == [RecordingChanged(True)]
    assert core.receive(on, 1.5) == []  # said again after a resume: nothing new to show
    failed = encode_out(ScreenRecording(on=False, policy="on_request", error="disk full"))
    assert core.receive(failed, 2.0) == [RecordingChanged(False, "disk full")]
    assert core.recording is False


def test_a_fresh_start_ends_a_recording_shown_before() -> None:
    core, _ = _core("always")
    core.answer("view", True)
    core.receive(encode_out(ScreenRecording(on=True, policy="always")), 1.0)
    actions = core.receive(_welcome("always"), 2.0)  # the link came back too late: asked again
    assert RecordingChanged(False) in actions


def test_the_terminal_prints_the_wording_and_the_recording() -> None:
    out = io.StringIO()
    ui = TerminalUI(Hooks(stop=lambda: None), stdin=io.StringIO("y\n"), stdout=out)
    answers: list[bool] = []
    ui._ask(Ask(provider="Acme", rep="Rita", what="see your screen", recording=RECORDING_NOTICE["always"]), answers.append)
    ui._recording(True)
    ui._recording(False)
    ui._recording(False, "the disk is full")
    text = out.getvalue()
    assert answers == [True]
    assert "This session's screen will be recorded." in text
    assert text.index("will be recorded") < text.index("Allow?")
    assert "Recording: your screen is being recorded." in text
    assert "Recording stopped." in text
    assert "Recording failed: the disk is full" in text


def test_the_terminal_says_nothing_of_recording_under_never() -> None:
    out = io.StringIO()
    ui = TerminalUI(Hooks(stop=lambda: None), stdin=io.StringIO("n\n"), stdout=out)
    ui._ask(Ask(provider="Acme", rep="Rita", what="see your screen"), lambda _a: None)
    assert "record" not in out.getvalue().lower()
