"""protocol/visitor_context.py on its own: what is kept, and each limit and
shape refused with words (the limits here are small, to show they are the
caller's settings, not constants)."""

from __future__ import annotations

import msgspec
import pytest

from desklink.errors import ProtocolError, TooLarge
from desklink.protocol.visitor_context import ContextBody, ContextLimits, check_context

SMALL = ContextLimits(fields=2, key_chars=5, value_chars=4, url_chars=30, languages=2)


def _body(**kw: object) -> ContextBody:
    return msgspec.convert(kw, ContextBody)


def test_kept_and_trimmed() -> None:
    body = _body(page=" https://a.example/x ", help_language="de", languages=["en-GB"], time_zone="Etc/GMT+5", utc_offset_min=-300,
                 fields={"id": " C1 ", "a.b": "<b>"})
    assert check_context(body, SMALL) == {
        "page": "https://a.example/x", "help_language": "de", "languages": ["en-GB"], "time_zone": "Etc/GMT+5", "utc_offset_min": -300,
        "fields": {"id": "C1", "a.b": "<b>"},
    }
    assert check_context(None, SMALL) == {}
    assert check_context(_body(), SMALL) == {}


@pytest.mark.parametrize(
    ("kw", "error", "words"),
    [
        ({"fields": {"a": "1", "b": "2", "c": "3"}}, TooLarge, "context.fields has 3 fields; the limit is 2"),
        ({"fields": {"abcdef": "1"}}, TooLarge, "is 6 characters; the limit is 5"),
        ({"fields": {"a": "12345"}}, TooLarge, "context field 'a' is 5 characters; the limit is 4"),
        ({"page": "https://a.example/" + "x" * 13}, TooLarge, "context.page is 31 characters; the limit is 30"),
        ({"languages": ["en", "de", "fr"]}, TooLarge, "context.languages has 3 entries; the limit is 2"),
        ({"fields": {"a b": "1"}}, ProtocolError, "may hold only letters, digits"),
        ({"fields": {"-a": "1"}}, ProtocolError, "may hold only letters, digits"),
        ({"fields": {"a": "\x1b1"}}, ProtocolError, "control characters"),
        ({"page": "ftp://a.example/"}, ProtocolError, "must be an http or https URL"),
        ({"page": "https:///nohost"}, ProtocolError, "must be an http or https URL"),
        ({"referrer": "https://a.example/a b"}, ProtocolError, "spaces or control characters"),
        ({"languages": ["e n"]}, ProtocolError, "is not a language tag"),
        ({"help_language": "de<b>"}, ProtocolError, "context.help_language: 'de<b>' is not a language tag"),
        ({"help_language": "d" * 36}, ProtocolError, "context.help_language"),
        ({"time_zone": "../../etc"}, ProtocolError, "is not a time zone name"),
        ({"utc_offset_min": -841}, ProtocolError, "between -840 and 840"),
    ],
)
def test_refused(kw: dict[str, object], error: type[Exception], words: str) -> None:
    with pytest.raises(error) as info:
        check_context(_body(**kw), SMALL)
    assert words in str(info.value)
