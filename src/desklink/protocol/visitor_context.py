"""The visitor's context: what the help box sends with a request so the rep
knows where the visitor is and who they are for the provider (issue 14).

Sans-I/O: :func:`check_context` takes the decoded submit body's ``context``
and the limits, and answers the dict stored on the request (JSON column
``requests.visitor_context``) or raises. Everything here is text the rep's
console shows as text; nothing is ever markup.

The stored shape (keys left out when the help box sent nothing)::

    {"page": "https://shop.example/cart", "referrer": "https://search.example/",
     "help_language": "de", "languages": ["de-DE", "en"], "time_zone": "Europe/Berlin",
     "utc_offset_min": 60, "fields": {"customer-id": "C-1234"}}

``utc_offset_min`` is the visitor's offset EAST of UTC in minutes (Berlin in
winter: 60), i.e. ``-new Date().getTimezoneOffset()``. ``help_language``
is the language the help box itself speaks to the visitor (its catalogue:
the first of ``languages`` it has words for, or the page's ``lang=``), so
the rep knows which language the visitor reads DeskLink's lines in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import msgspec

from desklink.errors import ProtocolError, TooLarge

#: A field name: letters, digits, ``_``, ``-``, ``.``; starts with a letter or digit.
KEY_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
#: A BCP 47 language tag as browsers report them ("en", "pt-BR", "zh-Hant-TW").
LANGUAGE_RE = re.compile(r"[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*")
#: An IANA time zone name ("Europe/Berlin", "America/Argentina/Buenos_Aires", "Etc/GMT+5").
TIME_ZONE_RE = re.compile(r"[A-Za-z0-9_+/-]{1,64}")
#: Real offsets run from UTC-12:00 to UTC+14:00.
MAX_OFFSET_MIN = 14 * 60
#: Languages longer than this are no language tags.
MAX_LANGUAGE_CHARS = 35
#: Control characters a value must not carry (tab and newline are text).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class ContextBody(msgspec.Struct, forbid_unknown_fields=True):
    """``context`` in ``POST /api/visitor/requests``; every part optional."""

    #: The page the visitor was on (``location.href``), http or https.
    page: str = ""
    #: ``document.referrer``, http or https, or empty.
    referrer: str = ""
    #: The language the help box shows its words in ("de"): a language tag.
    help_language: str = ""
    #: ``navigator.languages``, most preferred first.
    languages: list[str] = []
    #: ``Intl.DateTimeFormat().resolvedOptions().timeZone``.
    time_zone: str = ""
    #: Minutes east of UTC (``-Date.getTimezoneOffset()``).
    utc_offset_min: int | None = None
    #: What the provider's page passed to the help box (``data-field-*``).
    fields: dict[str, str] = {}


@dataclass(frozen=True, slots=True)
class ContextLimits:
    fields: int
    key_chars: int
    value_chars: int
    url_chars: int
    languages: int


def _url(name: str, value: str, max_chars: int) -> str:
    if len(value) > max_chars:
        raise TooLarge(f"context.{name} is {len(value)} characters; the limit is {max_chars}")
    value = value.strip()
    if not value:
        return ""
    if _CONTROL.search(value) or any(c.isspace() for c in value):
        raise ProtocolError(f"context.{name} must not contain spaces or control characters")
    try:
        parts = urlsplit(value)
    except ValueError as exc:
        raise ProtocolError(f"context.{name} is not a URL: {exc}") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise ProtocolError(f"context.{name} must be an http or https URL")
    return value


def check_context(body: ContextBody | None, limits: ContextLimits) -> dict[str, Any]:
    """The context to store, checked and bounded. :class:`TooLarge` (413) past
    a limit, :class:`ProtocolError` (400) for a bad name, URL, language or
    offset; either way nothing is stored."""
    if body is None:
        return {}
    out: dict[str, Any] = {}
    if page := _url("page", body.page, limits.url_chars):
        out["page"] = page
    if referrer := _url("referrer", body.referrer, limits.url_chars):
        out["referrer"] = referrer
    if body.help_language:
        lang = body.help_language
        if len(lang) > MAX_LANGUAGE_CHARS or not LANGUAGE_RE.fullmatch(lang):
            raise ProtocolError(f"context.help_language: {lang[:MAX_LANGUAGE_CHARS]!r} is not a language tag")
        out["help_language"] = lang
    if len(body.languages) > limits.languages:
        raise TooLarge(f"context.languages has {len(body.languages)} entries; the limit is {limits.languages}")
    languages = []
    for lang in body.languages:
        if len(lang) > MAX_LANGUAGE_CHARS or not LANGUAGE_RE.fullmatch(lang):
            raise ProtocolError(f"context.languages: {lang[:MAX_LANGUAGE_CHARS]!r} is not a language tag")
        languages.append(lang)
    if languages:
        out["languages"] = languages
    if body.time_zone:
        if not TIME_ZONE_RE.fullmatch(body.time_zone):
            raise ProtocolError("context.time_zone is not a time zone name (like Europe/Berlin)")
        out["time_zone"] = body.time_zone
    if body.utc_offset_min is not None:
        if abs(body.utc_offset_min) > MAX_OFFSET_MIN:
            raise ProtocolError(f"context.utc_offset_min must be between -{MAX_OFFSET_MIN} and {MAX_OFFSET_MIN}")
        out["utc_offset_min"] = body.utc_offset_min
    if len(body.fields) > limits.fields:
        raise TooLarge(f"context.fields has {len(body.fields)} fields; the limit is {limits.fields}")
    fields: dict[str, str] = {}
    for key, value in body.fields.items():
        if len(key) > limits.key_chars:
            raise TooLarge(f"context field name {key[: limits.key_chars]!r}… is {len(key)} characters; the limit is {limits.key_chars}")
        if not KEY_RE.fullmatch(key):
            raise ProtocolError(
                f"context field name {key!r} may hold only letters, digits, '_', '-' and '.' (and start with a letter or digit)"
            )
        if len(value) > limits.value_chars:
            raise TooLarge(f"context field {key!r} is {len(value)} characters; the limit is {limits.value_chars}")
        if _CONTROL.search(value):
            raise ProtocolError(f"context field {key!r} must not contain control characters")
        fields[key] = value.strip()
    if fields:
        out["fields"] = fields
    return out
