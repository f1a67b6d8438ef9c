"""Files in the chat, help box <-> console, through a real server: chunks,
credit, acks, verification, state to both parties, resume, HTTP download."""

from __future__ import annotations

import asyncio
import os

from desklink.testing import AdminAPI, ServerProcess, VisitorClient, wait_until

from ._files import Upload, download, expect_where, open_chat, send_chunk, sha, states, wait_state

MB = 1024 * 1024


async def test_visitor_uploads_and_the_rep_downloads_the_same_bytes(server: ServerProcess, admin: AdminAPI) -> None:
    chat = await open_chat(server, admin)
    data = os.urandom(5 * MB + 123)
    up = Upload(chat.visitor, data, "report.bin")
    state = await up.offer()
    assert state["status"] == "uploading" and state["sender"] == "visitor" and state["by"] == "Vic"
    assert state["size"] == len(data) and state["download"] == ""
    assert up.until - up.acked <= 1024 * 1024  # the credit window
    rep_first = await chat.rep.expect("file.state", id=up.id)
    assert rep_first["name"] == "report.bin" and rep_first["session_id"] == chat.session_id
    await up.send_until(2 * MB)
    # Progress reaches the other party (at most a few times a second).
    await expect_where(chat.rep, lambda m: m.get("t") == "file.state" and m["id"] == up.id and m["received"] >= 2 * MB)
    await up.send_all()
    await up.end()
    ready_rep = await wait_state(chat.rep, up.id, "ready")
    ready_vis = await wait_state(chat.visitor, up.id, "ready")
    assert ready_rep["sha256"] == sha(data) == ready_vis["sha256"]
    assert ready_rep["received"] == len(data) and ready_rep["download"] == ready_vis["download"] != ""
    progress = [s["received"] for s in states(chat.rep, up.id) if s["status"] == "uploading"]
    assert progress == sorted(progress) and 0 < progress[-1] < len(data)
    assert [s["status"] for s in states(chat.rep, up.id)][-1] == "ready"
    r = download(server, ready_rep["download"])
    assert r.status_code == 200 and sha(r.content) == sha(data)
    assert r.headers["content-disposition"].startswith("attachment")
    assert up.bytes_sent == len(data)  # nothing was sent twice
    metrics = server.metrics()
    taken = [line for line in metrics.splitlines() if line.startswith("desklink_files_bytes_in ")]
    assert taken and int(taken[0].split()[1]) >= len(data)
    await chat.close()


async def test_rep_uploads_and_the_visitor_downloads(server: ServerProcess, admin: AdminAPI) -> None:
    chat = await open_chat(server, admin)
    data = os.urandom(700_000)
    up = Upload(chat.rep, data, "fix.sh", session_id=chat.session_id)
    state = await up.run()
    assert state["sender"] == "rep"
    ready = await wait_state(chat.visitor, up.id, "ready")
    assert ready["name"] == "fix.sh" and ready["download"].endswith("/fix.sh")
    r = download(server, ready["download"])
    assert r.status_code == 200 and r.content == data
    await chat.close()


async def test_a_rep_offer_needs_a_session_it_holds(server: ServerProcess, admin: AdminAPI) -> None:
    chat = await open_chat(server, admin)
    await chat.rep.send({"t": "file.offer", "cid": "x1", "name": "a.txt", "size": 3})
    assert (await chat.rep.expect("error"))["code"] == "bad_message"
    await chat.rep.send({"t": "file.offer", "cid": "x2", "name": "a.txt", "size": 3, "session_id": "nope"})
    assert (await chat.rep.expect("error"))["code"] == "forbidden"
    await chat.close()


async def test_resume_after_the_visitor_socket_drops(server: ServerProcess, admin: AdminAPI) -> None:
    chat = await open_chat(server, admin)
    data = os.urandom(3 * MB)
    up = Upload(chat.visitor, data, "dump.bin")
    await up.offer()
    await up.send_until(MB)
    held = up.acked
    await chat.visitor.close()
    visitor = await VisitorClient.open(server, chat.visitor.request_id, chat.visitor.token)
    chat.visitor = visitor
    # The reconnected help box is told about its transfer (cards survive a reload).
    card = await visitor.expect("file.state", id=up.id)
    assert card["status"] == "uploading" and card["received"] >= held
    up.client = visitor
    await up.resume()
    assert up.acked >= held and up.acked % (256 * 1024) == 0
    sent_before = up.bytes_sent
    await up.send_all()
    await up.end()
    ready = await wait_state(visitor, up.id, "ready")
    assert ready["sha256"] == sha(data)
    resent = up.bytes_sent - sent_before - (len(data) - up.acked if False else 0)
    # Only bytes past the durable offset were sent again: at most one window.
    assert up.bytes_sent - len(data) <= 1024 * 1024, resent
    assert download(server, ready["download"]).content == data
    await chat.close()


