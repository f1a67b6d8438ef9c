"""The files privilege in the agent's core: asked, answered, taken back,
ended; file messages reach the transfer manager only while it holds."""

from __future__ import annotations

import msgspec

from desklink.agent.session import AgentSession, AskVisitor, FileEvent, FilesChanged
from desklink.protocol.messages import Consent, FilesRevoked, encode
from desklink.protocol.server_messages import AgentLimits, AgentWelcome, Named, encode_out


def _welcomed() -> AgentSession:
    core = AgentSession(code="123456789")
    core.connected(0.0)
    welcome = AgentWelcome(session_id="s", provider="Acme", rep=Named("Rita"), visitor=Named("Vic"), asks=["view"], resume="r",
                           resumed=False, limits=AgentLimits(65536, 1 << 20, 1000, 100, 4, 5.0, 15.0))
    core.receive(encode_out(welcome), 0.0)
    core.answer("view", True)
    while core.data_to_send() is not None:
        pass
    return core


def _sent(core: AgentSession) -> list[object]:
    out = []
    while (item := core.data_to_send()) is not None:
        out.append(item)
    return out


OFFER = '{"t":"file.offer","id":3,"name":"a.txt","size":4,"mime":"text/plain","rep":"Rita"}'


def test_files_are_asked_then_granted() -> None:
    core = _welcomed()
    assert core.receive(OFFER, 1.0) == []  # nothing file-related before the visitor's yes
    actions = core.receive('{"t":"files.ask","rep":"Rita"}', 1.0)
    assert actions == [AskVisitor("files", "Rita", "Acme")]
    assert actions[0].what == "send files to and from your computer"
    assert core.answer("files", True) == [FilesChanged(True)]
    assert _sent(core) == [encode(Consent(files=True))]
    (event,) = core.receive(OFFER, 2.0)
    assert isinstance(event, FileEvent) and event.msg.name == "a.txt"
    state = core.receive('{"t":"file.state","id":3,"session_id":"s","name":"a","size":1,"mime":"","sender":"visitor","by":"V",'
                         '"to":"chat","via":"agent","status":"offered","received":0,"delivered":0,"sha256":"","reason":"",'
                         '"download":"","created":0,"cid":"c1"}', 2.0)
    assert isinstance(state[0], FileEvent) and state[0].msg.cid == "c1"


def test_the_visitor_takes_files_back_and_the_rep_ends_them() -> None:
    core = _welcomed()
    core.receive('{"t":"files.ask","rep":"Rita"}', 1.0)
    core.answer("files", True)
    _sent(core)
    assert core.revoke_files() == [FilesChanged(False, "you stopped file sharing")]
    assert _sent(core) == [encode(FilesRevoked())]
    assert core.receive(OFFER, 2.0) == []
    core.receive('{"t":"files.ask","rep":"Rita"}', 3.0)
    core.answer("files", True)
    (changed,) = core.receive('{"t":"files.end","by":"rep"}', 4.0)
    assert isinstance(changed, FilesChanged) and not changed.granted
    assert core.receive(OFFER, 5.0) == []


def test_a_denied_files_ask_sends_no_and_grants_nothing() -> None:
    core = _welcomed()
    core.receive('{"t":"files.ask","rep":"Rita"}', 1.0)
    assert core.answer("files", False) == [FilesChanged(False)]
    sent = msgspec.json.decode(_sent(core)[0])
    assert sent["t"] == "consent" and sent["files"] is False and not sent.get("view") and not sent.get("control")
    assert core.receive(OFFER, 2.0) == []


def test_files_survive_a_resumed_link() -> None:
    core = _welcomed()
    core.receive('{"t":"files.ask","rep":"Rita"}', 1.0)
    core.answer("files", True)
    core.disconnected()
    core.connected(2.0)
    welcome = AgentWelcome(session_id="s", provider="Acme", rep=Named("Rita"), visitor=Named("Vic"), asks=[], resume="r",
                           resumed=True, limits=AgentLimits(65536, 1 << 20, 1000, 100, 4, 5.0, 15.0))
    actions = core.receive(encode_out(welcome), 2.0)
    assert FilesChanged(True) in actions
    assert core.privileges.granted("files")
