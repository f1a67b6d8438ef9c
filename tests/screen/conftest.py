"""Screen sharing on a real X server: Xvfb, real X programs, the real agent
process, a real server, and a viewer reconstructing the picture."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from desklink.testing import AdminAPI, RepClient, ServerProcess, VisitorClient
from desklink.testing_x import XDisplay

from ._agent import Chat


@pytest.fixture
def display() -> Iterator[XDisplay]:
    with XDisplay(1280, 800) as d:
        yield d


_n = iter(range(10**6))
@pytest.fixture
async def chat(server: ServerProcess, admin: AdminAPI) -> Any:
    name = f"scr{next(_n)}"
    admin.queue(name)
    (user, pw), = admin.reps(1, queue_slug=name, prefix=name)
    rep = await RepClient.connect(server, user, pw)
    visitor = await VisitorClient.submit(server, queue=name, name="Vic")
    await rep.expect("alert")
    await rep.send({"t": "accept", "request_id": visitor.request_id})
    sid = (await rep.expect("accepted"))["session"]["id"]
    c = Chat(rep, visitor, sid, user, pw)
    yield c
    await c.close()
