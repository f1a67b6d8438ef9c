"""The client's file side on a real event loop, with a UI that records what
it is asked to show: questions that go away are not left waiting, and an
offer the rep cancels is not answered."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from desklink.agent.file_link import FileLink
from desklink.agent.session import AgentSession, FilesChanged
from desklink.protocol.messages import FileCancel
from desklink.protocol.server_messages import FileAskOut, FileOfferOut

from .test_session_files import _welcomed


class RecordingUI:
    def __init__(self) -> None:
        self.posts: list[tuple[str, tuple[Any, ...]]] = []

    def run(self) -> None:
        return None

    def post(self, command: str, *args: Any) -> None:
        self.posts.append((command, args))

    def commands(self) -> list[str]:
        return [c for c, _ in self.posts]


def _granted() -> AgentSession:
    core = _welcomed()
    core.receive('{"t":"files.ask","rep":"Rita"}', 1.0)
    core.answer("files", True)
    while core.data_to_send() is not None:
        pass
    return core


def _sent(core: AgentSession) -> list[Any]:
    out = []
    while (item := core.data_to_send()) is not None:
        out.append(item)
    return out


async def _settled(link: FileLink) -> None:
    for _ in range(100):
        await asyncio.sleep(0)
    await asyncio.gather(*link.tasks, return_exceptions=True)


async def test_an_offer_the_rep_cancels_closes_its_window_unanswered(tmp_path: Path) -> None:
    core, ui = _granted(), RecordingUI()
    link = FileLink(core, ui, "http://x", kick=lambda: None, files_dir=tmp_path / "d", state_dir=tmp_path / "s")  # type: ignore[arg-type]
    link.event(FileOfferOut(id=4, name="a.txt", size=3, mime="", rep="Rita"))
    await asyncio.sleep(0)
    assert "file_offer" in ui.commands()
    link.event(FileOfferOut(id=4, name="a.txt", size=3, mime="", rep="Rita"))  # offered again: not asked twice
    assert ui.commands().count("file_offer") == 1
    link.event(FileCancel(id=4, reason="cancelled by Rita"))
    assert "file_offer_gone" in ui.commands()
    await _settled(link)
    assert link.tasks == set() and link.questions == {}
    assert not any("file.refuse" in str(m) or "file.accept" in str(m) for m in _sent(core))


async def test_questions_end_with_file_sharing(tmp_path: Path) -> None:
    core, ui = _granted(), RecordingUI()
    link = FileLink(core, ui, "http://x", kick=lambda: None, state_dir=tmp_path / "s")  # type: ignore[arg-type]
    link.event(FileAskOut(ask="q1", rep="Rita"))
    link.event(FileOfferOut(id=5, name="b.txt", size=3, mime="", rep="Rita"))
    await asyncio.sleep(0)
    assert {"file_ask", "file_offer"} <= set(ui.commands())
    for action in core.revoke_files():
        assert isinstance(action, FilesChanged)
        link.privilege(action)
    await _settled(link)
    assert link.tasks == set() and link.questions == {}
    sent = _sent(core)
    assert any("files.revoked" in str(m) for m in sent)
    assert not any("file.refuse" in str(m) for m in sent)  # nothing to answer once file sharing is off
    # The visitor's late answer to a window that is gone changes nothing.
    reply = next(args[1] for c, args in ui.posts if c == "file_offer")
    reply(tmp_path)
    await asyncio.sleep(0)
    assert not _sent(core)


async def test_the_visitor_declines_a_request(tmp_path: Path) -> None:
    core, ui = _granted(), RecordingUI()
    link = FileLink(core, ui, "http://x", kick=lambda: None, state_dir=tmp_path / "s")  # type: ignore[arg-type]
    link.event(FileAskOut(ask="q2", rep="Rita", note="a log"))
    await asyncio.sleep(0)
    question, reply = next(args for c, args in ui.posts if c == "file_ask")
    assert question.note == "a log"
    reply(None)
    await _settled(link)
    assert _sent(core) == ['{"t":"file.refuse","id":0,"ask":"q2"}']
