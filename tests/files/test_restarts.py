"""Transfers across a server restart (the bytes on disk are the truth and
the hash is rebuilt from them) and an agent that never comes back (its
grace period ends sharing, which fails what was crossing it)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from desklink.testing import ONE_ADDRESS_ENV, AdminAPI, ServerProcess, VisitorClient, wait_until

from ._agent import join_agent
from ._files import Upload, download, open_chat, sha, wait_state

MB = 1024 * 1024


async def test_an_upload_resumes_after_a_server_restart() -> None:
    with tempfile.TemporaryDirectory(prefix="desklink-restart-") as tmp:
        data_dir = Path(tmp)
        first = ServerProcess(data_dir=data_dir, env=ONE_ADDRESS_ENV).start()
        admin = AdminAPI(first)
        try:
            chat = await open_chat(first, admin, "rst")
            data = os.urandom(3 * MB)
            up = Upload(chat.visitor, data, "core.dump")
            await up.offer()
            await up.send_until(MB)
            await chat.close()
        finally:
            admin.close()
            password = first.admin_password
            first.stop()
        held = (data_dir / "files" / f"{up.id}.part").stat().st_size
        assert held >= MB
        second = ServerProcess(data_dir=data_dir, env=ONE_ADDRESS_ENV, port=first.port).start()
        second.admin_password = password
        try:
            visitor = await VisitorClient.open(second, chat.visitor.request_id, chat.visitor.token)
            card = await visitor.expect("file.state", id=up.id)
            assert card["status"] == "uploading"
            up.client = visitor
            await up.resume()
            assert up.acked == held  # exactly the bytes on disk
            await up.send_all()
            await up.end()  # verified against a hash rebuilt from the disk
            ready = await wait_state(visitor, up.id, "ready")
            assert ready["sha256"] == sha(data)
            assert download(second, ready["download"]).content == data
            await visitor.close()
        finally:
            second.stop()


async def test_an_agent_gone_past_its_grace_period_fails_its_delivery() -> None:
    with ServerProcess(env={**ONE_ADDRESS_ENV, "DESKLINK_AGENT_GRACE_S": "1"}) as server:
        admin = AdminAPI(server)
        try:
            s = await join_agent(server, admin)
            up = Upload(s.chat.rep, os.urandom(2 * MB), "fix.bin", session_id=s.chat.session_id, to="computer")
            await up.run()
            await s.agent.expect("file.offer", id=up.id)
            s.agent.hold_acks = True
            await s.agent.accept(up.id, 2 * MB)
            await s.agent.close()
            await wait_until(lambda: s.files() == "off", what="files ended by the grace period")
            failed = await wait_state(s.chat.rep, up.id, "failed")
            assert failed["reason"] == "file access to the visitor's computer ended"
            await s.viewer.close()
            await s.chat.close()
        finally:
            admin.close()
