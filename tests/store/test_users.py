"""Accounts and console logins."""

from __future__ import annotations

from datetime import timedelta

import pytest

from desklink.errors import Conflict, NotFound
from desklink.store import Store

from ._helpers import T0, at, make_user


async def test_create_and_get_user(store: Store) -> None:
    user = await store.create_user("Alice", "Alice Example", "supervisor", "argon2-hash", T0)
    assert user.id > 0
    assert (user.username, user.display_name, user.role) == ("Alice", "Alice Example", "supervisor")
    assert user.password_hash == "argon2-hash"
    assert user.disabled is False
    assert user.created_at == T0
    assert await store.get_user(user.id) == user
    assert await store.get_user(user.id + 1000) is None


async def test_username_lookup_ignores_case_and_width(store: Store) -> None:
    user = await store.create_user("Alice", "A", "rep", "h", T0)
    assert await store.get_user_by_name("alice") == user
    assert await store.get_user_by_name("ALICE") == user
    assert await store.get_user_by_name("ａｌｉｃｅ") == user  # full-width letters
    assert await store.get_user_by_name("alice2") is None


async def test_duplicate_username_conflicts_and_keeps_the_original(store: Store) -> None:
    original = await store.create_user("Alice", "First", "admin", "hash-1", T0)
    for taken in ("Alice", "alice", "ALICE"):
        with pytest.raises(Conflict):
            await store.create_user(taken, "Second", "rep", "hash-2", at(1))
    assert await store.count_users() == 1
    assert await store.get_user_by_name("alice") == original


async def test_unicode_usernames_case_fold(store: Store) -> None:
    user = await store.create_user("Ärger-Straße", "Jürgen 🛠️", "rep", "h", T0)
    assert await store.get_user_by_name("ärger-strasse") == user  # ß casefolds to ss
    got = await store.get_user(user.id)
    assert got is not None and got.display_name == "Jürgen 🛠️"
    with pytest.raises(Conflict):
        await store.create_user("ÄRGER-STRASSE", "x", "rep", "h", T0)


async def test_unknown_role_is_refused(store: Store) -> None:
    with pytest.raises(ValueError):
        await store.create_user("bob", "Bob", "root", "h", T0)  # type: ignore[arg-type]
    assert await store.count_users() == 0


async def test_list_and_count_users_in_creation_order(store: Store) -> None:
    assert await store.list_users() == []
    assert await store.count_users() == 0
    names = ["zed", "amy", "mo"]
    for i, name in enumerate(names):
        await make_user(store, name, now=at(i))
    assert [u.username for u in await store.list_users()] == names
    assert await store.count_users() == 3


async def test_update_user_changes_only_given_fields(store: Store) -> None:
    user = await make_user(store, "carol")
    updated = await store.update_user(user.id, role="admin", disabled=True)
    assert (updated.role, updated.disabled) == ("admin", True)
    assert (updated.display_name, updated.password_hash) == (user.display_name, user.password_hash)
    updated = await store.update_user(user.id, display_name="Carol C", password_hash="new", disabled=False)
    assert (updated.display_name, updated.password_hash, updated.disabled, updated.role) == (
        "Carol C",
        "new",
        False,
        "admin",
    )
    assert await store.get_user(user.id) == updated
    assert await store.update_user(user.id) == updated  # nothing to change


async def test_update_user_refusals(store: Store) -> None:
    user = await make_user(store)
    with pytest.raises(NotFound):
        await store.update_user(user.id + 1, display_name="x")
    with pytest.raises(NotFound):
        await store.update_user(user.id + 1)
    with pytest.raises(ValueError):
        await store.update_user(user.id, role="god")  # type: ignore[arg-type]
    assert await store.get_user(user.id) == user


# -- console logins ---------------------------------------------------------


