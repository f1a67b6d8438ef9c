"""The recordings index and each queue's recording policy, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from desklink.errors import NotFound
from desklink.store import Store

from ._helpers import T0, at, make_queue, make_request


async def test_policy_defaults_to_never_and_can_be_set(store: Store) -> None:
    q = await make_queue(store)
    req = await make_request(store, q)
    assert await store.get_recording_policy(q.id) == "never"
    assert await store.recording_policy_of_request(req.id) == "never"
    assert await store.set_recording_policy(q.id, "always") == "always"
    assert await store.recording_policy_of_request(req.id) == "always"
    await store.set_recording_policy(q.id, "on_request")
    assert await store.get_recording_policy(q.id) == "on_request"


async def test_bad_policy_and_unknown_queue(store: Store) -> None:
    q = await make_queue(store)
    with pytest.raises(ValueError, match="one of always, on_request, never"):
        await store.set_recording_policy(q.id, "sometimes")  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        await store.set_recording_policy(q.id + 99, "always")
    with pytest.raises(NotFound):
        await store.get_recording_policy(q.id + 99)
    assert await store.recording_policy_of_request("nope") == "never"


async def test_recording_row_follows_segments_and_end(store: Store) -> None:
    req = await make_request(store, await make_queue(store))
    r = await store.start_recording("sess-1", req.id, T0)
    assert (r.status, r.segments, r.bytes, r.head_hash, r.ended_at) == ("recording", 0, 0, "", None)
    await store.add_recording_segment("sess-1", 0, 100, "a" * 64, 2000)
    await store.add_recording_segment("sess-1", 1, 50, "b" * 64, 4000)
    r2 = await store.get_recording("sess-1")
    assert r2 is not None and (r2.segments, r2.bytes, r2.head_hash, r2.duration_ms) == (2, 150, "b" * 64, 4000)
    await store.end_recording("sess-1", at(10))
    done = await store.get_recording("sess-1")
    assert done is not None and done.status == "done" and done.ended_at == at(10)
    # started again in the same session: goes on with its segments
    again = await store.start_recording("sess-1", req.id, at(20))
    assert (again.status, again.segments, again.started_at) == ("recording", 2, T0)
    await store.end_recording("sess-1", at(30), error="the recordings disk is full")
    failed = await store.get_recording("sess-1")
    assert failed is not None and (failed.status, failed.error) == ("failed", "the recordings disk is full")


async def test_retention_lists_finished_old_recordings_only(store: Store) -> None:
    req = await make_request(store, await make_queue(store))
    await store.start_recording("old", req.id, T0)
    await store.end_recording("old", at(5))
    await store.start_recording("live", req.id, T0)
    await store.start_recording("new", req.id, at(1000))
    await store.end_recording("new", at(1005))
    assert [r.session_id for r in await store.recordings_started_before(at(100))] == ["old"]
    await store.delete_recording("old")
    assert await store.get_recording("old") is None
