"""Graceful drain on one node (server/drain.py): SIGTERM makes /readyz 503,
refuses new sockets with 503, closes open ones with 4503 ("reconnect now"),
keeps answering so for ``drain_notice_s``, and exits by itself, within
``drain_timeout_s`` whatever is left. Through balancers: tests/deploy/."""

from __future__ import annotations

import signal

import httpx
import pytest
import websockets

from desklink.protocol import codes
from desklink.testing import ONE_ADDRESS_ENV, ServerProcess, VisitorClient, wait_until

DEADLINE = 30.0


async def _close_code(ws: websockets.ClientConnection) -> int | None:
    try:
        while True:
            await ws.recv()
    except websockets.ConnectionClosed:
        pass
    return ws.close_code


def _exited(node: ServerProcess) -> bool:
    return node.proc is not None and node.proc.poll() is not None


def _drain_env(notice_s: float, timeout_s: float) -> dict[str, str]:
    return {**ONE_ADDRESS_ENV, "DESKLINK_DRAIN_NOTICE_S": str(notice_s), "DESKLINK_DRAIN_TIMEOUT_S": str(timeout_s)}


async def test_a_draining_node_tells_sockets_to_reconnect_and_refuses_new_ones() -> None:
    with ServerProcess(env=_drain_env(notice_s=120, timeout_s=120)) as node:
        http = httpx.AsyncClient(base_url=node.url)
        visitor = await VisitorClient.submit(node, name="Ann", question="drain me")
        assert (await http.get("/readyz")).status_code == 200

        assert node.proc is not None
        node.proc.send_signal(signal.SIGTERM)
        assert await _close_code(visitor.ws) == codes.CLOSE_RECONNECT

        ready = await http.get("/readyz")
        assert ready.status_code == 503 and ready.json()["draining"] is True
        with pytest.raises(websockets.InvalidStatus) as refused:
            await websockets.connect(f"{node.ws_url}/ws/visitor?request={visitor.request_id}", origin=node.url)
        assert refused.value.response.status_code == 503
        assert refused.value.response.headers["retry-after"] == "1"
        # Alive, not ready: pages and API calls still finish here.
        assert (await http.get("/healthz")).status_code == 200
        assert (await http.get("/console")).status_code == 200
        assert not _exited(node)

        # A second SIGTERM does not wait for the notice.
        node.proc.send_signal(signal.SIGTERM)
        await wait_until(lambda: _exited(node), timeout=DEADLINE, what="the node to exit")
        await http.aclose()


async def test_a_drain_ends_by_itself_once_sockets_are_gone_and_the_notice_passed() -> None:
    with ServerProcess(env=_drain_env(notice_s=0.5, timeout_s=120)) as node:
        visitor = await VisitorClient.submit(node, name="Ann", question="drain me")
        assert node.proc is not None
        node.proc.send_signal(signal.SIGTERM)
        assert await _close_code(visitor.ws) == codes.CLOSE_RECONNECT
        await wait_until(lambda: _exited(node), timeout=DEADLINE, what="the node to exit")
        assert node.proc.returncode == 0, "".join(node.output)
        assert not any("drain_timeout_s" in line for line in node.output)


async def test_drain_timeout_bounds_the_drain() -> None:
    """A notice longer than ``drain_timeout_s``: the bound wins, the node
    stops cleanly and says so."""
    with ServerProcess(env=_drain_env(notice_s=600, timeout_s=1)) as node:
        visitor = await VisitorClient.submit(node, name="Ann", question="drain me")
        assert node.proc is not None
        node.proc.send_signal(signal.SIGTERM)
        assert await _close_code(visitor.ws) == codes.CLOSE_RECONNECT
        await wait_until(lambda: _exited(node), timeout=DEADLINE, what="the node to exit")
        assert node.proc.returncode == 0, "".join(node.output)
        await wait_until(lambda: any("drain_timeout_s (1.0 s) passed" in line for line in node.output), what="the bound's warning")
