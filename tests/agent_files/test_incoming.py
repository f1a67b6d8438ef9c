"""Files from the rep to this computer: the agent's transfer manager with
real files on disk, fed chunks made with the protocol's own codec."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from desklink.agent.file_paths import PART_SUFFIX
from desklink.protocol.files import encode_chunk
from desklink.protocol.messages import FileAccept, FileAck, FileDone, FileFailed, FileNak

from ._harness import CHUNK, WINDOW, Wire, feed, finish, manager, offer_of, sha


def _hidden(dest: Path) -> list[Path]:
    return [p for p in dest.rglob("*") if p.name.endswith(PART_SUFFIX)]


def test_bytes_arrive_and_the_name_appears_only_after_verification(tmp_path: Path) -> None:
    data = os.urandom(3 * 1024 * 1024 + 123)
    wire = Wire()
    m = manager(tmp_path / "state", wire)
    dest = tmp_path / "Downloads"
    m.accept(offer_of(data), dest)
    assert wire.sent[0] == FileAccept(id=7, offset=0)
    assert wire.sent[1] == FileAck(id=7, acked=0, until=WINDOW)
    feed(m, wire, 7, data)
    assert wire.last(FileAck).acked == len(data)
    # Every byte is held, but until file.end is checked nothing has the final name.
    assert not (dest / "report.pdf").exists()
    assert len(_hidden(dest)) == 1 and _hidden(dest)[0].name.startswith(".")
    finish(m, 7, sha(data))
    assert (dest / "report.pdf").read_bytes() == data
    assert wire.last(FileDone) == FileDone(id=7, saved_as=str(dest / "report.pdf"))
    assert _hidden(dest) == []
    assert list((tmp_path / "state" / "transfers").iterdir()) == []  # the resume record is gone
    assert m.views()[0].phase == "done"


def test_a_damaged_chunk_is_asked_for_again_and_the_file_completes(tmp_path: Path) -> None:
    data = os.urandom(5 * CHUNK)
    wire = Wire()
    m = manager(tmp_path / "state", wire)
    m.accept(offer_of(data), tmp_path / "d")
    feed(m, wire, 7, data, 0, CHUNK)
    bad = bytearray(encode_chunk(7, CHUNK, data[CHUNK : 2 * CHUNK]))
    bad[-1] ^= 0xFF  # a flipped bit after the CRC was computed
    m.receive_chunk(bytes(bad))
    assert wire.last(FileNak) == FileNak(id=7, offset=CHUNK)
    assert wire.last(FileAck).acked == CHUNK
    # A chunk past the gap while the sender is on its way back is ignored, not naked twice.
    m.receive_chunk(encode_chunk(7, 2 * CHUNK, data[2 * CHUNK : 3 * CHUNK]))
    assert len(wire.of(FileNak)) == 1
    feed(m, wire, 7, data, CHUNK)
    finish(m, 7, sha(data))
    assert (tmp_path / "d" / "report.pdf").read_bytes() == data


def test_a_hash_mismatch_fails_and_leaves_nothing(tmp_path: Path) -> None:
    data = os.urandom(2 * CHUNK + 5)
    wire = Wire()
    m = manager(tmp_path / "state", wire)
    dest = tmp_path / "d"
    m.accept(offer_of(data), dest)
    feed(m, wire, 7, data)
    finish(m, 7, sha(data[:-1] + b"x"))
    failed = wire.last(FileFailed)
    assert failed.id == 7 and "damaged" in failed.reason
    assert list(dest.iterdir()) == []
    assert not wire.of(FileDone)
    assert m.views()[0].phase == "failed"


def test_a_restarted_agent_resumes_from_its_temporary_file(tmp_path: Path) -> None:
    data = os.urandom(6 * CHUNK + 17)
    wire = Wire()
    first = manager(tmp_path / "state", wire)
    dest = tmp_path / "d"
    offer = offer_of(data, name="big.iso", transfer_id=41)
    first.accept(offer, dest)
    feed(first, wire, 41, data, 0, 3 * CHUNK + 100)  # the last chunk cut short, as a drop does
    held = wire.last(FileAck).acked
    first.close()  # the process ends; the record and the temporary file stay

    wire2 = Wire()
    second = manager(tmp_path / "state", wire2)
    assert not second.knows(offer)
    record = second.record_for(offer)
    assert record is not None
    # Another server's transfer with the same id is not this one.
    assert manager(tmp_path / "state", Wire(), server="http://elsewhere").record_for(offer) is None
    second.accept_restored(second.restore(offer, record))
    assert wire2.sent[0] == FileAccept(id=41, offset=held)
    feed(second, wire2, 41, data, held)
    finish(second, 41, sha(data))
    assert (dest / "big.iso").read_bytes() == data


def test_a_reconnect_goes_on_without_asking(tmp_path: Path) -> None:
    data = os.urandom(4 * CHUNK)
    wire = Wire()
    m = manager(tmp_path / "state", wire)
    offer = offer_of(data)
    m.accept(offer, tmp_path / "d")
    feed(m, wire, 7, data, 0, 2 * CHUNK)
    assert m.knows(offer)
    m.accept_again(offer)  # the server offers it again after the drop
    assert wire.last(FileAccept) == FileAccept(id=7, offset=2 * CHUNK)
    feed(m, wire, 7, data, 2 * CHUNK)
    finish(m, 7, sha(data))
    assert (tmp_path / "d" / "report.pdf").read_bytes() == data


def test_nothing_is_ever_overwritten(tmp_path: Path) -> None:
    dest = tmp_path / "d"
    dest.mkdir()
    (dest / "report.pdf").write_bytes(b"mine")
    (dest / "report (2).pdf").write_bytes(b"mine too")
    data = b"from the rep"
    wire = Wire()
    m = manager(tmp_path / "state", wire)
    m.accept(offer_of(data), dest)
    feed(m, wire, 7, data)
    finish(m, 7, sha(data))
    assert (dest / "report.pdf").read_bytes() == b"mine"
    assert (dest / "report (2).pdf").read_bytes() == b"mine too"
    assert (dest / "report (3).pdf").read_bytes() == data
    assert wire.last(FileDone).saved_as.endswith("report (3).pdf")


@pytest.mark.parametrize(
    "name",
    ["../../outside.txt", "/etc/cron.d/evil", "C:\\Windows\\..\\..\\evil.bat", "a/../../b/../../c.txt", "..", "sub/CON.txt", "x\u202egpj.exe"],
)
def test_hostile_names_land_inside_the_destination(tmp_path: Path, name: str) -> None:
    dest = tmp_path / "inbox" / "d"
    data = b"payload"
    wire = Wire()
    m = manager(tmp_path / "state", wire)
    m.accept(offer_of(data, name=name), dest)
    feed(m, wire, 7, data)
    finish(m, 7, sha(data))
    saved = Path(wire.last(FileDone).saved_as)
    assert saved.resolve().is_relative_to(dest.resolve())
    assert saved.read_bytes() == data
    outside = [p for p in tmp_path.rglob("*") if p.is_file() and not p.resolve().is_relative_to(dest.resolve())
               and not p.resolve().is_relative_to((tmp_path / "state").resolve())]
    assert outside == []
    assert "\u202e" not in saved.name


def test_a_folder_that_is_a_link_out_of_the_destination_is_refused(tmp_path: Path) -> None:
    dest = tmp_path / "d"
    dest.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (dest / "logs").symlink_to(elsewhere)
    wire = Wire()
    m = manager(tmp_path / "state", wire)
    assert m.accept(offer_of(b"x", name="logs/app.log"), dest) is None
    assert "outside" in wire.last(FileFailed).reason
    assert list(elsewhere.iterdir()) == []


def test_folders_from_the_name_are_created_under_the_destination(tmp_path: Path) -> None:
    data = os.urandom(1000)
    wire = Wire()
    m = manager(tmp_path / "state", wire)
    m.accept(offer_of(data, name="logs/2026/app.log"), tmp_path / "d")
    feed(m, wire, 7, data)
    finish(m, 7, sha(data))
    assert (tmp_path / "d" / "logs" / "2026" / "app.log").read_bytes() == data


def test_a_chunk_larger_than_the_chunk_size_is_ignored(tmp_path: Path) -> None:
    wire = Wire()
    m = manager(tmp_path / "state", wire)
    data = os.urandom(CHUNK + 1)
    m.accept(offer_of(data), tmp_path / "d")
    m.receive_chunk(encode_chunk(7, 0, data))  # one byte over the announced chunk size
    assert wire.last(FileAck).acked == 0 and not wire.of(FileNak)


def test_a_cancel_from_the_rep_removes_the_temporary_file(tmp_path: Path) -> None:
    data = os.urandom(3 * CHUNK)
    wire = Wire()
    m = manager(tmp_path / "state", wire)
    m.accept(offer_of(data), tmp_path / "d")
    feed(m, wire, 7, data, 0, CHUNK)
    m.cancel(7, by_visitor=False)
    assert list((tmp_path / "d").iterdir()) == []
    assert m.views()[0].phase == "cancelled"
    m.receive_chunk(encode_chunk(7, CHUNK, data[CHUNK : 2 * CHUNK]))  # late chunks go nowhere
    assert list((tmp_path / "d").iterdir()) == []


@pytest.fixture
def small_disk(tmp_path: Path):  # type: ignore[no-untyped-def]
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.fail(f"cannot mount a small tmpfs (root needed): {done.stderr}", pytrace=False)
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_a_full_disk_fails_in_words_and_leaves_no_partial_file(tmp_path: Path, small_disk: Path) -> None:
    data = os.urandom(6 * 1024 * 1024)
    wire = Wire()
    m = manager(tmp_path / "state", wire)
    m.accept(offer_of(data, name="huge.bin"), small_disk)
    with pytest.raises(AssertionError, match="no credit"):
        feed(m, wire, 7, data)  # the agent stops granting credit once it failed
    failed = wire.last(FileFailed)
    assert "disk is full" in failed.reason
    assert list(small_disk.iterdir()) == []
    assert m.views()[0].phase == "failed" and "disk is full" in m.views()[0].reason


def test_a_file_end_that_overtakes_the_last_chunks_waits_for_them(tmp_path: Path) -> None:
    data = os.urandom(3 * CHUNK)
    wire = Wire()
    m = manager(tmp_path / "state", wire)
    dest = tmp_path / "d"
    m.accept(offer_of(data), dest)
    feed(m, wire, 7, data, 0, 2 * CHUNK)
    assert finish(m, 7, sha(data)) is None  # file.end came first (it is a control message)
    assert not wire.of(FileFailed) and not (dest / "report.pdf").exists()
    done = m.receive_chunk(encode_chunk(7, 2 * CHUNK, data[2 * CHUNK :]))
    assert done is not None
    m.placed(done, m.place_incoming(done))
    assert (dest / "report.pdf").read_bytes() == data


def test_records_older_than_the_retention_are_pruned(tmp_path: Path) -> None:
    data = os.urandom(2 * CHUNK)
    wire = Wire()
    m = manager(tmp_path / "state", wire)
    dest = tmp_path / "d"
    m.accept(offer_of(data, transfer_id=1), dest)
    m.accept(offer_of(data, name="b.bin", transfer_id=2), dest)
    feed(m, wire, 1, data, 0, CHUNK)
    m.close()
    old = tmp_path / "state" / "transfers"
    first = next(p for p in old.iterdir() if p.name.endswith("-1.json"))
    os.utime(first, (1, 1))  # written long ago
    later = manager(tmp_path / "state", Wire())
    assert later.prune_records(max_age_s=3600) == 1
    assert later.record_for(offer_of(data, transfer_id=1)) is None
    assert later.record_for(offer_of(data, name="b.bin", transfer_id=2)) is not None
    assert [p.name for p in dest.iterdir()] == [f".b.bin.2{PART_SUFFIX}"]


def test_a_link_planted_at_the_temporary_name_is_never_written_through(tmp_path: Path) -> None:
    """Someone who can write in the chosen folder (a shared one) plants a
    link where the temporary file will be: the rep's bytes never reach the
    link's target, on a first accept or on a resume after a restart."""
    data = os.urandom(3 * CHUNK)
    dest = tmp_path / "shared"
    dest.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"precious")
    offer = offer_of(data, name="tool.sh", transfer_id=9)
    planted = dest / f".tool.sh.9{PART_SUFFIX}"
    planted.symlink_to(victim)
    wire = Wire()
    m = manager(tmp_path / "state", wire)
    m.accept(offer, dest)
    feed(m, wire, 9, data, 0, CHUNK)
    assert victim.read_bytes() == b"precious"
    assert not planted.is_symlink() and planted.read_bytes() == data[:CHUNK]
    m.close()

    # Between the runs the link is planted again: the restart refuses to
    # resume through it (asked again instead) and the target is untouched.
    planted.unlink()
    planted.symlink_to(victim)
    second = manager(tmp_path / "state", Wire())
    record = second.record_for(offer)
    assert record is not None
    with pytest.raises(OSError):
        second.restore(offer, record)
    assert victim.read_bytes() == b"precious"
    wire3 = Wire()
    third = manager(tmp_path / "state", wire3)
    third.accept(offer, dest)
    feed(third, wire3, 9, data)
    finish(third, 9, sha(data))
    assert (dest / "tool.sh").read_bytes() == data and victim.read_bytes() == b"precious"
