"""Second-factor records (TOTP secret, recovery codes) on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import hashlib

from desklink.store import Store

from ._helpers import T0, at, make_user


def h(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


async def test_enrol_confirm_and_clear(store: Store) -> None:
    alice = await make_user(store, "alice")
    bob = await make_user(store, "bob")
    assert await store.get_second_factor(alice.id) is None
    assert await store.begin_second_factor(alice.id, "SECRETONE")
    pending = await store.get_second_factor(alice.id)
    assert pending is not None and pending.secret == "SECRETONE" and not pending.confirmed
    # Restarting replaces the pending secret; confirming an older one fails.
    assert await store.begin_second_factor(alice.id, "SECRETTWO")
    assert not await store.confirm_second_factor(alice.id, "SECRETONE", [h("a")], T0)
    assert await store.confirm_second_factor(alice.id, "SECRETTWO", [h("a"), h("b")], at(5))
    confirmed = await store.get_second_factor(alice.id)
    assert confirmed is not None and confirmed.confirmed and confirmed.confirmed_at == at(5)
    # A confirmed factor is not replaced by a new enrolment.
    assert not await store.begin_second_factor(alice.id, "SECRETTHREE")
    assert (await store.get_second_factor(alice.id)).secret == "SECRETTWO"  # type: ignore[union-attr]
    assert await store.recovery_codes_left(alice.id) == 2
    assert await store.second_factor_states() == {alice.id: True}
    await store.begin_second_factor(bob.id, "BOBSECRET")
    assert await store.second_factor_states() == {alice.id: True, bob.id: False}
    assert await store.clear_second_factor(alice.id)
    assert not await store.clear_second_factor(alice.id)
    assert await store.get_second_factor(alice.id) is None
    assert await store.recovery_codes_left(alice.id) == 0
    # After a reset the user can enrol again.
    assert await store.begin_second_factor(alice.id, "AGAIN")


async def test_a_recovery_code_works_once_even_when_raced(store: Store) -> None:
    alice = await make_user(store, "alice")
    bob = await make_user(store, "bob")
    await store.begin_second_factor(alice.id, "S")
    await store.confirm_second_factor(alice.id, "S", [h("one"), h("two")], T0)
    assert not await store.use_recovery_code(bob.id, h("one"), at(1))  # not bob's
    results = await asyncio.gather(*(store.use_recovery_code(alice.id, h("one"), at(1)) for _ in range(5)))
    assert sorted(results) == [False] * 4 + [True]
    assert await store.recovery_codes_left(alice.id) == 1
    await store.replace_recovery_codes(alice.id, [h("three")], at(2))
    assert not await store.use_recovery_code(alice.id, h("two"), at(3))  # replaced
    assert await store.use_recovery_code(alice.id, h("three"), at(3))
    assert await store.recovery_codes_left(alice.id) == 0
