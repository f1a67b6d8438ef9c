"""nginx and HAProxy of one's own, in front of test nodes (deploy/).

Each runs in the foreground from a directory of its own, on a free loopback
port, with the configuration shipped in ``deploy/`` rendered for loopback
ports: only the lines that name a node or the public listener change, so a
test runs the very file an operator installs. Both are stopped by PID.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx

from desklink.testing import ServerProcess, free_port
from desklink.testing_x import stop_process

#: The repository's deploy/ folder (a source checkout).
DEPLOY_DIR = Path(__file__).resolve().parents[2] / "deploy"
NGINX_CONF = DEPLOY_DIR / "nginx" / "desklink.conf"
HAPROXY_CFG = DEPLOY_DIR / "haproxy" / "desklink.cfg"

_NODE = re.compile(r"#\s*node:\s*(\S+)(?:\s+(\S+))?\s*$")


def _node_lines(
    template: str, server_line: Any, web: Sequence[int], screen: Sequence[int], relays: Mapping[str, int]
) -> list[str]:
    """The template's lines with every ``# node: ...`` line rendered:
    ``web`` lines become one line per web port (at the first one), ``screen``
    and ``screen-backup`` the first and second screen ports, ``relay NAME``
    the relay's port, ``relay-map NAME`` kept only for relays that exist."""
    out: list[str] = []
    web_done = False
    for line in template.splitlines():
        m = _NODE.search(line)
        if m is None:
            out.append(line)
            continue
        kind, name = m.group(1), m.group(2)
        indent = line[: len(line) - len(line.lstrip())]
        if kind == "web":
            if not web_done:
                out += [indent + server_line(f"w{i}", port, line) for i, port in enumerate(web)]
                web_done = True
        elif kind == "screen" and screen:
            out.append(indent + server_line("s0", screen[0], line))
        elif kind == "screen-backup" and len(screen) > 1:
            out.append(indent + server_line("s1", screen[1], line))
        elif kind == "relay" and name in relays:
            out.append(indent + server_line(name, relays[name], line))
        elif kind == "relay-map" and name in relays:
            out.append(line)
    return out


def render_nginx(template: str, *, port: int, web: Sequence[int], screen: Sequence[int], relays: Mapping[str, int]) -> str:
    """deploy/nginx/desklink.conf for loopback: plain HTTP on ``port``."""

    def server_line(name: str, node_port: int, line: str) -> str:
        rest = re.sub(r"^\s*server\s+[^\s;]+", "", line.split("#")[0]).strip()
        return f"server 127.0.0.1:{node_port} {rest}".replace(" ;", ";")

    lines = []
    for line in _node_lines(template, server_line, web, screen, relays):
        if "# listen: public" in line:
            line = f"    listen 127.0.0.1:{port};"
        elif "# tls" in line or "# system" in line:
            continue
        lines.append(line)
    return "\n".join(lines) + "\n"


def render_haproxy(template: str, *, port: int, web: Sequence[int], screen: Sequence[int], relays: Mapping[str, int]) -> str:
    """deploy/haproxy/desklink.cfg for loopback: plain HTTP on ``port``."""

    def server_line(name: str, node_port: int, line: str) -> str:
        rest = re.sub(r"^\s*server\s+\S+\s+\S+", "", line.split("#")[0]).strip()
        return f"server {name} 127.0.0.1:{node_port} {rest}".rstrip()

    lines = []
    for line in _node_lines(template, server_line, web, screen, relays):
        if "# listen: public" in line:
            line = f"    bind 127.0.0.1:{port}"
        elif "# tls" in line or "# system" in line:
            continue
        lines.append(line)
    return "\n".join(lines) + "\n"


class _Balancer:
    """A balancer process; ``via`` is a stand-in ServerProcess whose URLs go
    through it (for the test clients)."""

    name = ""

    def __init__(self, workdir: Path) -> None:
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.proc: subprocess.Popen[str] | None = None
        self.log = self.dir / "output.log"

    def command(self) -> list[str]:
        raise NotImplementedError

    def start(self, timeout: float = 20.0) -> None:
        with open(self.log, "w") as out:
            self.proc = subprocess.Popen(self.command(), stdout=out, stderr=subprocess.STDOUT, text=True, cwd=self.dir)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited during start:\n{self.output()}")
            try:
                httpx.get(f"http://127.0.0.1:{self.port}/balancer-health", timeout=1)
                return
            except httpx.HTTPError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{self.name} did not answer:\n{self.output()}")

    def output(self) -> str:
        text = self.log.read_text() if self.log.exists() else ""
        errors = self.dir / "error.log"
        return text + (errors.read_text() if errors.exists() else "")

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, timeout=10)
            self.proc = None

    @property
    def via(self) -> ServerProcess:
        stand_in = ServerProcess.__new__(ServerProcess)
        stand_in.port = self.port
        stand_in.url = f"http://127.0.0.1:{self.port}"
        stand_in.ws_url = f"ws://127.0.0.1:{self.port}"
        return stand_in


class NginxProcess(_Balancer):
    """Debian's nginx running deploy/nginx/desklink.conf (``daemon off``,
    its own prefix, pid, logs and temp folders)."""

    name = "nginx"

    def __init__(
        self, workdir: Path, *, web: Sequence[int], screen: Sequence[int] = (), relays: Mapping[str, int] | None = None
    ) -> None:
        super().__init__(workdir)
        site = render_nginx(NGINX_CONF.read_text(), port=self.port, web=web, screen=screen or web[:1], relays=relays or {})
        (self.dir / "desklink.conf").write_text(site)
        temp = self.dir / "temp"
        for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (temp / sub).mkdir(parents=True, exist_ok=True)
        user = "user root root;\n" if os.geteuid() == 0 else ""
        (self.dir / "nginx.conf").write_text(
            f"{user}daemon off;\nworker_processes 1;\npid {self.dir}/nginx.pid;\nerror_log {self.dir}/error.log info;\n"
            "events { worker_connections 1024; }\n"
            "http {\n"
            f"    access_log {self.dir}/access.log;\n"
            f"    client_body_temp_path {temp}/body;\n    proxy_temp_path {temp}/proxy;\n"
            f"    fastcgi_temp_path {temp}/fastcgi;\n    uwsgi_temp_path {temp}/uwsgi;\n    scgi_temp_path {temp}/scgi;\n"
            f"    include {self.dir}/desklink.conf;\n"
            "}\n"
        )

    def command(self) -> list[str]:
        exe = shutil.which("nginx") or "/usr/sbin/nginx"
        return [exe, "-p", str(self.dir), "-c", str(self.dir / "nginx.conf"), "-e", str(self.dir / "error.log")]


class HAProxyProcess(_Balancer):
    """Debian's HAProxy running deploy/haproxy/desklink.cfg in the foreground."""

    name = "haproxy"

    def __init__(
        self, workdir: Path, *, web: Sequence[int], screen: Sequence[int] = (), relays: Mapping[str, int] | None = None
    ) -> None:
        super().__init__(workdir)
        cfg = render_haproxy(HAPROXY_CFG.read_text(), port=self.port, web=web, screen=screen or web[:1], relays=relays or {})
        (self.dir / "desklink.cfg").write_text(cfg)

    def command(self) -> list[str]:
        exe = shutil.which("haproxy") or "/usr/sbin/haproxy"
        return [exe, "-db", "-f", str(self.dir / "desklink.cfg")]
