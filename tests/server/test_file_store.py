"""The local file store, on real files (and a real, small tmpfs for a full disk)."""

from __future__ import annotations

import contextlib
import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from desklink.server.file_store import FileStore, LocalFileStore, StorageFailed, StorageFull


def _store(tmp_path: Path, **kw: int) -> LocalFileStore:
    return LocalFileStore(tmp_path / "files", **kw)


def test_is_a_file_store(tmp_path: Path) -> None:
    store: FileStore = _store(tmp_path)  # mypy checks the port
    assert store.partial_size(1) == 0


def test_append_read_finish_remove(tmp_path: Path) -> None:
    store = _store(tmp_path)
    data = os.urandom(300_000)
    store.append(7, 0, data[:100_000])
    assert store.partial_size(7) == 100_000
    assert not store.is_finished(7)
    store.append(7, 100_000, data[100_000:])
    assert store.read(7, 99_990, 20) == data[99_990:100_010]  # from the partial file
    root = tmp_path / "files"
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    assert sorted(os.listdir(root)) == ["7.part"]
    store.finish(7, 300_000)
    assert store.is_finished(7) and store.partial_size(7) == 0
    assert sorted(os.listdir(root)) == ["7"]
    assert store.path(7) == root / "7"
    assert store.path(7).read_bytes() == data
    assert store.read(7, 0, 10**9) == data  # from the finished file
    assert store.read(7, 300_000, 10) == b""
    assert store.stored_ids() == {7}
    store.remove(7)
    store.remove(7)  # quiet when absent
    assert os.listdir(root) == [] and not store.is_finished(7)
    with pytest.raises(FileNotFoundError):
        store.read(7, 0, 1)


def test_append_at_the_wrong_offset_is_a_value_error_and_changes_nothing(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.append(1, 0, b"abc")
    for offset in (0, 2, 4):
        with pytest.raises(ValueError):
            store.append(1, offset, b"zzz")
    assert store.read(1, 0, 100) == b"abc"
    with pytest.raises(ValueError):
        store.append(2, 1, b"x")
    assert store.partial_size(2) == 0


def test_an_empty_file_can_be_finished(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.finish(3, 0)
    assert store.is_finished(3) and store.path(3).read_bytes() == b""


def test_finishing_twice_keeps_the_file(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.append(5, 0, b"whole file")
    store.finish(5, 10)
    store.finish(5, 10)  # a retry after a restart
    assert store.path(5).read_bytes() == b"whole file"


def test_a_removed_directory_is_made_again(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.append(1, 0, b"a")
    store.remove(1)
    (tmp_path / "files").rmdir()
    with pytest.raises(StorageFailed):
        store.append(1, 0, b"b")  # the first write after it went away fails...
    store.append(1, 0, b"c")  # ...and the next one makes it again
    assert store.read(1, 0, 10) == b"c"


def test_stored_ids_lists_only_names_the_store_writes(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.append(3, 0, b"x")
    store.append(4, 0, b"x")
    store.finish(4, 1)
    root = tmp_path / "files"
    for stray in ("0012", "99999999999999999999999", "notes.txt", "7.tmp", "١٢"):
        (root / stray).write_bytes(b"")
    assert store.stored_ids() == {3, 4}


def test_ids_are_checked(tmp_path: Path) -> None:
    store = _store(tmp_path)
    for bad in (-1, True, "1/../../x"):
        with pytest.raises(ValueError):
            store.append(bad, 0, b"x")  # type: ignore[arg-type]
    assert not (tmp_path / "files").exists() or os.listdir(tmp_path / "files") == []


def test_free_space_floor_refuses_and_removes_the_partial(tmp_path: Path) -> None:
    with _tmpfs(tmp_path / "small", "size=4m") as mount:
        store = LocalFileStore(mount / "files", min_free_bytes=3 << 20)  # about 1 MiB of room
        store.append(1, 0, b"x" * (500 << 10))
        with pytest.raises(StorageFull, match="no room") as caught:
            store.append(1, 500 << 10, b"y" * (1 << 20))
        assert caught.value.code == "storage_full"
        assert store.partial_size(1) == 0 and not (mount / "files" / "1.part").exists()


def test_a_root_that_cannot_be_made_is_storage_failed(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_bytes(b"")
    store = LocalFileStore(tmp_path / "a-file" / "files")  # works as root too, unlike chmod
    with pytest.raises(StorageFailed, match="could not store") as caught:
        store.append(1, 0, b"abc")
    assert caught.value.code == "storage_failed"
    assert store.partial_size(1) == 0


def test_read_only_file_system_is_storage_failed(tmp_path: Path) -> None:
    with _tmpfs(tmp_path / "ro", "size=1m,ro") as mount:
        store = LocalFileStore(mount)
        with pytest.raises(StorageFailed, match="could not store") as caught:
            store.append(1, 0, b"abc")
        assert caught.value.code == "storage_failed"
        assert store.partial_size(1) == 0


def test_full_disk_is_storage_full_and_leaves_other_files_intact(tmp_path: Path) -> None:
    with _tmpfs(tmp_path / "small", "size=4m") as mount:
        store = LocalFileStore(mount / "files")
        keep = os.urandom(1 << 20)
        store.append(1, 0, keep)
        store.finish(1, 1 << 20)
        other = os.urandom(256 << 10)
        store.append(2, 0, other)
        chunk = os.urandom(256 << 10)
        offset = 0
        with pytest.raises(StorageFull, match="no room") as caught:
            for _ in range(64):  # 16 MiB: far past the 4 MiB file system
                store.append(3, offset, chunk)
                offset += len(chunk)
        assert caught.value.code == "storage_full"
        assert store.partial_size(3) == 0 and not (mount / "files" / "3.part").exists()
        assert store.path(1).read_bytes() == keep
        assert store.read(2, 0, 1 << 20) == other
        # The room came back: the next file fits again.
        store.append(4, 0, chunk)
        assert store.partial_size(4) == len(chunk)


@contextlib.contextmanager
def _tmpfs(where: Path, options: str) -> Iterator[Path]:
    where.mkdir()
    # No skip: a machine that cannot mount one fails this test (it needs root).
    subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], check=True, capture_output=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=True)


def test_finish_refuses_a_partial_that_is_not_the_whole_file(tmp_path: Path) -> None:
    store = _store(tmp_path)
    with pytest.raises(StorageFailed, match="no longer holds"):
        store.finish(8, 10)  # the partial went away: never an empty file for a non-empty one
    assert not store.is_finished(8) and store.stored_ids() == set()
    store.append(8, 0, b"12345")
    with pytest.raises(StorageFailed, match="5 of 10 bytes"):
        store.finish(8, 10)
    assert not store.is_finished(8)
