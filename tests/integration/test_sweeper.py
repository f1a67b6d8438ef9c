"""Requests nobody accepts expire; visitors who left are abandoned."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from desklink.testing import AdminAPI, RepClient, ServerProcess, VisitorClient


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    env = {"DESKLINK_REQUEST_EXPIRY_S": "3", "DESKLINK_VISITOR_GRACE_S": "1", "DESKLINK_SWEEP_INTERVAL_S": "0.3"}
    with ServerProcess(env=env) as srv:
        yield srv


async def test_unaccepted_request_expires_for_everyone(server: ServerProcess) -> None:
    admin = AdminAPI(server)
    (user, pw), = admin.reps(1, prefix="sweep")
    rep = await RepClient.connect(server, user, pw)
    visitor = await VisitorClient.submit(server)
    await rep.expect("alert")
    # The visitor stays connected and pings, so only expiry can close it.
    for _ in range(20):
        await visitor.send({"t": "ping"})
        try:
            closed = await visitor.expect("closed", timeout=0.5)
            break
        except TimeoutError:
            continue
    else:
        raise AssertionError("request never expired")
    assert closed["status"] == "expired"
    withdrawn = await rep.expect("alert.withdrawn")
    assert withdrawn["reason"] == "expired"
    await rep.send({"t": "accept", "request_id": visitor.request_id})
    assert (await rep.expect("error"))["code"] == "conflict_closed"
    await rep.close()
    admin.close()


async def test_visitor_gone_past_grace_is_abandoned(server: ServerProcess) -> None:
    admin = AdminAPI(server)
    (user, pw), = admin.reps(1, prefix="grace")
    rep = await RepClient.connect(server, user, pw)
    visitor = await VisitorClient.submit(server)
    await rep.expect("alert")
    await visitor.close()  # closed the tab
    withdrawn = await rep.expect("alert.withdrawn", timeout=10)
    assert withdrawn["reason"] == "abandoned"
    # Coming back later shows the request closed, with the conversation intact.
    back = await VisitorClient.open(server, visitor.request_id, visitor.token)
    assert back.welcome["request"]["status"] == "abandoned"
    await back.close()
    await rep.close()
    admin.close()
