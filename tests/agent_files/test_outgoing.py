"""Files from this computer to the rep: picking, hashing first, sending only
within the server's credit, going back on a nak, resuming after a drop."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from desklink.agent import file_paths
from desklink.agent.file_paths import expand_picks
from desklink.agent.files import FileManager
from desklink.protocol.files import Receiver, Take
from desklink.protocol.messages import FileAck, FileCancel, FileEnd, FileNak, FileOffer, FileResume
from desklink.protocol.server_messages import FileState

from ._harness import CHUNK, WINDOW, Wire, chunk_payloads, manager, sha


def _state(cid: str, transfer_id: int, status: str = "uploading", size: int = 0) -> FileState:
    return FileState(id=transfer_id, session_id="s", name="x", size=size, mime="", sender="visitor", by="Vic", to="chat",
                     via="agent", status=status, received=0, delivered=0, sha256="", reason="", download="", created=0.0,  # type: ignore[arg-type]
                     cid=cid)


def _offered(tmp_path: Path, data: bytes, wire: Wire) -> tuple[FileManager, str]:
    src = tmp_path / "notes.txt"
    src.write_bytes(data)
    m = manager(tmp_path / "state", wire)
    (picked,) = expand_picks([src])
    out = m.prepare(picked, ask="a1")
    m.offer(out, m.hash_outgoing(out))
    offer = wire.last(FileOffer)
    assert (offer.name, offer.size, offer.ask, offer.mime) == ("notes.txt", len(data), "a1", "text/plain")
    assert wire.chunks == []  # nothing before the server's id and credit
    m.state(_state(offer.cid, 99, "offered", len(data)))
    return m, offer.cid


def _serve(m: FileManager, wire: Wire, receiver: Receiver, store: bytearray) -> None:
    """The server's side: take chunks in order, answer with acks, until the
    agent sends nothing more."""
    seen = 0
    while seen < len(wire.chunks):
        for chunk in chunk_payloads(wire)[seen:]:
            seen += 1
            result = receiver.feed(chunk)
            if isinstance(result, Take):
                store[result.chunk.offset : result.chunk.end] = result.chunk.data
                m.ack(FileAck(id=99, acked=result.acked, until=result.until))


def test_a_file_goes_within_the_credit_and_ends_with_its_hash(tmp_path: Path) -> None:
    data = os.urandom(10 * CHUNK + 3)
    wire = Wire()
    m, _ = _offered(tmp_path, data, wire)
    m.ack(FileAck(id=99, acked=0, until=WINDOW))
    assert sum(len(c.data) for c in chunk_payloads(wire)) == WINDOW  # exactly the credit, no more
    receiver = Receiver(99, len(data), WINDOW)
    store = bytearray(len(data))
    _serve(m, wire, receiver, store)
    assert bytes(store) == data
    assert wire.last(FileEnd) == FileEnd(id=99, sha256=sha(data))
    m.state(_state("", 99, "ready", len(data)))
    assert m.views()[0].phase == "done" and m.outgoing == {}


def test_a_nak_sends_the_bad_chunk_again(tmp_path: Path) -> None:
    data = os.urandom(4 * CHUNK)
    wire = Wire()
    m, _ = _offered(tmp_path, data, wire)
    m.ack(FileAck(id=99, acked=0, until=WINDOW))
    sent = len(wire.chunks)
    m.ack(FileAck(id=99, acked=CHUNK, until=WINDOW))
    m.nak(FileNak(id=99, offset=CHUNK))
    again = chunk_payloads(wire)[sent:]
    assert again[0].offset == CHUNK
    assert m.resent_bytes >= CHUNK


def test_after_a_reconnect_it_asks_where_to_go_on(tmp_path: Path) -> None:
    data = os.urandom(8 * CHUNK)
    wire = Wire()
    m, _ = _offered(tmp_path, data, wire)
    m.ack(FileAck(id=99, acked=0, until=WINDOW))
    m.ack(FileAck(id=99, acked=2 * CHUNK, until=2 * CHUNK + WINDOW))
    wire.chunks.clear()  # the connection dropped: what was queued is gone
    m.connected()
    assert wire.last(FileResume) == FileResume(id=99)
    m.ack(FileAck(id=99, acked=2 * CHUNK, until=2 * CHUNK + WINDOW))
    assert chunk_payloads(wire)[0].offset == 2 * CHUNK  # from the server's acked, not from where it was
    receiver = Receiver(99, len(data), WINDOW, acked=2 * CHUNK)
    store = bytearray(data[: 2 * CHUNK]) + bytearray(len(data) - 2 * CHUNK)
    _serve(m, wire, receiver, store)
    assert bytes(store) == data and wire.last(FileEnd).sha256 == sha(data)


def test_an_offer_without_an_id_is_sent_again_with_the_same_cid(tmp_path: Path) -> None:
    src = tmp_path / "a.bin"
    src.write_bytes(b"abc")
    wire = Wire()
    m = manager(tmp_path / "state", wire)
    out = m.prepare(expand_picks([src])[0])
    m.offer(out, m.hash_outgoing(out))
    m.connected()
    offers = wire.of(FileOffer)
    assert len(offers) == 2 and offers[0].cid == offers[1].cid


def test_the_visitor_pauses_and_cancels(tmp_path: Path) -> None:
    data = os.urandom(8 * CHUNK)
    wire = Wire()
    m, cid = _offered(tmp_path, data, wire)
    m.pause(99, True, by_visitor=True)
    m.ack(FileAck(id=99, acked=0, until=WINDOW))
    assert wire.chunks == []  # paused: credit or not, nothing goes
    m.pause(99, False, by_visitor=True)
    m.ack(FileAck(id=99, acked=0, until=WINDOW))
    assert wire.chunks
    m.cancel_key(f"out:{cid}")
    assert wire.last(FileCancel).id == 99
    assert m.views()[0].phase == "cancelled"


def test_a_folder_goes_as_its_files_with_relative_names(tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    (folder / "old").mkdir(parents=True)
    (folder / "app.log").write_text("a")
    (folder / "old" / "app.1.log").write_text("b")
    (folder / "link").symlink_to(tmp_path)
    names = sorted(p.name for p in expand_picks([folder]))
    assert names == ["logs/app.log", "logs/old/app.1.log"]


def test_picking_more_files_than_allowed_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(file_paths, "MAX_PICKED_FILES", 3)
    for i in range(4):
        (tmp_path / f"f{i}").write_text("x")
    with pytest.raises(ValueError, match="more than 3"):
        expand_picks([tmp_path])
    with pytest.raises(ValueError, match="not a file"):
        expand_picks([tmp_path / "missing"])


def test_a_file_that_shrinks_while_sent_is_cancelled(tmp_path: Path) -> None:
    data = os.urandom(4 * CHUNK)
    wire = Wire()
    m, _ = _offered(tmp_path, data, wire)
    (tmp_path / "notes.txt").write_bytes(data[:CHUNK])
    m.ack(FileAck(id=99, acked=0, until=WINDOW))
    assert "changed" in wire.last(FileCancel).reason


def test_an_offer_the_server_refuses_fails_with_its_words(tmp_path: Path) -> None:
    wire = Wire()
    m = manager(tmp_path / "state", wire)
    outs = []
    for name in ("a.bin", "b.exe", "c.bin"):
        (tmp_path / name).write_bytes(b"x")
        out = m.prepare(expand_picks([tmp_path / name])[0])
        m.offer(out, m.hash_outgoing(out))
        outs.append(out)
    offers = wire.of(FileOffer)
    m.state(_state(offers[0].cid, 1, "offered", 1))  # a.bin accepted
    m.refused_by_server("file.offer", "files of type exe are not accepted in this queue")  # b.exe: the next unanswered
    m.state(_state(offers[2].cid, 3, "offered", 1))
    views = {v.name: v for v in m.views()}
    assert views["b.exe"].phase == "failed" and "exe" in views["b.exe"].reason
    assert views["a.bin"].phase == "offered" and views["c.bin"].phase == "offered"
