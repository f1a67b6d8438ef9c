"""protocol/system_lines.py: the English a system line is stored as, and
its code and vars read back from the stored line (docs/protocol.md,
"System lines")."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desklink.protocol import system_lines
from desklink.protocol.system_lines import LINES, recognise, text


def test_english_words_stay_as_before() -> None:
    assert text("joined", name="Ann") == "Ann joined the conversation."
    assert text("joined_chat", name="Sue", role="supervisor") == "Sue (supervisor) joined the chat."
    assert text("taken_over", name="Sue") == "Sue took over the conversation."
    assert text("screen_offer", name="Ann", code="123-456", minutes=10) == (
        "Ann asked to see your screen. Share it from this browser, or run the DeskLink agent with code 123-456 "
        "(valid 10 minutes). You decide what is shared and can stop at any time."
    )
    assert text("screen_renew", code="123-456") == (
        "You asked for a new screen-sharing code: 123-456. The earlier code no longer works."
    )


def test_a_missing_var_is_refused() -> None:
    with pytest.raises(KeyError, match="needs \\['role'\\]"):
        text("joined_chat", name="Sue")


@pytest.mark.parametrize(
    ("cid", "code", "values"),
    [
        ("joined:7", "joined", {"name": "Ann"}),
        ("joined-chat:3", "joined_chat", {"name": "Sue (night) ", "role": "admin"}),
        ("taken-over:3", "taken_over", {"name": "Sue"}),
        ("transferred:3:12", "taken_over", {"name": "Tom"}),
        ("invited:5:9", "invited", {"name": "Ida"}),
        ("left:5:10", "left_chat", {"name": "Ida"}),
        ("screen-offer:4:1700000000", "screen_offer", {"name": "Ann", "code": "12-34", "minutes": "10"}),
        ("screen-renew:4:1700000000123", "screen_renew", {"code": "12-34"}),
    ],
)
def test_recognised_from_cid_and_text(cid: str, code: system_lines.SystemCode, values: dict[str, str]) -> None:
    assert recognise(cid, text(code, **values)) == (code, values)


def test_unknown_lines_carry_no_code() -> None:
    assert recognise("c-123", "Ann joined the conversation.") is None  # not a system line's id
    assert recognise("joined:7", "Someone rewrote this line.") is None  # the text does not fit
    assert recognise("", "") is None


@given(name=st.text(min_size=1, max_size=60), role=st.sampled_from(["rep", "supervisor", "admin"]))
def test_any_name_reads_back(name: str, role: str) -> None:
    for code, values in (("joined", {"name": name}), ("joined_chat", {"name": name, "role": role}), ("taken_over", {"name": name})):
        line = LINES[code]  # type: ignore[index]
        assert recognise(f"{line.cid_prefix}:1", text(line.code, **values)) == (line.code, values)