async def test_auth_session_round_trip(store: Store) -> None:
    user = await make_user(store)
    auth = await store.create_auth_session("tok-hash", user.id, "csrf-1", T0, at(3600))
    assert (auth.token_hash, auth.user_id, auth.csrf_token) == ("tok-hash", user.id, "csrf-1")
    assert (auth.created_at, auth.expires_at) == (T0, at(3600))
    assert await store.get_auth_session("tok-hash", at(10)) == (auth, user)
    assert await store.get_auth_session("other", at(10)) is None


async def test_auth_session_expires(store: Store) -> None:
    user = await make_user(store)
    await store.create_auth_session("tok", user.id, "c", T0, at(60))
    assert await store.get_auth_session("tok", at(60) - timedelta(microseconds=1)) is not None
    assert await store.get_auth_session("tok", at(60)) is None
    assert await store.get_auth_session("tok", at(61)) is None


async def test_auth_session_of_disabled_user_is_refused(store: Store) -> None:
    user = await make_user(store)
    await store.create_auth_session("tok", user.id, "c", T0, at(60))
    await store.update_user(user.id, disabled=True)
    assert await store.get_auth_session("tok", at(1)) is None
    await store.update_user(user.id, disabled=False)
    result = await store.get_auth_session("tok", at(1))
    assert result is not None and result[1].disabled is False


async def test_auth_session_refusals(store: Store) -> None:
    user = await make_user(store)
    with pytest.raises(NotFound):
        await store.create_auth_session("tok", user.id + 99, "c", T0, at(60))
    await store.create_auth_session("tok", user.id, "c1", T0, at(60))
    with pytest.raises(Conflict):
        await store.create_auth_session("tok", user.id, "c2", T0, at(90))
    result = await store.get_auth_session("tok", T0)
    assert result is not None and result[0].csrf_token == "c1"


async def test_delete_auth_sessions(store: Store) -> None:
    alice = await make_user(store, "alice")
    bob = await make_user(store, "bob")
    for tok, user in (("a1", alice), ("a2", alice), ("b1", bob)):
        await store.create_auth_session(tok, user.id, "c", T0, at(60))
    await store.delete_auth_session("a1")
    await store.delete_auth_session("a1")  # unknown now: not an error
    assert await store.get_auth_session("a1", T0) is None
    assert await store.get_auth_session("a2", T0) is not None
    await store.delete_user_auth_sessions(alice.id)
    assert await store.get_auth_session("a2", T0) is None
    assert await store.get_auth_session("b1", T0) is not None


async def test_purge_auth_sessions_deletes_only_expired(store: Store) -> None:
    user = await make_user(store)
    await store.create_auth_session("old", user.id, "c", T0, at(10))
    await store.create_auth_session("new", user.id, "c", T0, at(100))
    assert await store.purge_auth_sessions(at(50)) == 1
    assert await store.purge_auth_sessions(at(50)) == 0
    assert await store.get_auth_session("new", at(50)) is not None


async def test_the_last_enabled_admin_can_be_neither_demoted_nor_disabled(store: Store) -> None:
    from desklink.errors import ProtocolError

    boss = await make_user(store, "boss", role="admin")
    other = await make_user(store, "other", role="admin")
    await store.update_user(other.id, disabled=True, keep_an_admin=True)  # boss remains
    for change in ({"role": "supervisor"}, {"disabled": True}):
        with pytest.raises(ProtocolError, match="no enabled admin") as refused:
            await store.update_user(boss.id, keep_an_admin=True, **change)  # type: ignore[arg-type]
        assert refused.value.code == "bad_state"
    still = await store.get_user(boss.id)
    assert still is not None and (still.role, still.disabled) == ("admin", False)
    # Other changes to the last admin go through, and the guard is only on request.
    assert (await store.update_user(boss.id, display_name="The Boss", keep_an_admin=True)).display_name == "The Boss"
    await store.update_user(other.id, disabled=False)
    assert (await store.update_user(boss.id, role="rep", keep_an_admin=True)).role == "rep"
