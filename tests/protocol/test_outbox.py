"""Outbox (protocol/outbox.py): priority classes, per-class bounds, latest
wins for screen frames, and statistics; plus a model-based test against a
reference written from the module's theory of operation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from desklink.protocol.outbox import Outbox, Priority

STAT_KEYS = {"queued_control", "queued_pointer", "queued_screen", "queued_bulk", "pushed", "sent", "refused", "replaced"}


def drain(box: Outbox[str]) -> list[str]:
    out = []
    while (item := box.pop()) is not None:
        out.append(item)
    return out


@pytest.mark.parametrize("limit", [0, -1])
def test_limit_must_be_positive(limit: int) -> None:
    with pytest.raises(ValueError):
        Outbox(limit)


def test_priority_order_is_control_screen_bulk() -> None:
    assert [p.name for p in sorted(Priority)] == ["CONTROL", "POINTER", "SCREEN", "BULK"]
    box: Outbox[str] = Outbox(10)
    box.push("file1", Priority.BULK)
    box.push("frame1", Priority.SCREEN)
    box.push("chat1", Priority.CONTROL)
    box.push("file2", Priority.BULK)
    box.push("chat2")  # CONTROL by default
    box.push("frame2", Priority.SCREEN)
    assert drain(box) == ["chat1", "chat2", "frame1", "frame2", "file1", "file2"]


def test_control_pushed_later_overtakes_waiting_bulk() -> None:
    box: Outbox[str] = Outbox(10)
    for i in range(5):
        box.push(f"file{i}", Priority.BULK)
    assert box.pop() == "file0"
    box.push("alert", Priority.CONTROL)
    assert box.pop() == "alert"
    assert box.pop() == "file1"


def test_fifo_within_a_class() -> None:
    box: Outbox[int] = Outbox(100)
    for i in range(50):
        box.push(i, Priority.BULK)
    assert [box.pop() for _ in range(50)] == list(range(50))


def test_empty_pop_is_none_and_not_counted() -> None:
    box: Outbox[str] = Outbox(1)
    assert box.pop() is None
    assert box.statistics()["sent"] == 0
    assert len(box) == 0


def test_falsy_items_are_still_items() -> None:
    box: Outbox[object] = Outbox(4)
    box.push(0)
    box.push("")
    assert len(box) == 2
    assert box.pop() == 0
    assert box.pop() == ""


def test_full_class_refuses_without_growing() -> None:
    box: Outbox[str] = Outbox(3)
    assert all(box.push(f"c{i}") for i in range(3))
    assert not box.push("c3")
    assert not box.push("c4")
    assert len(box) == 3
    stats = box.statistics()
    assert stats["queued_control"] == 3
    assert stats["refused"] == 2
    assert stats["pushed"] == 3
    assert drain(box) == ["c0", "c1", "c2"]  # the refused ones are not there


def test_bound_is_per_class() -> None:
    box: Outbox[str] = Outbox(2)
    for p in Priority:
        assert box.push("a", p) and box.push("b", p)
        assert not box.push("c", p)
    assert len(box) == 2 * len(Priority)
    assert box.statistics()["refused"] == len(Priority)


def test_room_comes_back_after_pop() -> None:
    box: Outbox[str] = Outbox(1)
    assert box.push("a", Priority.SCREEN)
    assert not box.push("b", Priority.SCREEN)
    assert box.pop() == "a"
    assert box.push("c", Priority.SCREEN)


def test_replace_latest_wins() -> None:
    box: Outbox[str] = Outbox(5)
    box.push("chat")
    box.push("f1", Priority.SCREEN)
    box.push("f2", Priority.SCREEN)
    box.replace("f3")  # SCREEN by default
    assert box.statistics()["replaced"] == 2
    assert box.statistics()["queued_screen"] == 1
    box.replace("f4", Priority.SCREEN)
    assert box.statistics()["replaced"] == 3
    assert drain(box) == ["chat", "f4"]


def test_replace_on_an_empty_class_just_queues() -> None:
    box: Outbox[str] = Outbox(1)
    box.replace("f1")
    stats = box.statistics()
    assert (stats["queued_screen"], stats["replaced"], stats["pushed"]) == (1, 0, 1)
    assert box.pop() == "f1"


def test_replace_works_on_a_full_class_and_leaves_others_alone() -> None:
    box: Outbox[str] = Outbox(2)
    box.push("chat")
    box.push("file", Priority.BULK)
    box.push("f1", Priority.SCREEN)
    box.push("f2", Priority.SCREEN)
    assert not box.push("f3", Priority.SCREEN)
    box.replace("f4")
    assert len(box) == 3
    assert drain(box) == ["chat", "f4", "file"]


def test_statistics() -> None:
    box: Outbox[str] = Outbox(2)
    assert box.statistics() == dict.fromkeys(STAT_KEYS, 0)
    box.push("a")
    box.push("b", Priority.BULK)
    box.push("c", Priority.BULK)
    box.push("d", Priority.BULK)  # refused
    box.replace("e")
    box.replace("f")  # replaces e
    box.pop()
    assert box.statistics() == {
        "queued_control": 0,
        "queued_pointer": 0,
        "queued_screen": 1,
        "queued_bulk": 2,
        "pushed": 5,
        "sent": 1,
        "refused": 1,
        "replaced": 1,
    }
    assert len(box) == 3


# --------------------------------------------------------------------------
# model-based


class OutboxModel(RuleBasedStateMachine):
    """The reference: three plain lists and four counters."""

    @initialize(limit=st.integers(min_value=1, max_value=4))
    def setup(self, limit: int) -> None:
        self.limit = limit
        self.box: Outbox[int] = Outbox(limit)
        self.model: dict[Priority, list[int]] = {p: [] for p in Priority}
        self.counts = {"pushed": 0, "sent": 0, "refused": 0, "replaced": 0}
        self.next_item = 0

    def fresh(self) -> int:
        self.next_item += 1
        return self.next_item

    @rule(priority=st.sampled_from(Priority))
    def push(self, priority: Priority) -> None:
        item = self.fresh()
        ok = self.box.push(item, priority)
        if len(self.model[priority]) < self.limit:
            assert ok
            self.model[priority].append(item)
            self.counts["pushed"] += 1
        else:
            assert not ok
            self.counts["refused"] += 1

    @rule(priority=st.sampled_from(Priority))
    def replace(self, priority: Priority) -> None:
        item = self.fresh()
        self.box.replace(item, priority)
        self.counts["replaced"] += len(self.model[priority])
        self.model[priority] = [item]
        self.counts["pushed"] += 1

    @rule()
    def pop(self) -> None:
        got = self.box.pop()
        for p in sorted(Priority):
            if self.model[p]:
                assert got == self.model[p].pop(0)
                self.counts["sent"] += 1
                return
        assert got is None

    @invariant()
    def same_as_model(self) -> None:
        assert len(self.box) == sum(len(q) for q in self.model.values())
        stats = self.box.statistics()
        assert set(stats) == STAT_KEYS
        for p in Priority:
            assert stats[f"queued_{p.name.lower()}"] == len(self.model[p])
            assert len(self.model[p]) <= self.limit
        for key, value in self.counts.items():
            assert stats[key] == value

    @invariant()
    def nothing_is_lost(self) -> None:
        stats = self.box.statistics()
        queued = sum(stats[f"queued_{p.name.lower()}"] for p in Priority)
        assert stats["pushed"] == stats["sent"] + stats["replaced"] + queued


TestOutboxModel = OutboxModel.TestCase


@given(ops=st.lists(st.tuples(st.sampled_from(Priority), st.booleans()), max_size=60), limit=st.integers(1, 5))
def test_pop_order_is_a_stable_sort_by_priority(ops: list[tuple[Priority, bool]], limit: int) -> None:
    """Pushing without popping, then draining, yields the accepted items
    sorted by class with arrival order kept inside each class."""
    box: Outbox[tuple[int, Priority]] = Outbox(limit)
    accepted = []
    for i, (priority, _) in enumerate(ops):
        if box.push((i, priority), priority):
            accepted.append((i, priority))
    drained = []
    while (item := box.pop()) is not None:
        drained.append(item)
    assert drained == sorted(accepted, key=lambda x: x[1])
    for p in Priority:
        assert sum(1 for _, q in accepted if q == p) == min(limit, sum(1 for q, _ in ops if q == p))
