"""Each queue's branding and logo, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib

import pytest

from desklink.errors import NotFound
from desklink.store import Store
from desklink.store.records import Branding, Logo

from ._helpers import T0, at, make_queue

FIELDS = [
    {"name": "order", "label": "Order number", "required": True, "kind": "text"},
    {"name": "topic", "label": "Thema – Ärger", "required": False, "kind": "select", "options": ["Billing", "Versand"]},
]
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


async def test_a_new_queue_has_no_branding_and_it_can_be_set(store: Store) -> None:
    q = await make_queue(store)
    other = await make_queue(store, "other")
    assert await store.get_branding(q.id) == Branding()
    b = await store.set_branding(q.id, title="Acme Hilfe", color="#1a73e8", welcome="Hallo!\nWir helfen.", fields=FIELDS)
    assert b == Branding(title="Acme Hilfe", color="#1a73e8", welcome="Hallo!\nWir helfen.", fields=tuple(FIELDS))
    assert await store.get_branding(q.id) == b
    assert await store.get_branding(other.id) == Branding()
    cleared = await store.set_branding(q.id, title="", color="", welcome="", fields=[])
    assert cleared == Branding()


async def test_a_logo_is_kept_apart_replaced_and_removed(store: Store) -> None:
    q = await make_queue(store)
    await store.set_branding(q.id, title="T", color="", welcome="", fields=[])
    assert await store.get_logo(q.id) is None
    digest = hashlib.sha256(PNG).hexdigest()
    await store.set_logo(q.id, data=PNG, content_type="image/png", sha256=digest, now=T0)
    assert await store.get_logo(q.id) == Logo(content_type="image/png", sha256=digest, data=PNG)
    b = await store.get_branding(q.id)
    assert (b.title, b.logo_sha256, b.logo_type) == ("T", digest, "image/png")
    jpeg = b"\xff\xd8\xff" + b"\x01" * 10
    await store.set_logo(q.id, data=jpeg, content_type="image/jpeg", sha256="b" * 64, now=at(5))
    assert await store.get_logo(q.id) == Logo(content_type="image/jpeg", sha256="b" * 64, data=jpeg)
    # Setting the rest of the branding keeps the logo.
    await store.set_branding(q.id, title="T2", color="#000000", welcome="", fields=[])
    assert (await store.get_branding(q.id)).logo_sha256 == "b" * 64
    assert await store.delete_logo(q.id) is True
    assert await store.delete_logo(q.id) is False
    assert await store.get_logo(q.id) is None
    assert (await store.get_branding(q.id)).logo_sha256 == ""


async def test_unknown_queues(store: Store) -> None:
    with pytest.raises(NotFound):
        await store.get_branding(404)
    with pytest.raises(NotFound):
        await store.set_branding(404, title="", color="", welcome="", fields=[])
    with pytest.raises(NotFound):
        await store.set_logo(404, data=PNG, content_type="image/png", sha256="a" * 64, now=T0)
    assert await store.get_logo(404) is None
