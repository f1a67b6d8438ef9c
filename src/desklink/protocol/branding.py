"""A queue's branding and pre-chat fields (issue 14, "For visitors").

Sans-I/O: the checks the admin rules (admin/rules.py) and the visitor's
submit (server/api_visitor.py) share. Nothing here is markup: the help box
shows the title, welcome text, labels and options as text, and the rep's
console shows the answers as text.

The pre-chat fields as stored (JSON column ``queues.prechat_fields``)::

    [{"name": "order", "label": "Order number", "required": true, "kind": "text"},
     {"name": "topic", "label": "Topic", "required": false, "kind": "select",
      "options": ["Billing", "Delivery"]}]

The answers travel with the request as the visitor context's ``prechat``
list, in the fields' order, each with its label so the rep reads the words
the admin chose: ``[{"name": "order", "label": "Order number", "value": "A-17"}]``.

A logo is PNG, JPEG or WebP, recognised by its first bytes, never by a
name or a declared type: SVG (which can carry script) is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final, Literal

from desklink.errors import ProtocolError, TooLarge
from desklink.protocol.visitor_context import KEY_RE

FieldKind = Literal["text", "email", "select"]
FIELD_KINDS: Final[tuple[FieldKind, ...]] = ("text", "email", "select")

#: ``#rrggbb``; the help box sets it as a CSS custom property, so nothing
#: else (no ``url(...)``, no ``;``) may pass.
COLOR_RE = re.compile(r"#[0-9a-fA-F]{6}")
#: Control characters no title, label or answer may carry (tab and newline are text).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
#: Control characters no single-line text may carry (newline included).
_LINE_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

#: Logo types by their magic bytes.
LOGO_TYPES: Final[tuple[str, ...]] = ("image/png", "image/jpeg", "image/webp")
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_JPEG_MAGIC = b"\xff\xd8\xff"


@dataclass(frozen=True, slots=True)
class BrandingLimits:
    #: Pre-chat fields per queue.
    fields: int
    #: Longest field label, select option, title (characters).
    label_chars: int
    #: Options of one select field.
    options: int
    #: Longest field name (letters, digits, ``_``, ``-``, ``.``).
    name_chars: int
    #: Longest title shown in the help box header.
    title_chars: int
    #: Longest welcome text.
    welcome_chars: int
    #: Longest answer to one field.
    answer_chars: int
    #: Largest logo.
    logo_bytes: int


def check_color(value: str) -> str:
    """``""`` (the default colour) or ``#rrggbb`` in lower case."""
    value = value.strip()
    if not value:
        return ""
    if not COLOR_RE.fullmatch(value):
        raise ProtocolError(f"color must be #rrggbb, like #1a73e8 (not {value[:20]!r})")
    return value.lower()


def check_line(what: str, value: str, max_chars: int) -> str:
    """One line of text (a title, a label, an option): trimmed, at most ``max_chars``."""
    value = value.strip()
    if len(value) > max_chars:
        raise TooLarge(f"{what} is {len(value)} characters; the limit is {max_chars}")
    if _LINE_CONTROL.search(value):
        raise ProtocolError(f"{what} must be one line without control characters")
    return value


def check_welcome(value: str, max_chars: int) -> str:
    value = value.strip()
    if len(value) > max_chars:
        raise TooLarge(f"welcome text is {len(value)} characters; the limit is {max_chars}")
    if _CONTROL.search(value):
        raise ProtocolError("welcome text must not contain control characters")
    return value


