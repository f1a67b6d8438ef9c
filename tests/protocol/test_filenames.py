"""Safe file names (protocol/filenames.py) against a corpus of hostile names,
and Hypothesis: whatever a peer sends, the result is a short, relative path
with nothing that could climb out, disguise an extension or name a device."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desklink.protocol import filenames
from desklink.protocol.filenames import FALLBACK, MAX_DEPTH, MAX_PART_BYTES, base_name, extension, numbered, safe_name, safe_parts

DEVICES = ["CON", "PRN", "AUX", "NUL", "COM1", "COM9", "LPT1", "LPT9", "CONIN$", "CONOUT$", "COM¹", "LPT³"]
RESERVED = {d.upper() for d in DEVICES} | {f"COM{i}" for i in range(10)} | {f"LPT{i}" for i in range(10)}

HOSTILE = [
    # traversal and absolute paths
    "../../etc/passwd",
    "..\\..\\Windows\\win.ini",
    "/etc/shadow",
    "////etc//passwd",
    "./././x",
    "a/../../b",
    "..",
    "...",
    ". .",
    # drive letters and UNC paths
    "C:\\Windows\\System32\\drivers\\etc\\hosts",
    "C:/autoexec.bat",
    "c:",
    "C:relative.txt",
    "\\\\server\\share\\payload.exe",
    "\\\\?\\C:\\very\\long",
    "\\\\.\\PhysicalDrive0",
    # device names, with and without extensions, trailing dots and spaces
    *DEVICES,
    *[d.lower() + ".txt" for d in DEVICES],
    "con.tar.gz",
    "NUL.txt.",
    "aux .txt",
    "CON . txt",
    "COM1...",
    "LPT1   ",
    "prn.  ",
    "folder/CON/file.txt",
    # control characters: C0, DEL, C1
    "a\x00b.txt",
    "line\nbreak\r.txt",
    "tab\there.txt",
    "bell\x07.txt",
    "del\x7f.txt",
    "c1\x85\x9b.txt",
    "\x1b[31mred.txt",
    # bidi overrides and zero-width characters disguising an extension
    "invoice\u202efdp.exe",
    "photo\u202egpj.scr",
    "zero\u200bwidth\u200c.txt",
    "joiner\u200d.exe",
    "bom\ufeff.txt",
    "isolate\u2066x\u2069.txt",
    # Windows-forbidden characters
    'a<b>c:d"e|f?g*h.txt',
    "evil.exe::$DATA",
    # trailing dots and spaces hiding an extension
    "evil.exe.",
    "evil.exe . . .",
    "evil.exe    ",
    # empty, only dots, only spaces
    "",
    " ",
    ".",
    "....",
    "/",
    "\\",
    # deep folders
    "/".join(f"d{i}" for i in range(40)) + "/leaf.txt",
    # long names
    "a" * 1000,
    "a" * 1000 + ".pdf",
    "é" * 1000 + ".pdf",
    "😀" * 1000 + ".tar",
    "b" * 300 + "." + "x" * 40,
    "." * 300 + "a" * 20,
    "x/" + "y" * 1000 + ".txt",
]


def _check(parts: list[str]) -> None:
    assert parts, "never empty"
    assert len(parts) <= MAX_DEPTH + 1
    for part in parts:
        assert part and part not in (".", "..")
        assert "/" not in part and "\\" not in part
        assert len(part.encode("utf-8")) <= MAX_PART_BYTES
        assert part == part.rstrip(". "), "no trailing dots or spaces"
        assert part == part.lstrip(" "), "no leading spaces"
        assert not any(c in '<>:"|?*' for c in part)
        for c in part:
            assert unicodedata.category(c) not in ("Cc", "Cf"), (part, hex(ord(c)))
        assert part.split(".", 1)[0].rstrip(" ").upper() not in RESERVED, part
        assert unicodedata.normalize("NFC", part) == part


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_names_become_safe_relative_paths(name: str) -> None:
    parts = safe_parts(name)
    _check(parts)
    joined = safe_name(name)
    assert joined == "/".join(parts)
    assert not joined.startswith("/") and ".." not in joined.split("/")
    assert base_name(name) == parts[-1]


@pytest.mark.parametrize(
    "name, expected",
    [
        ("../../etc/passwd", "etc/passwd"),
        ("C:\\Windows\\win.ini", "Windows/win.ini"),
        ("\\\\server\\share\\payload.exe", "server/share/payload.exe"),
        ("CON", "_CON"),
        ("con.txt", "_con.txt"),
        ("NUL.txt.", "_NUL.txt"),
        ("aux .txt", "_aux .txt"),
        ("evil.exe.", "evil.exe"),
        ("evil.exe . . .", "evil.exe"),
        ("invoice\u202efdp.exe", "invoicefdp.exe"),
        ("a\x00b.txt", "a_b.txt"),
        ("del\x7f.txt", "del_.txt"),
        ("c1\x85\x9b.txt", "c1__.txt"),
        ('a<b>c:d"e|f?g*h.txt', "a_b_c_d_e_f_g_h.txt"),
        ("", FALLBACK),
        ("....", FALLBACK),
        ("C:relative.txt", "C_relative.txt"),
        ("report.pdf", "report.pdf"),
        (".bashrc", ".bashrc"),
        ("Grüße/你好.txt", "Grüße/你好.txt"),
    ],
)
def test_exact_results(name: str, expected: str) -> None:
    assert safe_name(name) == expected


def test_nfc_and_nfd_give_the_same_name() -> None:
    nfc = unicodedata.normalize("NFC", "Café Ünïcödé.txt")
    nfd = unicodedata.normalize("NFD", nfc)
    assert nfc != nfd
    assert safe_name(nfc) == safe_name(nfd) == nfc


def test_a_format_character_between_letter_and_accent_still_gives_nfc() -> None:
    # Removing the zero-width joiner brings e and the combining accent together.
    assert safe_name("caf" + "e\u200d\u0301" + ".txt") == "café.txt"


def test_long_names_keep_their_extension() -> None:
    for stem in ("a", "é", "😀", "日本"):
        name = stem * 1000 + ".pdf"
        part = base_name(name)
        assert part.endswith(".pdf") and extension(name) == "pdf"
        assert len(part.encode()) <= MAX_PART_BYTES
        assert part.startswith(stem)
    assert len(base_name("a" * 1000).encode()) == MAX_PART_BYTES
    # An "extension" longer than 16 bytes is not one: the name is cut as a whole.
    assert len(base_name("b" * 300 + "." + "x" * 40).encode()) <= MAX_PART_BYTES


def test_deep_folders_are_joined_into_the_last_part() -> None:
    parts = safe_parts("/".join(f"d{i}" for i in range(40)) + "/leaf.txt")
    assert len(parts) == MAX_DEPTH + 1
    assert parts[:MAX_DEPTH] == [f"d{i}" for i in range(MAX_DEPTH)]
    assert parts[-1].startswith(f"d{MAX_DEPTH}_") and parts[-1].endswith("_leaf.txt")
    assert len(safe_parts("/".join(["d"] * (MAX_DEPTH + 1)))) == MAX_DEPTH + 1


def test_extension_and_numbered() -> None:
    assert extension("photo.JPG") == "jpg"
    assert extension("archive.tar.gz") == "gz"
    assert extension(".bashrc") == ""
    assert extension("README") == ""
    assert extension("evil.exe.") == "exe"
    assert extension("x.exe\u202e") == "exe"
    assert numbered("report.pdf", 2) == "report (2).pdf"
    assert numbered("README", 3) == "README (3)"
    assert numbered(".bashrc", 2) == ".bashrc (2)"


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=400))
def test_any_text_becomes_a_safe_path(name: str) -> None:
    _check(safe_parts(name))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["..", ".", "CON", "a\u202eb", " ", "x.", "é", "\\", "/", "C:", "nul.txt", "\x00", "ab" * 60]), max_size=30))
def test_hostile_pieces_in_any_order(pieces: list[str]) -> None:
    _check(safe_parts("".join(pieces)))
    _check(safe_parts("/".join(pieces)))


def test_the_module_states_its_limits() -> None:
    assert (filenames.MAX_PART_BYTES, filenames.MAX_DEPTH, filenames.FALLBACK) == (200, 8, "file")