async def test_a_damaged_chunk_is_sent_again_and_an_out_of_order_one_is_refused(server: ServerProcess, admin: AdminAPI) -> None:
    chat = await open_chat(server, admin)
    data = os.urandom(600_000)
    up = Upload(chat.visitor, data)
    await up.offer()
    await send_chunk(chat.visitor.ws, up.id, 0, data[:100_000], crc_damage=True)
    nak = await chat.visitor.expect("file.nak", id=up.id)
    assert nak["offset"] == 0
    await send_chunk(chat.visitor.ws, up.id, 0, data[:100_000])
    assert (await chat.visitor.expect("file.ack", id=up.id))["acked"] == 100_000
    await send_chunk(chat.visitor.ws, up.id, 200_000, data[200_000:300_000])
    assert (await chat.visitor.expect("file.nak", id=up.id))["offset"] == 100_000
    up.position = up.acked = 100_000
    # Someone else's transfer: the rep may not send bytes for the visitor's file.
    await send_chunk(chat.rep.ws, up.id, 100_000, data[100_000:200_000])
    assert (await chat.rep.expect("error"))["code"] == "forbidden"
    await up.send_all()
    await up.end()
    ready = await wait_state(chat.rep, up.id, "ready")
    assert ready["sha256"] == sha(data)
    assert download(server, ready["download"]).content == data
    await chat.close()


async def test_a_wrong_whole_file_hash_fails_and_nothing_is_downloadable(server: ServerProcess, admin: AdminAPI) -> None:
    chat = await open_chat(server, admin)
    data = os.urandom(300_000)
    up = Upload(chat.visitor, data)
    await up.offer()
    await up.send_all()
    await up.end("0" * 64)
    failed = await wait_state(chat.rep, up.id, "failed")
    assert "damaged" in failed["reason"] and failed["download"] == ""
    await wait_state(chat.visitor, up.id, "failed")
    assert not any(p.name.startswith(str(up.id)) for p in (server.data_dir / "files").iterdir())
    await chat.close()


async def test_cancel_by_the_other_party_stops_it_and_removes_the_file(server: ServerProcess, admin: AdminAPI) -> None:
    chat = await open_chat(server, admin)
    data = os.urandom(2 * MB)
    up = Upload(chat.visitor, data)
    await up.offer()
    await up.send_until(512 * 1024)
    await chat.rep.send({"t": "file.cancel", "id": up.id, "reason": "wrong file"})
    cancelled = await wait_state(chat.visitor, up.id, "cancelled")
    assert cancelled["reason"] == "wrong file"
    await wait_state(chat.rep, up.id, "cancelled")
    assert not (server.data_dir / "files" / f"{up.id}.part").exists()
    await send_chunk(chat.visitor.ws, up.id, up.acked, data[up.acked:up.acked + 1000])
    assert (await chat.visitor.expect("error"))["code"] == "bad_state"
    await chat.close()


async def test_pause_and_go_on(server: ServerProcess, admin: AdminAPI) -> None:
    chat = await open_chat(server, admin)
    data = os.urandom(2 * MB)
    up = Upload(chat.visitor, data)
    await up.offer()
    await up.send_until(256 * 1024)
    await chat.rep.send({"t": "file.pause", "id": up.id, "on": True})
    paused = await wait_state(chat.visitor, up.id, "paused")
    assert paused["paused_by"] == "Rep 0"
    await chat.rep.send({"t": "file.pause", "id": up.id, "on": False})
    await wait_state(chat.visitor, up.id, "uploading")
    # Going on re-opens the window for the uploader; chunks that were in
    # flight when the pause came were naked back to what the server holds.
    ack = await expect_where(chat.visitor, lambda m: m.get("t") == "file.ack" and m["until"] > m["acked"])
    up.acked, up.until, up.position = ack["acked"], ack["until"], ack["acked"]
    await up.send_all()
    await up.end()
    assert (await wait_state(chat.rep, up.id, "ready"))["sha256"] == sha(data)
    await chat.close()


async def test_an_offer_sent_again_makes_no_second_transfer(server: ServerProcess, admin: AdminAPI) -> None:
    chat = await open_chat(server, admin)
    up = Upload(chat.visitor, b"hello")
    first = await up.offer()
    again = await up.offer()
    assert again["id"] == first["id"]
    await up.send_all()
    await up.end()
    await wait_state(chat.rep, up.id, "ready")
    await chat.close()


async def test_the_session_ending_cancels_unfinished_transfers(server: ServerProcess, admin: AdminAPI) -> None:
    chat = await open_chat(server, admin)
    done = Upload(chat.visitor, b"x" * 1000, "kept.txt")
    await done.run()
    ready = await wait_state(chat.rep, done.id, "ready")
    half = Upload(chat.visitor, os.urandom(MB), "half.bin")
    await half.offer()
    await half.send_until(256 * 1024)
    await chat.rep.send({"t": "end", "session_id": chat.session_id, "disposition": "resolved"})
    cancelled = await wait_state(chat.rep, half.id, "cancelled")
    assert cancelled["reason"] == "the session ended"
    await wait_until(lambda: not (server.data_dir / "files" / f"{half.id}.part").exists())
    assert download(server, ready["download"]).content == b"x" * 1000
    await asyncio.sleep(0)
    await chat.close()


async def test_an_empty_file_travels_too(server: ServerProcess, admin: AdminAPI) -> None:
    chat = await open_chat(server, admin)
    up = Upload(chat.visitor, b"", "empty.txt")
    await up.offer()
    assert (up.acked, up.until) == (0, 0)
    await up.end()
    ready = await wait_state(chat.rep, up.id, "ready")
    assert ready["sha256"] == sha(b"")
    r = download(server, ready["download"])
    assert r.status_code == 200 and r.content == b""
    await chat.close()
