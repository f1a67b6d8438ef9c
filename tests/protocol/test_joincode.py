"""Join codes made, parsed and spoken (protocol/joincode.py), and the odds
the per-slot limit leaves a guesser."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desklink.errors import ProtocolError
from desklink.protocol import joincode, limits

slots = st.integers(0, joincode.SLOTS - 1)
secrets_ = st.integers(0, joincode.SECRETS - 1).map(lambda n: f"{n:06d}")


@given(slots, secrets_)
def test_spoken_and_typed_forms_parse_back(slot: int, secret: str) -> None:
    code = joincode.make(slot, secret)
    assert len(code.digits) == 9 and code.digits.isdigit()
    assert code.spoken == f"{code.digits[:3]} {code.digits[3:6]} {code.digits[6:]}"
    for text in (code.digits, code.spoken, code.spoken.replace(" ", "-"), f"  {code.spoken}\t"):
        assert joincode.parse(text) == code


@pytest.mark.parametrize(
    "text",
    ["", "12345678", "1234567890", "123 456 78x", "١٢٣٤٥٦٧٨٩", "123456789" + " " * 30, "12/34/56789", "abc123456789"],
)
def test_anything_but_nine_ascii_digits_is_refused(text: str) -> None:
    with pytest.raises(ProtocolError, match="9 digits"):
        joincode.parse(text)


def test_make_refuses_what_parse_never_yields() -> None:
    for slot, secret in ((-1, "000000"), (1000, "000000"), (5, "12345"), (5, "12345a"), (5, "１２３４５６")):
        with pytest.raises(ValueError):
            joincode.make(slot, secret)


def test_new_secrets_are_six_digits_and_vary() -> None:
    seen = {joincode.new_secret() for _ in range(200)}
    assert all(len(s) == 6 and s.isdigit() for s in seen)
    assert len(seen) > 150


def test_only_the_hash_of_the_secret_is_kept() -> None:
    code = joincode.make(7, "123456")
    assert code.secret_hash == joincode.secret_hash("123456") != joincode.secret_hash("123457")
    assert "123456" not in code.secret_hash and len(code.secret_hash) == 64


def test_the_default_limits_leave_a_guesser_one_in_ten_thousand_per_code() -> None:
    assert joincode.attacker_odds(limits.JOIN_CODE_MAX_TRIES) == pytest.approx(1e-4)
    # A whole screen request with every renewal the visitor may take.
    assert joincode.attacker_odds(limits.JOIN_CODE_MAX_TRIES, limits.JOIN_CODE_RENEWALS) == pytest.approx(6e-4)
    # Burning every code costs max_tries guesses per slot: past the old 3000 by far.
    assert limits.JOIN_CODE_MAX_TRIES * joincode.SLOTS >= 100_000
    assert joincode.attacker_odds(10**7) == 1.0


def test_the_wrong_code_reason_fits_a_close_frame() -> None:
    assert len(joincode.WRONG_CODE.encode("utf-8")) <= 123
    assert "New code" in joincode.WRONG_CODE
