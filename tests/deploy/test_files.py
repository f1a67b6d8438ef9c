"""The deploy/ files that the balancer tests do not run: the compose file
(its shape, and every DESKLINK_* name in it a setting of config.py), the
systemd unit (``systemd-analyze verify``), and the node names the nginx and
HAProxy files use (each a service of the compose file)."""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from desklink.config import Settings
from desklink.testing_balancers import DEPLOY_DIR, HAPROXY_CFG, NGINX_CONF

COMPOSE = DEPLOY_DIR / "compose.yaml"
UNIT = DEPLOY_DIR / "systemd" / "desklink@.service"
NODES = ("web1", "web2", "web3")


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return data


def _seconds(value: str) -> float:
    m = re.fullmatch(r"(\d+)(s|m)", value)
    assert m, value
    return int(m.group(1)) * (60 if m.group(2) == "m" else 1)


def _interpolated(value: str) -> str:
    """``${NAME:?msg}`` / ``${NAME:-default}`` as compose would fill them
    (with a stand-in for what the operator must set)."""
    return re.sub(r"\$\{(\w+)(?::([-?])([^}]*))?\}", lambda m: m.group(3) if m.group(2) == "-" else "secret", value)


def test_compose_has_the_nodes_the_stores_and_nginx_each_with_a_health_check() -> None:
    services = _compose()["services"]
    assert set(services) == {"postgres", "redis", "nginx", *NODES}
    for name, service in services.items():
        assert service.get("healthcheck", {}).get("test"), f"{name} has no health check"
        assert service.get("restart") == "unless-stopped", name
    assert "443:443" in services["nginx"]["ports"]
    for node in NODES:
        service = services[node]
        assert service["command"][:2] == ["desklink", "serve"]
        assert "/readyz" in " ".join(service["healthcheck"]["test"])
        assert service["stop_signal"] == "SIGTERM"
        # nginx waits for healthy nodes, and the nodes after the first for it (migrations).
        assert services["nginx"]["depends_on"][node] == {"condition": "service_healthy"}
    assert services["web1"]["depends_on"]["postgres"] == {"condition": "service_healthy"}
    assert services["web2"]["depends_on"]["web1"] == {"condition": "service_healthy"}
    # What one node writes and another serves is on volumes every node mounts.
    shared = {"files": "/var/lib/desklink/files", "agents": "/var/lib/desklink/agents",
              "recordings": "/var/lib/desklink/recordings"}
    for node in NODES:
        mounts = dict(m.split(":", 1) for m in services[node]["volumes"])
        assert {k: mounts.get(k) for k in shared} == shared, (node, mounts)
    assert set(shared) <= set(_compose()["volumes"])
    for mount in services["nginx"]["volumes"]:
        assert (COMPOSE.parent / mount.split(":")[0]).exists(), mount
    assert (COMPOSE.parent / services["web1"]["build"]["dockerfile"].removeprefix("deploy/")).exists()


def test_every_setting_the_compose_file_sets_is_a_setting_and_valid() -> None:
    fields = {f.name for f in dataclasses.fields(Settings)}
    for node in NODES:
        env = {k: _interpolated(str(v)) for k, v in _compose()["services"][node]["environment"].items()}
        assert env, node
        for name in env:
            assert name.startswith("DESKLINK_") and name.removeprefix("DESKLINK_").lower() in fields, f"{name} is no setting"
        settings = Settings.from_env(env)  # raises on a value it cannot read
        assert settings.redis_url.startswith("redis://") and settings.database_url.startswith("postgresql+asyncpg://")
        # The stop grace outlasts the drain: sockets, then requests in flight, then a flush.
        grace = _seconds(_compose()["services"][node]["stop_grace_period"])
        assert grace > 2 * settings.drain_timeout_s
        # The only trusted proxy is nginx's fixed address.
        nginx_address = _compose()["services"]["nginx"]["networks"]["desklink"]["ipv4_address"]
        assert settings.trusted_proxies == (nginx_address,)


def test_the_balancers_name_only_nodes_the_compose_file_has() -> None:
    services = _compose()["services"]
    names = set(services)
    for service in services.values():
        networks = service.get("networks")
        if isinstance(networks, dict):
            names |= {alias for net in networks.values() for alias in (net or {}).get("aliases", [])}
    nginx_hosts = re.findall(r"^\s*server\s+([\w.-]+):\d+", NGINX_CONF.read_text(), re.M)
    haproxy_hosts = re.findall(r"^\s*server\s+\S+\s+([\w.-]+):\d+", HAPROXY_CFG.read_text(), re.M)
    assert nginx_hosts and haproxy_hosts
    assert set(nginx_hosts) <= names, set(nginx_hosts) - names
    assert set(haproxy_hosts) <= names, set(haproxy_hosts) - names
    assert set(NODES) <= set(nginx_hosts) and set(NODES) <= set(haproxy_hosts)


def test_the_systemd_unit_verifies(tmp_path: Path) -> None:
    """``systemd-analyze verify`` on the unit as shipped, with only the path
    of the installed ``desklink`` changed to this environment's; any warning
    (an unknown key, a value it cannot parse) fails the test."""
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze is missing (scripts/test installs the systemd package)"
    exe = Path(sys.executable).parent / "desklink"
    assert exe.exists()
    text = UNIT.read_text()
    assert "/opt/desklink/venv/bin/desklink serve" in text
    unit = tmp_path / "desklink@8080.service"
    unit.write_text(text.replace("/opt/desklink/venv/bin/desklink", str(exe)))
    done = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and not done.stderr.strip() and not done.stdout.strip(), done.stdout + done.stderr
    keys = dict(line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#"))
    assert keys["KillSignal"] == "SIGTERM"
    assert "--port %i" in keys["ExecStart"]
    assert int(keys["TimeoutStopSec"]) > 2 * Settings().drain_timeout_s
