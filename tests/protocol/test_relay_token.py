"""Relay tokens (desklink.protocol.relay_token): signed by a web node,
checked by a relay node with nothing but the shared secret and a clock."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desklink.errors import AuthError, RelayTokenError
from desklink.protocol import relay_token as rt
from desklink.protocol.relay_token import RelayGrant

SECRET = b"s" * 32
OTHER_SECRET = b"t" * 32
NOW = 1_800_000_000.0
GRANT = RelayGrant(session="sess-1", role="viewer", subject=7, node="relay-a", expires=int(NOW) + 60)


def refused(token: str, **kw: object) -> str:
    args: dict[str, object] = {"now": NOW, "node": "relay-a", "role": "viewer", "session": "sess-1"}
    args.update(kw)
    secret = args.pop("secret", SECRET)
    with pytest.raises(RelayTokenError) as info:
        rt.verify(token, secret, **args)  # type: ignore[arg-type]
    return info.value.reason


def test_round_trip_gives_the_grant_back() -> None:
    token = rt.sign(GRANT, SECRET)
    assert token.startswith("v1.") and len(token) <= rt.MAX_TOKEN_CHARS
    assert rt.verify(token, SECRET, now=NOW, node="relay-a", role="viewer", session="sess-1") == GRANT


def test_agent_learns_its_session_from_the_token() -> None:
    grant = RelayGrant("sess-9", "agent", 0, "relay-a", int(NOW) + 60)
    token = rt.sign(grant, SECRET)
    assert rt.verify(token, SECRET, now=NOW, node="relay-a", role=("agent", "share")) == grant


def test_each_refusal_has_its_own_reason() -> None:
    token = rt.sign(GRANT, SECRET)
    assert refused(token, secret=OTHER_SECRET) == "forged"
    assert refused(token, session="sess-2") == "other_session"
    assert refused(token, role="agent") == "other_role"
    assert refused(token, node="relay-b") == "other_node"
    assert refused(token, now=NOW + 60) == "expired"
    assert refused(token, now=NOW + 10_000) == "expired"
    # one second before expiry it still holds
    assert rt.verify(token, SECRET, now=NOW + 59.5, node="relay-a", role="viewer", session="sess-1") == GRANT


def test_refusal_is_an_auth_error_with_a_code() -> None:
    with pytest.raises(AuthError) as info:
        rt.verify("nonsense", SECRET, now=NOW, node="relay-a", role="viewer")
    assert info.value.code == "auth_failed"


@pytest.mark.parametrize(
    "token",
    [
        "",
        "v1",
        "v1..",
        "v2.AAAA.AAAA",
        "v1.AAAA.AAAA",
        "v1.not base64.x",
        "v1." + "A" * 600 + ".AAAA",
        "v1.é.AAAA",
        "v1.AAAA.AAAA.AAAA",
    ],
)
def test_malformed_tokens_are_forged(token: str) -> None:
    assert refused(token) == "forged"


def test_a_payload_signed_right_but_not_a_grant_is_forged() -> None:
    """Only a holder of the secret could make this, yet it is still checked."""
    payload = rt._b64(b'["sess-1", "boss", 7, "relay-a", 1]')
    mac = rt._b64(rt._mac(SECRET, b"v1." + payload.encode()))
    assert refused(f"v1.{payload}.{mac}") == "forged"


def test_secrets_must_be_long_enough() -> None:
    with pytest.raises(ValueError):
        rt.sign(GRANT, b"short")
    with pytest.raises(ValueError):
        rt.verify(rt.sign(GRANT, SECRET), b"short", now=NOW, node="relay-a", role="viewer")
    assert len(rt.new_secret()) == rt.MIN_SECRET_BYTES
    assert rt.new_secret() != rt.new_secret()


@pytest.mark.parametrize(
    "grant",
    [
        RelayGrant("", "agent", 0, "n", 1),
        RelayGrant("s", "agent", 0, "", 1),
        RelayGrant("s" * 101, "agent", 0, "n", 1),
        RelayGrant("s", "boss", 0, "n", 1),  # type: ignore[arg-type]
        RelayGrant("s", "agent", -1, "n", 1),
    ],
)
def test_sign_refuses_grants_no_relay_could_admit(grant: RelayGrant) -> None:
    with pytest.raises(ValueError):
        rt.sign(grant, SECRET)


def test_expiry_rounds_up() -> None:
    assert rt.expiry(100.2, 30) == 131
    assert rt.expiry(100.0, 30) == 130


names = st.text(st.characters(codec="utf-8"), min_size=1, max_size=40)
grants = st.builds(
    RelayGrant,
    session=names,
    role=st.sampled_from(rt.ROLES),
    subject=st.integers(0, 2**53),
    node=names,
    expires=st.integers(int(NOW) + 1, 2**40),
)


@given(grants)
def test_any_grant_round_trips(grant: RelayGrant) -> None:
    token = rt.sign(grant, SECRET)
    assert rt.verify(token, SECRET, now=NOW, node=grant.node, role=grant.role, session=grant.session) == grant


@given(grants, st.data())
def test_any_change_to_one_character_is_refused(grant: RelayGrant, data: st.DataObject) -> None:
    token = rt.sign(grant, SECRET)
    i = data.draw(st.integers(0, len(token) - 1))
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.v"
    c = data.draw(st.sampled_from(alphabet).filter(lambda c: c != token[i]))
    tampered = token[:i] + c + token[i + 1 :]
    with pytest.raises(RelayTokenError) as info:
        rt.verify(tampered, SECRET, now=NOW, node=grant.node, role=grant.role, session=grant.session)
    assert info.value.reason == "forged"


@given(grants, st.binary(min_size=32, max_size=64).filter(lambda s: s != SECRET))
def test_another_secret_never_verifies(grant: RelayGrant, secret: bytes) -> None:
    token = rt.sign(grant, secret)
    with pytest.raises(RelayTokenError) as info:
        rt.verify(token, SECRET, now=NOW, node=grant.node, role=grant.role)
    assert info.value.reason == "forged"


@given(grants, st.lists(st.sampled_from(["session", "role", "node", "subject", "expires"]), min_size=1, unique=True))
def test_a_payload_rewritten_without_the_secret_is_forged(grant: RelayGrant, fields: list[str]) -> None:
    """Take a real token, put another grant in its payload, keep the MAC."""
    token = rt.sign(grant, SECRET)
    changes: dict[str, object] = {
        "session": grant.session + "x",
        "role": "agent" if grant.role != "agent" else "viewer",
        "node": grant.node + "x",
        "subject": grant.subject + 1,
        "expires": grant.expires + 3600,
    }
    other = RelayGrant(**{f: changes[f] if f in fields else getattr(grant, f) for f in changes})  # type: ignore[arg-type]
    forged_payload = rt.sign(other, OTHER_SECRET).split(".")[1]
    v, _, mac = token.split(".")
    with pytest.raises(RelayTokenError) as info:
        rt.verify(f"{v}.{forged_payload}.{mac}", SECRET, now=NOW, node=other.node, role=other.role)
    assert info.value.reason == "forged"
