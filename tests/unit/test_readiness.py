"""What ``/readyz`` decides (desklink.server.health.readiness): the node's
own problems fail it at once; a shared dependency failing is reported and
fails it only as the settings say (the store after ``ready_store_grace_s``,
the broker never)."""

from __future__ import annotations

from desklink.server.health import Outage, readiness

WELL = {"store_ok": True, "db_writable": True, "broker_ok": True, "disk": [], "store_failing_s": 0.0, "store_grace_s": 30.0}


def test_all_well_is_ready_with_nothing_to_say() -> None:
    ok, body = readiness(**WELL)  # type: ignore[arg-type]
    assert ok
    assert body == {"store": True, "broker": True, "writable": True, "draining": False, "problems": [], "degraded": []}


def test_a_broker_outage_is_reported_but_never_fails() -> None:
    ok, body = readiness(**{**WELL, "broker_ok": False})  # type: ignore[arg-type]
    assert ok and body["broker"] is False
    assert body["degraded"] == ["the broker does not answer"] and body["problems"] == []


def test_the_store_fails_readiness_only_past_its_grace() -> None:
    for failing, ready in ((0.0, True), (29.9, True), (30.0, False), (400.0, False)):
        ok, body = readiness(**{**WELL, "store_ok": False, "db_writable": False, "store_failing_s": failing})  # type: ignore[arg-type]
        assert ok is ready, failing
        where = "degraded" if ready else "problems"
        assert body[where] == ["the store does not answer"] and body["writable"] is False
    ok, body = readiness(**{**WELL, "db_writable": False, "store_failing_s": 31.0})  # type: ignore[arg-type]
    assert not ok and body["problems"] == ["the database refuses writes"] and body["store"] is True


def test_the_nodes_own_disk_fails_at_once_and_comes_first() -> None:
    ok, body = readiness(**{**WELL, "disk": ["/data is on a read-only file system"], "broker_ok": False})  # type: ignore[arg-type]
    assert not ok and body["writable"] is False
    assert body["problems"] == ["/data is on a read-only file system"]
    assert body["degraded"] == ["the broker does not answer"]
    ok, body = readiness(**{**WELL, "disk": ["full"], "store_ok": False, "db_writable": False, "store_failing_s": 60})  # type: ignore[arg-type]
    assert body["problems"] == ["the store does not answer", "full"]


def test_an_outage_is_timed_from_the_first_failing_probe_until_a_good_one() -> None:
    outage = Outage()
    assert outage.note(True, 100.0) == 0.0
    assert outage.note(False, 101.0) == 0.0
    assert outage.note(False, 105.5) == 4.5
    assert outage.note(True, 106.0) == 0.0
    assert outage.note(False, 200.0) == 0.0  # a new outage starts again from zero
