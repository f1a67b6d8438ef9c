"""Request bodies of the HTTP API as msgspec structs: decoding validates
types, and :mod:`desklink.server.openapi` derives the JSON Schemas from them."""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from desklink.protocol.visitor_context import ContextBody


class Body(msgspec.Struct, forbid_unknown_fields=True):
    pass


class SubmitBody(Body):
    queue: str
    name: str
    question: str
    email: str = ""
    #: The visitor's system and browser, e.g. "Windows 11 · Chrome 131".
    client: str = ""
    #: Page, referrer, languages, time zone and the provider's fields
    #: (protocol/visitor_context.py).
    context: ContextBody | None = None
    #: Answers to the queue's pre-chat fields, by field name (protocol/branding.py).
    answers: dict[str, str] = {}


class RatingBody(Body):
    """The visitor's rating of an ended conversation (``POST /api/visitor/rating``)."""

    #: 1 (poor) to 5 (excellent).
    rating: int
    #: Optional, at most ``max_rating_comment_chars`` characters.
    comment: str = ""


class LoginBody(Body):
    username: str
    password: str


class CreateUserBody(Body):
    username: str
    password: str
    role: Literal["rep", "supervisor", "admin"] = "rep"
    display_name: str = ""


class UpdateUserBody(Body):
    display_name: str | None = None
    role: Literal["rep", "supervisor", "admin"] | None = None
    disabled: bool | None = None
    password: str | None = None


class FilePolicyBody(Body):
    """A queue's file policy; a field left out stays as it is. Limits: 0
    means the server's setting, which is also the most allowed."""

    to_visitor: bool | None = None
    from_visitor: bool | None = None
    max_file_bytes: int | None = None
    max_files_per_session: int | None = None
    #: ``"exe, bat"`` or ``["exe", "bat"]``; empty for none.
    blocked_extensions: str | list[str] | None = None


class BrandingBody(Body):
    """A queue's help box branding (protocol/branding.py); a field left out
    stays as it is, an empty text goes back to the default."""

    title: str | None = None
    #: ``#rrggbb`` or empty.
    color: str | None = None
    welcome: str | None = None
    #: The pre-chat fields, replacing all: ``[{name, label, required, kind, options?}]``
    #: (kind text | email | select; options for a select).
    fields: list[dict[str, Any]] | None = None


class CreateQueueBody(Body):
    slug: str
    name: str
    allowed_origins: list[str] = []
    files: FilePolicyBody | None = None
    #: Screen recording: always | on_request | never (left out: never).
    recording: str | None = None
    #: Business hours (hours.py): {"tz", "weekly", "holidays"}; {} always open.
    hours: dict[str, Any] | None = None


class UpdateQueueBody(Body):
    name: str | None = None
    allowed_origins: list[str] | None = None
    files: FilePolicyBody | None = None
    #: Screen recording: always | on_request | never (left out: as it is).
    recording: str | None = None
    #: Business hours (hours.py); {} always open (left out: as they are).
    hours: dict[str, Any] | None = None
    branding: BrandingBody | None = None


class MembersBody(Body):
    user_ids: list[int]


class SecondFactorBody(Body):
    ticket: str
    code: str


class CodeBody(Body):
    code: str


class SecondFactorPolicyBody(Body):
    roles: list[Literal["rep", "supervisor", "admin"]]


class CannedBody(Body):
    """A new canned reply (``POST /api/canned``): the queue's when
    ``queue_id`` is given, else the caller's own."""

    name: str
    title: str
    body: str
    queue_id: int | None = None


class CannedPatchBody(Body):
    """Changes to a canned reply (left out: as it is)."""

    name: str | None = None
    title: str | None = None
    body: str | None = None


class NoteBody(Body):
    """An internal note on a session (``POST /api/sessions/{id}/notes``)."""

    body: str


class OfflineBody(Body):
    """A message left in the help box while the desk is closed or nobody
    is online (``POST /api/visitor/offline``)."""

    queue: str
    name: str
    email: str
    message: str


class OfflineAnswerBody(Body):
    """A rep's e-mail answer to an offline message."""

    body: str
