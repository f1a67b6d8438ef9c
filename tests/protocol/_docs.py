"""Read the markdown tables of docs/protocol.md, the contract clients are
written from, so tests can compare it with the code both ways."""

from __future__ import annotations

import re
from pathlib import Path

PROTOCOL_MD = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"


def section(title: str) -> str:
    """Text under the heading ``title`` up to the next heading of any level."""
    text = PROTOCOL_MD.read_text(encoding="utf-8")
    match = re.search(rf"^#+ {re.escape(title)}\n(.*?)(?=^#+ |\Z)", text, re.M | re.S)
    assert match, f"docs/protocol.md has no section {title!r}"
    return match.group(1)


def _cells(line: str) -> list[str]:
    # split on pipes that are not escaped (`"online"\|"away"`)
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]


def table(section_title: str, first_header: str) -> list[list[str]]:
    """Body rows of the first table in the section whose header starts with
    ``first_header``."""
    text = section(section_title)
    for block in re.findall(r"((?:^\|.*\n?)+)", text, re.M):
        lines = block.strip().splitlines()
        if _cells(lines[0])[0] == first_header:
            return [_cells(line) for line in lines[2:]]
    raise AssertionError(f"no table starting with {first_header!r} under {section_title!r}")


def backticked(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)
