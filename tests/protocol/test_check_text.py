"""check_text: bounding and normalising free-text fields (names, questions,
chat lines, notes) before they are stored."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from desklink.errors import ProtocolError, TooLarge
from desklink.protocol.messages import check_text


def test_returns_the_stripped_value() -> None:
    assert check_text("question", "  my printer is on fire \n", 100) == "my printer is on fire"
    assert check_text("question", "\t\u3000inner  spacing kept\u2003", 100) == "inner  spacing kept"


def test_exactly_the_limit_is_accepted() -> None:
    assert check_text("name", "x" * 80, 80) == "x" * 80


def test_one_past_the_limit_is_too_large() -> None:
    with pytest.raises(TooLarge) as info:
        check_text("name", "x" * 81, 80)
    assert info.value.code == "too_large"
    assert info.value.http_status == 413
    assert "name" in info.value.message
    assert "80" in info.value.message


def test_limit_counts_characters_not_bytes() -> None:
    assert check_text("name", "é" * 80, 80) == "é" * 80
    assert check_text("name", "🎉" * 80, 80) == "🎉" * 80
    with pytest.raises(TooLarge):
        check_text("name", "🎉" * 81, 80)


@pytest.mark.parametrize("value", ["", " ", "\n\t ", "\u3000", "\u2028"])
def test_required_refuses_empty_and_blank(value: str) -> None:
    with pytest.raises(ProtocolError) as info:
        check_text("question", value, 100)
    assert not isinstance(info.value, TooLarge)
    assert info.value.code == "bad_message"
    assert "question" in info.value.message


@pytest.mark.parametrize("value", ["", "   ", "\n"])
def test_optional_allows_empty_and_blank(value: str) -> None:
    assert check_text("email", value, 100, required=False) == ""


@pytest.mark.parametrize("value", ["\x00", "a\x00b", "\x00abc", "abc\x00", " \x00 "])
@pytest.mark.parametrize("required", [True, False])
def test_nul_is_refused(value: str, required: bool) -> None:
    with pytest.raises(ProtocolError) as info:
        check_text("message", value, 100, required=required)
    assert info.value.code == "bad_message"
    assert "NUL" in info.value.message


def test_limit_is_checked_before_anything_else() -> None:
    # a huge blank or NUL-filled value is too large, not empty or NUL
    with pytest.raises(TooLarge):
        check_text("message", " " * 101, 100)
    with pytest.raises(TooLarge):
        check_text("message", "\x00" * 101, 100)


@given(value=st.text(), max_chars=st.integers(min_value=1, max_value=50), required=st.booleans())
def test_outcome_for_any_text(value: str, max_chars: int, required: bool) -> None:
    try:
        out = check_text("f", value, max_chars, required=required)
    except TooLarge:
        assert len(value) > max_chars
        return
    except ProtocolError:
        assert len(value) <= max_chars
        assert "\x00" in value or (required and not value.strip())
        return
    assert len(value) <= max_chars
    assert out == value.strip()
    assert "\x00" not in out
    assert out or not required
    assert check_text("f", out, max_chars, required=required) == out  # idempotent


@given(value=st.text(min_size=1, max_size=40), max_chars=st.integers(min_value=40, max_value=60))
def test_text_without_nul_within_limit_is_kept(value: str, max_chars: int) -> None:
    assume("\x00" not in value and value.strip())
    assert check_text("f", value, max_chars) == value.strip()
