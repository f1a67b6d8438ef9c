"""protocol/branding.py with small limits: colours, pre-chat fields, logos
by their magic bytes, and the visitor's answers."""

from __future__ import annotations

from typing import Any

import pytest

from desklink.errors import ProtocolError, TooLarge
from desklink.protocol.branding import BrandingLimits, check_answers, check_color, check_fields, check_line, check_welcome, logo_type

LIMITS = BrandingLimits(
    fields=3, label_chars=10, options=2, name_chars=8, title_chars=12, welcome_chars=20, answer_chars=5, logo_bytes=64
)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 20
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 20
WEBP = b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 8


@pytest.mark.parametrize(("given", "stored"), [("", ""), ("  ", ""), ("#1A73e8", "#1a73e8"), (" #000000 ", "#000000")])
def test_a_colour_is_empty_or_rrggbb(given: str, stored: str) -> None:
    assert check_color(given) == stored


@pytest.mark.parametrize("bad", ["red", "#fff", "#12345g", "#1234567", "1a73e8", "#1a73e8;background:url(x)", "url(#1a73e8)"])
def test_anything_else_is_no_colour(bad: str) -> None:
    with pytest.raises(ProtocolError, match="color must be #rrggbb"):
        check_color(bad)


def test_title_and_welcome_limits() -> None:
    assert check_line("title", " Acme help ", LIMITS.title_chars) == "Acme help"
    with pytest.raises(TooLarge, match="title is 13 characters; the limit is 12"):
        check_line("title", "x" * 13, LIMITS.title_chars)
    with pytest.raises(ProtocolError, match="one line"):
        check_line("title", "two\nlines", LIMITS.title_chars)
    assert check_welcome("Hello,\nwelcome!", LIMITS.welcome_chars) == "Hello,\nwelcome!"
    with pytest.raises(TooLarge, match="welcome text is 21 characters; the limit is 20"):
        check_welcome("w" * 21, LIMITS.welcome_chars)


def _field(**changes: Any) -> dict[str, Any]:
    return {"name": "order", "label": "Order no", "required": True, "kind": "text", **changes}


def test_fields_are_normalised() -> None:
    fields = check_fields(
        [_field(name=" order "), {"name": "topic", "label": "Topic", "kind": "select", "options": ["A", " B "]},
         {"name": "mail", "label": "E-mail", "kind": "email"}],
        LIMITS,
    )
    assert fields == [
        {"name": "order", "label": "Order no", "required": True, "kind": "text"},
        {"name": "topic", "label": "Topic", "required": False, "kind": "select", "options": ["A", "B"]},
        {"name": "mail", "label": "E-mail", "required": False, "kind": "email"},
    ]
    assert check_fields([], LIMITS) == []


@pytest.mark.parametrize(
    ("fields", "error", "words"),
    [
        ([_field(name=f"f{i}") for i in range(4)], TooLarge, "4 pre-chat fields; the limit is 3"),
        ([_field(label="L" * 11)], TooLarge, "the label is 11 characters; the limit is 10"),
        ([_field(name="n" * 9)], TooLarge, "the name is 9 characters; the limit is 8"),
        ([_field(kind="select", options=["a", "b", "c"])], TooLarge, "has 3 options; the limit is 2"),
        ([_field(kind="select", options=["o" * 11])], TooLarge, "an option is 11 characters; the limit is 10"),
        ([_field(kind="select", options=[])], ProtocolError, "needs at least one option"),
        ([_field(options=["a"])], ProtocolError, "only a select field has options"),
        ([_field(kind="file")], ProtocolError, "kind must be one of text, email, select"),
        ([_field(name="<b>")], ProtocolError, "may hold only letters"),
        ([_field(), _field()], ProtocolError, "two fields are named 'order'"),
        ([_field(label=" ")], ProtocolError, "needs a label"),
        ([_field(required="yes")], ProtocolError, "required is true or false"),
        ([_field(extra=1)], ProtocolError, "unknown keys"),
        (["order"], ProtocolError, "must be an object"),
        ({"order": 1}, ProtocolError, "fields must be a list"),
    ],
)
def test_bad_fields_are_refused_in_words(fields: Any, error: type[Exception], words: str) -> None:
    with pytest.raises(error, match=words):
        check_fields(fields, LIMITS)


def test_logos_by_magic_bytes() -> None:
    assert logo_type(PNG, LIMITS.logo_bytes) == "image/png"
    assert logo_type(JPEG, LIMITS.logo_bytes) == "image/jpeg"
    assert logo_type(WEBP, LIMITS.logo_bytes) == "image/webp"
    for bad in (b"<svg xmlns='http://www.w3.org/2000/svg'/>", b"GIF89a" + b"\x00" * 10, b"", b"RIFF\x00\x00\x00\x00WAVE"):
        with pytest.raises(ProtocolError, match="PNG, JPEG or WebP"):
            logo_type(bad, LIMITS.logo_bytes)
    with pytest.raises(TooLarge, match="the logo is 65 bytes; the limit is 64"):
        logo_type(PNG + b"\x00" * (65 - len(PNG)), LIMITS.logo_bytes)
    assert logo_type(PNG + b"\x00" * (64 - len(PNG)), LIMITS.logo_bytes) == "image/png"


FIELDS = check_fields(
    [_field(), {"name": "topic", "label": "Topic", "kind": "select", "options": ["A", "B"]},
     {"name": "mail", "label": "E-mail", "kind": "email"}],
    LIMITS,
)


def test_answers_keep_the_fields_order_and_labels() -> None:
    got = check_answers(FIELDS, {"mail": "a@b", "order": " A-1 ", "topic": ""}, LIMITS.answer_chars)
    assert got == [{"name": "order", "label": "Order no", "value": "A-1"}, {"name": "mail", "label": "E-mail", "value": "a@b"}]
    assert check_answers([], {}, LIMITS.answer_chars) == []


@pytest.mark.parametrize(
    ("answers", "code", "words"),
    [
        ({}, "bad_prechat", "'Order no' is required"),
        ({"order": "   "}, "bad_prechat", "'Order no' is required"),
        ({"order": "x", "topic": "C"}, "bad_prechat", "is not one of the choices for 'Topic'"),
        ({"order": "x", "mail": "a b"}, "bad_prechat", "does not look like an e-mail"),
        ({"order": "x", "other": "y"}, "bad_prechat", "no pre-chat field is named 'other'"),
        ({"order": "a\x00"}, "bad_prechat", "control characters"),
        ({"order": "123456"}, "too_large", "the answer to 'Order no' is 6 characters; the limit is 5"),
    ],
)
def test_bad_answers_are_refused(answers: dict[str, str], code: str, words: str) -> None:
    with pytest.raises(ProtocolError, match=words) as caught:
        check_answers(FIELDS, answers, LIMITS.answer_chars)
    assert caught.value.code == code
