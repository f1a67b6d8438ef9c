"""Transfer and invite offers folded from the events (desklink.dispatch.handoff), pure."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from desklink.dispatch.handoff import in_chat_by_invitation, open_offers
from desklink.store.records import Event

AT = datetime(2026, 1, 1, tzinfo=UTC)


def ev(kind: str, actor_id: int | None = 1, **data: Any) -> Event:
    return Event(id=0, request_id="r", kind=kind, actor="rep", actor_id=actor_id, data=data, created_at=AT)  # type: ignore[arg-type]


def test_open_offers_fold_outcomes_and_void_on_end_or_take_over() -> None:
    offered = [ev("transfer_offered", id="a"), ev("invited", id="b")]
    assert set(open_offers(offered)) == {"a", "b"}
    assert set(open_offers([*offered, ev("handoff_declined", 2, id="a")])) == {"b"}
    assert set(open_offers([*offered, ev("transferred", 2, id="a"), ev("handoff_expired", None, id="b")])) == set()
    assert open_offers([*offered, ev("ended", 1)]) == {}
    assert open_offers([*offered, ev("taken_over", 3)]) == {}
    assert set(open_offers([ev("ended"), ev("invited", id="c")])) == {"c"}


def test_in_chat_by_invitation_until_leaving() -> None:
    assert in_chat_by_invitation([ev("invite_accepted", 2, id="b")], 2)
    assert not in_chat_by_invitation([ev("invite_accepted", 2, id="b"), ev("left_chat", 2)], 2)
    assert in_chat_by_invitation([ev("invite_accepted", 2), ev("left_chat", 2), ev("invite_accepted", 2)], 2)
    assert not in_chat_by_invitation([ev("invite_accepted", 2, id="b")], 3)