def check_fields(raw: Any, limits: BrandingLimits) -> list[dict[str, Any]]:
    """The pre-chat fields to store, each ``{name, label, required, kind}``
    (``options`` for a select). :class:`TooLarge` past a limit,
    :class:`ProtocolError` for anything malformed; nothing is kept either way."""
    if not isinstance(raw, list):
        raise ProtocolError("fields must be a list")
    if len(raw) > limits.fields:
        raise TooLarge(f"{len(raw)} pre-chat fields; the limit is {limits.fields}")
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, item in enumerate(raw, start=1):
        if not isinstance(item, dict):
            raise ProtocolError(f"field {i} must be an object with name, label, required and kind")
        unknown = set(item) - {"name", "label", "required", "kind", "options"}
        if unknown:
            raise ProtocolError(f"field {i} has unknown keys {sorted(unknown)}")
        name, label = item.get("name"), item.get("label")
        kind, required = item.get("kind", "text"), item.get("required", False)
        if not isinstance(name, str) or not isinstance(label, str) or not isinstance(kind, str) or not isinstance(required, bool):
            raise ProtocolError(f"field {i}: name, label and kind are text, required is true or false")
        name = name.strip()
        if len(name) > limits.name_chars:
            raise TooLarge(f"field {i}: the name is {len(name)} characters; the limit is {limits.name_chars}")
        if not KEY_RE.fullmatch(name):
            raise ProtocolError(f"field {i}: the name may hold only letters, digits, '_', '-' and '.' (and start with a letter or digit)")
        if name in seen:
            raise ProtocolError(f"two fields are named {name!r}")
        seen.add(name)
        label = check_line(f"field {name!r}: the label", label, limits.label_chars)
        if not label:
            raise ProtocolError(f"field {name!r} needs a label")
        if kind not in FIELD_KINDS:
            raise ProtocolError(f"field {name!r}: kind must be one of {', '.join(FIELD_KINDS)}")
        field: dict[str, Any] = {"name": name, "label": label, "required": required, "kind": kind}
        options = item.get("options")
        if kind == "select":
            field["options"] = _options(name, options, limits)
        elif options:
            raise ProtocolError(f"field {name!r}: only a select field has options")
        out.append(field)
    return out


def _options(name: str, raw: Any, limits: BrandingLimits) -> list[str]:
    if not isinstance(raw, list) or not all(isinstance(o, str) for o in raw):
        raise ProtocolError(f"field {name!r}: options must be a list of text")
    if len(raw) > limits.options:
        raise TooLarge(f"field {name!r} has {len(raw)} options; the limit is {limits.options}")
    options: list[str] = []
    for o in raw:
        o = check_line(f"field {name!r}: an option", o, limits.label_chars)
        if o and o not in options:
            options.append(o)
    if not options:
        raise ProtocolError(f"field {name!r}: a select field needs at least one option")
    return options


def logo_type(data: bytes, max_bytes: int) -> str:
    """The media type of a logo, from its magic bytes; :class:`TooLarge` over
    ``max_bytes``, :class:`ProtocolError` for anything but PNG, JPEG or WebP."""
    if len(data) > max_bytes:
        raise TooLarge(f"the logo is {len(data)} bytes; the limit is {max_bytes}")
    if data.startswith(_PNG_MAGIC):
        return "image/png"
    if data.startswith(_JPEG_MAGIC):
        return "image/jpeg"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    raise ProtocolError("a logo must be a PNG, JPEG or WebP image (SVG and other types are refused)")


def check_answers(fields: list[dict[str, Any]], answers: dict[str, str], max_chars: int) -> list[dict[str, str]]:
    """The visitor's answers to the queue's pre-chat fields, as stored on the
    request: one ``{name, label, value}`` per answered field, in the fields'
    order. Refused as a whole (nothing stored): a required field left empty
    or an answer that is no option of its select or no e-mail address
    (``bad_prechat``), an answer to no field (``bad_prechat``), an answer over
    ``max_chars`` (``too_large``)."""
    known = {f["name"] for f in fields}
    stray = sorted(set(answers) - known)
    if stray:
        raise ProtocolError(f"no pre-chat field is named {stray[0][:40]!r}", code="bad_prechat")
    out: list[dict[str, str]] = []
    for f in fields:
        name, label = f["name"], f["label"]
        value = answers.get(name, "")
        if len(value) > max_chars:
            raise TooLarge(f"the answer to {label!r} is {len(value)} characters; the limit is {max_chars}")
        if _CONTROL.search(value):
            raise ProtocolError(f"the answer to {label!r} must not contain control characters", code="bad_prechat")
        value = value.strip()
        if not value:
            if f.get("required"):
                raise ProtocolError(f"{label!r} is required", code="bad_prechat")
            continue
        if f.get("kind") == "select" and value not in f.get("options", []):
            raise ProtocolError(f"{value[:40]!r} is not one of the choices for {label!r}", code="bad_prechat")
        if f.get("kind") == "email" and ("@" not in value or any(c.isspace() for c in value)):
            raise ProtocolError(f"the answer to {label!r} does not look like an e-mail address", code="bad_prechat")
        out.append({"name": name, "label": label, "value": value})
    return out
