"""File names from a peer, made safe for the side that receives them.

Every receiving side (the server storing a file, the help box and console
offering it for download, the agent saving it on the visitor's computer)
calls :func:`safe_parts` or :func:`safe_name` on the name the sender gave;
nothing else ever reaches a file system or a ``Content-Disposition`` header.

Rules:

1. ``/`` and ``\\`` separate folders (a folder goes as its files); empty,
   ``.`` and ``..`` parts are dropped, so nothing can climb out of the
   destination, and a leading separator or drive (``C:``) means nothing.
2. Control characters (C0, DEL, C1), and the characters Windows forbids in
   names (``<>:"|?*``), become ``_``; bidirectional overrides and other
   format characters that can disguise an extension are removed; the name is
   NFC-normalized.
3. Trailing dots and spaces are removed (Windows drops them silently, so
   ``evil.exe.`` would become ``evil.exe``); a part that is then empty is
   dropped.
4. Reserved device names (``CON``, ``NUL``, ``COM1``, ``LPT9`` ... with or
   without an extension) get a leading ``_``.
5. Each part is at most :data:`MAX_PART_BYTES` bytes of UTF-8 (the common
   file-system limit), cut before the extension so the extension survives;
   at most :data:`MAX_DEPTH` folders deep (deeper ones are joined into the
   file's name).
6. A name with nothing left is ``file``.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

MAX_PART_BYTES: Final = 200
MAX_DEPTH: Final = 8
FALLBACK: Final = "file"

_RESERVED: Final = frozenset(
    ["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"]
    + [f"COM{i}" for i in range(10)]
    + [f"LPT{i}" for i in range(10)]
    + ["COM¹", "COM²", "COM³", "LPT¹", "LPT²", "LPT³"]
)
_FORBIDDEN = re.compile(r'[\x00-\x1f\x7f-\x9f<>:"|?*]')
_SEPARATORS = re.compile(r"[\\/]")


def _clean_part(part: str) -> str:
    # Format characters (Cf: bidi overrides, zero-width joiners) can make
    # "gpj.exe" read as "exe.jpg"; they never belong in a file name. They go
    # before normalizing: one between a letter and its accent would
    # otherwise keep the pair from composing.
    part = "".join(ch for ch in part if unicodedata.category(ch) != "Cf")
    part = unicodedata.normalize("NFC", part)
    part = _FORBIDDEN.sub("_", part)
    part = part.strip(" ").rstrip(". ")
    if part in ("", ".", ".."):
        return ""
    stem = part.split(".", 1)[0].rstrip(" ").upper()
    if stem in _RESERVED:
        part = "_" + part
    return _shorten(part)


def _shorten(part: str) -> str:
    if len(part.encode("utf-8")) <= MAX_PART_BYTES:
        return part
    stem, dot, ext = part.rpartition(".")
    if not dot or not stem or len(ext.encode("utf-8")) > 16:
        stem, ext = part, ""
    room = MAX_PART_BYTES - (len(ext.encode("utf-8")) + 1 if ext else 0)
    cut = stem.encode("utf-8")[:room].decode("utf-8", "ignore").rstrip(". ")
    return f"{cut}.{ext}" if ext else cut


def safe_parts(name: str) -> list[str]:
    """The name as safe relative path parts (folders, then the file); never
    empty."""
    raw = _SEPARATORS.split(name)
    if raw and re.fullmatch(r"[A-Za-z]:", raw[0] or ""):
        raw = raw[1:]  # a drive letter
    parts = [p for p in (_clean_part(r) for r in raw) if p]
    if not parts:
        return [FALLBACK]
    if len(parts) > MAX_DEPTH + 1:
        parts = parts[:MAX_DEPTH] + [_shorten("_".join(parts[MAX_DEPTH:]))]
    return parts


def safe_name(name: str) -> str:
    """The relative path, joined with ``/`` (as stored and shown)."""
    return "/".join(safe_parts(name))


def base_name(name: str) -> str:
    """The file's own name without folders (a browser download's name)."""
    return safe_parts(name)[-1]


def extension(name: str) -> str:
    """The last extension, lowercase, without the dot ("" for none)."""
    base = base_name(name)
    stem, dot, ext = base.rpartition(".")
    return ext.lower() if dot and stem else ""


def numbered(name: str, n: int) -> str:
    """``report.pdf`` -> ``report (2).pdf``: the name for the n-th copy when
    the first is taken (nothing is overwritten without asking)."""
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        return f"{name} ({n})"
    return f"{stem} ({n}).{ext}"
