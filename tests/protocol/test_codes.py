"""Error and close codes (protocol/codes.py) against docs/protocol.md, which
is the contract clients are written from."""

from __future__ import annotations

import re

import pytest

from desklink import errors
from desklink.protocol import codes
from desklink.protocol.codes import CLOSE_CODES, ERROR_CODES

from . import _docs


def documented_error_codes() -> set[str]:
    rows = _docs.table("Errors and close codes", "class")
    found = {code for _cls, cell in rows for code in _docs.backticked(cell)}
    assert found, "the error table parsed to nothing"
    return found


def documented_close_codes() -> dict[int, str]:
    rows = _docs.table("Errors and close codes", "close code")
    return {int(code): meaning for code, meaning in rows}


def test_error_table_parses() -> None:
    assert {"bad_message", "too_large", "internal"} <= documented_error_codes()


def test_every_documented_error_code_exists() -> None:
    assert documented_error_codes() - set(ERROR_CODES) == set()


def test_every_error_code_is_documented() -> None:
    assert set(ERROR_CODES) - documented_error_codes() == set()


def test_error_codes_are_unique_and_well_formed() -> None:
    assert len(ERROR_CODES) == len(set(ERROR_CODES))
    for code in ERROR_CODES:
        assert re.fullmatch(r"[a-z]+(_[a-z]+)*", code), code


@pytest.mark.parametrize(
    "cls",
    [errors.DeskLinkError, errors.ProtocolError, errors.TooLarge, errors.LimitExceeded, errors.AuthError,
     errors.Forbidden, errors.NotFound, errors.Conflict, errors.Unavailable, errors.ConfigError],
)
def test_exception_default_codes_are_error_codes(cls: type[errors.DeskLinkError]) -> None:
    assert cls.code in ERROR_CODES
    assert cls("x").code == cls.code
    assert cls("x", code="bad_state").code == "bad_state"


def test_error_code_classes_match_http_statuses() -> None:
    assert errors.ProtocolError.http_status == 400 and errors.ProtocolError.code.startswith("bad_")
    assert errors.TooLarge.http_status == 413
    assert errors.LimitExceeded.http_status == 429 and errors.LimitExceeded.code.endswith("_limited")
    assert errors.AuthError.http_status == 401 and errors.AuthError.code.startswith("auth_")
    assert errors.Conflict.http_status == 409 and errors.Conflict.code.startswith("conflict_")


def test_every_close_code_has_a_description() -> None:
    for code, description in CLOSE_CODES.items():
        assert isinstance(description, str) and description.strip(), code


def test_every_close_constant_is_in_the_table() -> None:
    constants = {
        name: value for name, value in vars(codes).items() if name.startswith("CLOSE_") and isinstance(value, int)
    }
    assert set(constants.values()) == set(CLOSE_CODES)
    assert len(set(constants.values())) == len(constants)  # no two names for one code


def test_close_codes_are_standard_or_application() -> None:
    standard = {1000, 1001, 1007, 1008, 1009, 1011}
    for code in CLOSE_CODES:
        assert code in standard or 4000 <= code <= 4999, code


def test_every_documented_close_code_exists() -> None:
    documented = documented_close_codes()
    assert documented, "the close-code table parsed to nothing"
    assert set(documented) - set(CLOSE_CODES) == set()
