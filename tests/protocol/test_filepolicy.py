"""A queue's file policy (protocol/filepolicy.py): every rule, at and one
past its limit, and the extension list parser."""

from __future__ import annotations

import pytest

from desklink.errors import Forbidden, LimitExceeded, ProtocolError, TooLarge
from desklink.protocol.filepolicy import MAX_BLOCKED_CHARS, FilePolicy, parse_extensions

SERVER_BYTES = 1000
SERVER_FILES = 10


def check(policy: FilePolicy, name: str = "a.txt", size: int = 1, files_so_far: int = 0, direction: str = "to_visitor") -> None:
    policy.check(
        direction,  # type: ignore[arg-type]
        name,
        size,
        files_so_far,
        server_max_bytes=SERVER_BYTES,
        server_max_files=SERVER_FILES,
    )


def test_the_default_allows_both_ways_up_to_the_server_limits() -> None:
    p = FilePolicy()
    check(p, size=SERVER_BYTES, files_so_far=SERVER_FILES - 1)
    check(p, direction="from_visitor", size=0)
    assert p.limits(SERVER_BYTES, SERVER_FILES) == (SERVER_BYTES, SERVER_FILES)


@pytest.mark.parametrize("direction, field", [("to_visitor", "to_visitor"), ("from_visitor", "from_visitor")])
def test_a_closed_direction_is_forbidden_and_the_other_stays_open(direction: str, field: str) -> None:
    p = FilePolicy(**{field: False})  # type: ignore[arg-type]
    with pytest.raises(Forbidden, match="does not allow") as caught:
        check(p, direction=direction)
    assert caught.value.code == "forbidden"
    other = "from_visitor" if direction == "to_visitor" else "to_visitor"
    check(p, direction=other)


def test_server_size_limit_at_and_past() -> None:
    check(FilePolicy(), size=SERVER_BYTES)
    with pytest.raises(TooLarge, match="largest allowed") as caught:
        check(FilePolicy(), size=SERVER_BYTES + 1)
    assert caught.value.code == "too_large"


def test_queue_size_limit_at_and_past() -> None:
    p = FilePolicy(max_file_bytes=100)
    check(p, size=100)
    with pytest.raises(TooLarge):
        check(p, size=101)


def test_a_queue_cannot_be_looser_than_the_server() -> None:
    p = FilePolicy(max_file_bytes=SERVER_BYTES * 10, max_files_per_session=SERVER_FILES * 10)
    assert p.limits(SERVER_BYTES, SERVER_FILES) == (SERVER_BYTES, SERVER_FILES)
    with pytest.raises(TooLarge):
        check(p, size=SERVER_BYTES + 1)
    with pytest.raises(LimitExceeded):
        check(p, files_so_far=SERVER_FILES)


def test_files_per_session_at_and_past() -> None:
    check(FilePolicy(), files_so_far=SERVER_FILES - 1)
    with pytest.raises(LimitExceeded, match="most allowed") as caught:
        check(FilePolicy(), files_so_far=SERVER_FILES)
    assert caught.value.code == "too_many_files"
    p = FilePolicy(max_files_per_session=3)
    check(p, files_so_far=2)
    with pytest.raises(LimitExceeded):
        check(p, files_so_far=3)


@pytest.mark.parametrize(
    "name",
    ["setup.exe", "SETUP.EXE", "dir/setup.exe", "setup.exe.", "setup.exe  ", "setup\u202e.exe", "..\\setup.exe", "a.tar.exe"],
)
def test_blocked_extensions_whatever_the_disguise(name: str) -> None:
    p = FilePolicy(blocked_extensions=("exe",))
    with pytest.raises(Forbidden, match=r"\.exe files are not allowed"):
        check(p, name=name)


@pytest.mark.parametrize("name", ["setup.exe.txt", "exe", ".exe", "setup.exes", "readme"])
def test_other_names_pass_a_blocked_list(name: str) -> None:
    check(FilePolicy(blocked_extensions=("exe",)), name=name)


def test_the_first_failing_rule_speaks() -> None:
    p = FilePolicy(to_visitor=False, blocked_extensions=("exe",), max_file_bytes=1)
    with pytest.raises(Forbidden, match="does not allow"):
        check(p, name="x.exe", size=5)
    with pytest.raises(Forbidden, match=r"\.exe"):
        check(p, name="x.exe", size=5, direction="from_visitor")
    with pytest.raises(TooLarge):
        check(p, name="x.txt", size=5, direction="from_visitor")


def test_sizes_in_words() -> None:
    with pytest.raises(TooLarge) as caught:
        FilePolicy().check("to_visitor", "a", 3 << 30, 0, server_max_bytes=2 << 30, server_max_files=1)
    assert "3.0 GB" in caught.value.message and "2.0 GB" in caught.value.message
    with pytest.raises(TooLarge) as caught:
        FilePolicy(max_file_bytes=512).check("to_visitor", "a", 2048, 0, server_max_bytes=1 << 20, server_max_files=1)
    assert "2.0 KB" in caught.value.message and "512 bytes" in caught.value.message


@pytest.mark.parametrize(
    "text, expected",
    [
        ("", ()),
        ("EXE, .bat ,msi", ("bat", "exe", "msi")),
        ("exe;bat exe", ("bat", "exe")),
        ("  .tar-gz , x_y , 7z ", ("7z", "tar-gz", "x_y")),
        (",,,", ()),
        ("a" * 16, ("a" * 16,)),
    ],
)
def test_parse_extensions(text: str, expected: tuple[str, ...]) -> None:
    assert parse_extensions(text) == expected


@pytest.mark.parametrize("text", ["a" * 17, "../x", "e x e/", "ex*e", "exé", "a.b", "x" * (MAX_BLOCKED_CHARS + 1)])
def test_parse_extensions_refuses(text: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        parse_extensions(text)
    assert caught.value.code == "bad_message"


def test_parse_extensions_at_its_length_limit() -> None:
    text = "ab".ljust(MAX_BLOCKED_CHARS, ",")
    assert len(text) == MAX_BLOCKED_CHARS
    assert parse_extensions(text) == ("ab",)
