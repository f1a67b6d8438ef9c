"""A rep asks for a file on the visitor's computer: one open request per
session at a time (review finding 7). Scripted agent, real server."""

from __future__ import annotations

from desklink.testing import AdminAPI, ServerProcess

from ._agent import join_agent


async def test_one_open_file_request_per_session(server: ServerProcess, admin: AdminAPI) -> None:
    s = await join_agent(server, admin)
    chat, agent = s.chat, s.agent
    try:
        await chat.rep.send({"t": "file.ask", "session_id": chat.session_id, "note": "the log"})
        first = await agent.expect("file.ask")
        await chat.rep.send({"t": "file.ask", "session_id": chat.session_id, "note": "and another"})
        err = await chat.rep.expect("error")
        assert err["code"] == "bad_state" and "already asked the visitor for a file" in err["message"]
        # Once answered (nothing picked), the rep may ask again.
        await agent.send({"t": "file.refuse", "ask": first["ask"]})
        await chat.rep.expect("file.asked", ask=first["ask"])
        await chat.rep.send({"t": "file.ask", "session_id": chat.session_id, "note": "try again"})
        again = await agent.expect("file.ask")
        assert again["note"] == "try again" and again["ask"] != first["ask"]
        assert [m["note"] for m in agent.received if m.get("t") == "file.ask"] == ["the log", "try again"]
    finally:
        await agent.close()
        await s.viewer.close()
        await chat.close()
