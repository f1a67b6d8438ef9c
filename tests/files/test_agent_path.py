"""Files through the visitor's agent, with a scripted agent on a real
server: the files privilege, delivery to the computer under the credit
window, refusal, uploads from the agent, asking for a file, an agent that
drops and resumes, and the visitor taking file access back."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest

from desklink.testing import AdminAPI, ServerProcess, wait_until

from ._agent import ScriptedAgent, Setup, join_agent
from ._files import Upload, download, sha, wait_state

MB = 1024 * 1024


@pytest.fixture
async def setup(server: ServerProcess, admin: AdminAPI) -> AsyncIterator[Setup]:
    s = await join_agent(server, admin)
    yield s
    await s.agent.close()
    await s.viewer.close()
    await s.chat.close()


async def test_a_file_reaches_the_visitors_computer(setup: Setup) -> None:
    assert setup.agent.welcome["limits"]["file_chunk_bytes"] == 256 * 1024
    chat, agent = setup.chat, setup.agent
    data = os.urandom(3 * MB + 5)
    up = Upload(chat.rep, data, "fix.exe", session_id=chat.session_id, to="computer")
    await up.offer()
    offer = await agent.expect("file.offer", id=up.id)
    assert offer["name"] == "fix.exe" and offer["size"] == len(data) and offer["rep"] == "Rep 0"
    inc = await agent.accept(up.id, len(data))
    await up.send_all()  # forwarded to the agent while it still arrives
    await up.end()
    end = await agent.expect("file.end", id=up.id, timeout=30)
    assert end["sha256"] == sha(data) == agent.sha(up.id)
    assert inc.over_credit <= 0  # never a byte past the credit the agent granted
    await agent.send({"t": "file.done", "id": up.id, "saved_as": "/home/vic/Downloads/fix.exe"})
    delivered = await wait_state(chat.rep, up.id, "delivered")
    assert delivered["delivered"] == len(data) and delivered["to"] == "computer" and delivered["download"] == ""
    await wait_state(chat.visitor, up.id, "delivered")


async def test_the_agent_stops_granting_credit_and_the_server_waits(setup: Setup) -> None:
    chat, agent = setup.chat, setup.agent
    data = os.urandom(3 * MB)
    up = Upload(chat.rep, data, "big.bin", session_id=chat.session_id, to="computer")
    await up.offer()
    await agent.expect("file.offer", id=up.id)
    agent.hold_acks = True
    inc = await agent.accept(up.id, len(data))
    await up.send_all()
    await up.end()
    await wait_state(chat.rep, up.id, "delivering")
    # The first window comes; every chunk so far was within the credit granted.
    await agent.take_until(lambda: len(inc.data) >= 1024 * 1024)
    assert inc.over_credit <= 0
    agent.hold_acks = False
    await agent.grant(inc)
    await agent.expect("file.end", id=up.id, timeout=30)
    assert agent.sha(up.id) == sha(data) and inc.over_credit <= 0
    await agent.send({"t": "file.done", "id": up.id})
    await wait_state(chat.rep, up.id, "delivered")


async def test_the_visitor_refuses_a_file(setup: Setup) -> None:
    chat, agent = setup.chat, setup.agent
    up = Upload(chat.rep, b"unwanted", "x.sh", session_id=chat.session_id, to="computer")
    await up.run()
    await agent.expect("file.offer", id=up.id)
    await agent.send({"t": "file.refuse", "id": up.id})
    refused = await wait_state(chat.rep, up.id, "refused")
    assert "refused" in refused["reason"]


async def test_the_agent_uploads_to_the_chat(server: ServerProcess, setup: Setup) -> None:
    chat, agent = setup.chat, setup.agent
    data = os.urandom(MB + 17)
    up = Upload(agent, data, "crash.dmp")
    state = await up.run()
    assert state["via"] == "agent" and state["sender"] == "visitor"
    ready = await wait_state(chat.rep, up.id, "ready")
    assert ready["sha256"] == sha(data)
    assert download(server, ready["download"]).content == data
    # The agent is told too (it shows the visitor the file arrived).
    assert (await wait_state(agent, up.id, "ready"))["via"] == "agent"


async def test_asking_for_a_file(setup: Setup) -> None:
    chat, agent = setup.chat, setup.agent
    await chat.rep.send({"t": "file.ask", "session_id": chat.session_id, "note": "the log please"})
    ask = await agent.expect("file.ask")
    assert ask["note"] == "the log please" and ask["rep"] == "Rep 0"
    up = Upload(agent, b"log line\n" * 100, "app.log")
    await up.offer({"ask": ask["ask"]})
    await up.send_all()
    await up.end()
    await wait_state(chat.rep, up.id, "ready")
    # The same request cannot be answered twice.
    again = Upload(agent, b"x", "other.log")
    await agent.send({"t": "file.offer", "cid": again.cid, "name": "o.log", "size": 1, "ask": ask["ask"]})
    assert (await agent.expect("error"))["code"] == "not_found"
    # Picking nothing is told to the rep.
    await chat.rep.send({"t": "file.ask", "session_id": chat.session_id})
    ask2 = await agent.expect("file.ask")
    await agent.send({"t": "file.refuse", "ask": ask2["ask"]})
    answer = await chat.rep.expect("file.asked", ask=ask2["ask"])
    assert answer["answer"] == "none" and answer["session_id"] == chat.session_id


async def test_an_agent_that_drops_resumes_its_delivery(server: ServerProcess, setup: Setup) -> None:
    chat, agent = setup.chat, setup.agent
    data = os.urandom(3 * MB)
    up = Upload(chat.rep, data, "setup.msi", session_id=chat.session_id, to="computer")
    await up.run()
    await wait_state(chat.rep, up.id, "ready")
    await agent.expect("file.offer", id=up.id)
    inc = await agent.accept(up.id, len(data))
    await agent.take_until(lambda: len(inc.data) >= MB)
    held = bytes(inc.data)
    token = str(agent.welcome["resume"])
    await agent.close()
    await wait_until(lambda: setup.files() == "suspended", what="files suspended")
    back = await ScriptedAgent.resume(server, token)
    setup.agent = back
    offer = await back.expect("file.offer", id=up.id)
    assert offer["size"] == len(data)
    await back.accept(up.id, len(data), offset=len(held), have=held)
    await back.expect("file.end", id=up.id, timeout=30)
    assert back.sha(up.id) == sha(data)
    await back.send({"t": "file.done", "id": up.id})
    await wait_state(chat.rep, up.id, "delivered")


async def test_taking_file_access_back_fails_what_crosses(setup: Setup) -> None:
    chat, agent = setup.chat, setup.agent
    up = Upload(chat.rep, os.urandom(2 * MB), "a.bin", session_id=chat.session_id, to="computer")
    await up.run()
    await agent.expect("file.offer", id=up.id)
    agent.hold_acks = True
    await agent.accept(up.id, 2 * MB)
    await agent.send({"t": "files.revoked"})
    failed = await wait_state(chat.rep, up.id, "failed")
    assert failed["reason"] == "the visitor took file access back"
    await wait_until(lambda: setup.files() == "off", what="files off")
    err_offer = Upload(agent, b"late", "late.txt")
    await agent.send({"t": "file.offer", "cid": err_offer.cid, "name": "late.txt", "size": 4})
    assert (await agent.expect("error"))["code"] == "forbidden"


async def test_without_file_access_nothing_crosses_the_agent(server: ServerProcess, admin: AdminAPI) -> None:
    s = await join_agent(server, admin, grant=False)
    await s.agent.send({"t": "file.offer", "cid": "n1", "name": "secret.txt", "size": 5})
    assert (await s.agent.expect("error"))["code"] == "forbidden"
    await s.chat.rep.send({"t": "file.ask", "session_id": s.chat.session_id})
    assert (await s.chat.rep.expect("error"))["code"] == "forbidden"
    # A file for the computer waits for the privilege, then is offered.
    up = Upload(s.chat.rep, b"later", "later.txt", session_id=s.chat.session_id, to="computer")
    await up.run()
    await wait_state(s.chat.rep, up.id, "ready")
    await s.viewer.send({"t": "files.request"})
    await s.agent.expect("files.ask")
    await s.agent.send({"t": "consent", "files": True})
    assert (await s.agent.expect("file.offer", id=up.id))["name"] == "later.txt"
    await s.agent.close()
    await s.viewer.close()
    await s.chat.close()


async def test_the_screen_keeps_flowing_while_the_agent_uploads(setup: Setup) -> None:
    """Frames and file chunks share the agent's socket: every frame sent
    between chunks reaches the viewer (and is acknowledged) during the upload."""
    from desklink.protocol import screen
    from desklink.protocol.framing import Channel, encode_frame

    chat, agent, viewer = setup.chat, setup.agent, setup.viewer
    data = os.urandom(5 * MB)
    up = Upload(agent, data, "big.log")
    await up.offer()
    seq = 0
    while up.acked < len(data):
        await up.send_window()
        seq += 1
        rect = screen.Rect.fill(0, 0, 64, 48, (seq, seq, seq))
        frame = screen.Frame(seq, seq * 1000, 64, 48, (rect,), screen.FLAG_KEY)
        await agent.ws.send(encode_frame(Channel.SCREEN, frame.encode()))
        await agent.expect("screen.ack", seq=seq)  # drawn by the viewer before the next chunk goes
        up.take(await agent.expect("file.ack", id=up.id))
    assert viewer.frames >= seq >= 4
    await up.end()
    assert (await wait_state(chat.rep, up.id, "ready"))["sha256"] == sha(data)
