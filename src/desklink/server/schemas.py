"""Request bodies of the HTTP API as msgspec structs: decoding validates
types, and :mod:`desklink.server.openapi` derives the JSON Schemas from them."""

from __future__ import annotations

from typing import Literal

import msgspec


class Body(msgspec.Struct, forbid_unknown_fields=True):
    pass


class SubmitBody(Body):
    queue: str
    name: str
    question: str
    email: str = ""
    #: The visitor's system and browser, e.g. "Windows 11 · Chrome 131".
    client: str = ""


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


class CreateQueueBody(Body):
    slug: str
    name: str
    allowed_origins: list[str] = []


class UpdateQueueBody(Body):
    name: str | None = None
    allowed_origins: list[str] | None = None


class MembersBody(Body):
    user_ids: list[int]


class SecondFactorBody(Body):
    ticket: str
    code: str


class CodeBody(Body):
    code: str


class SecondFactorPolicyBody(Body):
    roles: list[Literal["rep", "supervisor", "admin"]]
