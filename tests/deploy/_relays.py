"""The tested topology of docs/deploy.md with relay nodes: nginx
(deploy/nginx/desklink.conf) in front of three ``--role web`` nodes and two
``--role relay`` nodes, ``r1`` and ``r2``, on one PostgreSQL database and
one Redis. Each relay node announces ``<nginx>/relay/<name>`` as its public
URL, so every screen socket goes through nginx to the relay by its name.

The helpers here are the clients' side of escalation as a console and the
visitor do it: the viewer asks any web node for a ticket
(``GET /api/sessions/{id}/relay``) and opens the relay's ``/ws/viewer``
with it; the agent is started exactly as the ``screen.offer``'s command
says."""

from __future__ import annotations

import asyncio
import secrets
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import websockets

from desklink.testing import ONE_ADDRESS_ENV, ServerProcess, ViewerClient, login_retrying
from desklink.testing_balancers import NginxProcess
from desklink.testing_x import XDisplay

WEB_NODES = 3
RELAY_NAMES = ("r1", "r2")
SECRET = secrets.token_urlsafe(32)
#: Quick heartbeats so a killed relay drops out within seconds; generous
#: enough for a loaded machine (two cores shared by several test runs).
RELAY_TIMING = {"DESKLINK_RELAY_HEARTBEAT_S": "0.3", "DESKLINK_RELAY_STALE_S": "3"}
DEADLINE = 45.0


@dataclass
class RelayCluster:
    web: list[ServerProcess]
    relays: dict[str, ServerProcess]
    nginx: NginxProcess
    env: dict[str, str] = field(default_factory=dict)

    @property
    def via(self) -> ServerProcess:
        return self.nginx.via

    def relay_url(self, name: str) -> str:
        return f"{self.nginx.via.url}/relay/{name}"

    def other_relay(self, name: str) -> str:
        (other,) = [n for n in RELAY_NAMES if n != name]
        return other


def start_relay_cluster(database_url: str, redis_url: str, tmp_path: Path, **extra: str) -> Iterator[RelayCluster]:
    """Start the nodes (the first web node runs the migrations) and nginx in
    front of them; stop everything by PID afterwards."""
    env = {
        **ONE_ADDRESS_ENV,
        "DESKLINK_DATABASE_URL": database_url,
        "DESKLINK_REDIS_URL": redis_url,
        "DESKLINK_BROKER_PREFIX": f"dltest:{secrets.token_hex(4)}:",
        "DESKLINK_TRUSTED_PROXIES": "127.0.0.1",
        "DESKLINK_RELAY_SECRET": SECRET,
        **RELAY_TIMING,
        **extra,
    }
    web = [
        ServerProcess(env={**env, "DESKLINK_ROLE": "web", "DESKLINK_NODE_NAME": f"web-{i}"}, data_dir=tmp_path / f"web{i}")
        for i in range(WEB_NODES)
    ]
    relays = {
        name: ServerProcess(env={**env, "DESKLINK_ROLE": "relay", "DESKLINK_NODE_NAME": name}, data_dir=tmp_path / name)
        for name in RELAY_NAMES
    }
    nginx = NginxProcess(
        tmp_path / "nginx", web=[n.port for n in web], screen=[web[0].port], relays={k: v.port for k, v in relays.items()}
    )
    for name, node in relays.items():
        node.env["DESKLINK_RELAY_PUBLIC_URL"] = f"{nginx.via.url}/relay/{name}"
    started: list[ServerProcess] = []
    try:
        for node in [*web, *relays.values()]:
            started.append(node.start())
        for node in started[1:]:
            node.admin_password = web[0].admin_password
        nginx.start()
        yield RelayCluster(web, relays, nginx, env)
    finally:
        nginx.stop()
        for node in started:
            node.stop()


async def relay_ticket(http: httpx.AsyncClient, session_id: str, *, not_on: str = "") -> dict[str, Any]:
    """A viewer's ticket, asked again while no relay node can be named yet
    (503, e.g. right after start or while a dead owner is replaced) or,
    with ``not_on``, while it still names that node (its death not yet
    seen: its announcement lasts ``relay_stale_s``)."""
    deadline = time.monotonic() + DEADLINE
    while True:
        r = await http.get(f"/api/sessions/{session_id}/relay")
        if r.status_code == 200 and r.json()["node"] != not_on:
            return dict(r.json())
        assert r.status_code in (200, 503) and time.monotonic() < deadline, (r.status_code, r.text)
        await asyncio.sleep(0.1)


async def rep_cookie(http: httpx.AsyncClient, username: str, password: str) -> str:
    return str((await login_retrying(http, username, password)).cookies["dl_session"])


async def open_viewer(ticket: dict[str, Any], session_id: str, cookie: str, origin: str) -> ViewerClient:
    """The console's viewer on the ticket's relay node (through nginx)."""
    ws_url = str(ticket["url"]).replace("http://", "ws://", 1)
    ws = await websockets.connect(
        f"{ws_url}/ws/viewer?session={session_id}&token={ticket['token']}", origin=origin,  # type: ignore[arg-type]
        additional_headers={"Cookie": f"dl_session={cookie}"}, max_size=2**23,
    )
    return ViewerClient(ws)


def start_offered_agent(display: XDisplay, offer: dict[str, Any]) -> subprocess.Popen[str]:
    """The real agent, run with the very arguments of the offer's
    ``command`` (``desklink agent --server <public address> --code ...``: it
    asks a web node there for its relay ticket), on the terminal, the
    visitor answering yes."""
    words = shlex.split(str(offer["command"]))
    assert words[:2] == ["desklink", "agent"], words
    cmd = [sys.executable, "-m", "desklink", *words[1:], "--terminal"]
    proc = subprocess.Popen(
        cmd, env={**display.env, "PYTHONUNBUFFERED": "1", "PYTHONFAULTHANDLER": "1"}, stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    display.children.append(proc)
    assert proc.stdin is not None
    proc.stdin.write("y\n")
    proc.stdin.flush()
    return proc
