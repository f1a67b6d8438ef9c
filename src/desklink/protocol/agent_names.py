"""Names of the agent files a server offers, and the join code and server
address a downloaded agent carries in its own file name. No I/O.

A one-file agent is the same file for every visitor (its SHA-256 is shown on
the download page), so nothing visitor-specific can be written into it. The
server instead names the download after the visitor's join code and its own
address (``Content-Disposition``)::

    desklink-agent-linux-x86_64-code-123456789-server-https_support.example.com_443

and the agent reads both back from ``sys.argv[0]`` / ``sys.executable`` when
none is given on its command line. Only characters that browsers keep in a
download name are used (no ``:`` or ``/``); a ``" (1)"`` a browser adds to a
second download, or a renamed prefix, does not stop the match.
"""

from __future__ import annotations

import platform
import re
from dataclasses import dataclass
from typing import Final

from desklink.protocol import joincode

#: Every one-file agent's name starts with this.
AGENT_PREFIX: Final = "desklink-agent-"
#: What a name may be made of: anything else is no agent file (the download
#: routes match names from the listing, never paths from the URL).
SAFE_NAME: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$")
#: The systems the download page tells apart.
SYSTEMS: Final = ("linux", "windows", "macos")

_CARRIED = re.compile(
    r"-code-(?P<code>\d{9})(?:-server-(?P<scheme>https?)_(?P<host>[A-Za-z0-9.-]{1,253})_(?P<port>\d{1,5}))?"
)
_HOST = re.compile(r"^[A-Za-z0-9.-]{1,253}$")


@dataclass(frozen=True, slots=True)
class Carried:
    """What an agent's file name told it: the join code's 9 digits and, when
    the server put it there, the server's address (``https://host:port``)."""

    code: str
    server: str = ""


def system_name(sys_platform: str | None = None) -> str:
    """``linux``, ``windows`` or ``macos`` for a ``sys.platform`` value."""
    p = platform.system().lower() if sys_platform is None else sys_platform
    if p.startswith("win"):
        return "windows"
    if p in ("darwin", "macos"):
        return "macos"
    return "linux" if p.startswith("linux") else p


def machine_name(machine: str | None = None) -> str:
    """A normalized CPU name: ``x86_64`` or ``arm64`` (others as given)."""
    m = (platform.machine() if machine is None else machine).lower()
    return {"amd64": "x86_64", "x64": "x86_64", "aarch64": "arm64"}.get(m, m)


def agent_file_name(system: str, machine: str) -> str:
    """The one-file agent's name for a system and CPU, e.g.
    ``desklink-agent-linux-x86_64`` (``.exe`` on Windows)."""
    return f"{AGENT_PREFIX}{system}-{machine}" + (".exe" if system == "windows" else "")


def system_of_file(name: str) -> str | None:
    """The system a listed agent file is for, or None (a wheel, or not an agent)."""
    if not name.startswith(AGENT_PREFIX):
        return None
    system = name[len(AGENT_PREFIX) :].split("-", 1)[0]
    return system if system in SYSTEMS else None


def carry(name: str, code: str, server: str = "") -> str:
    """``name`` with the join code (and the server's address, when it can be
    written safely) put before its extension. ``code`` may be typed with
    spaces or dashes; :class:`~desklink.errors.ProtocolError` if it is no code."""
    digits = joincode.parse(code).digits
    stem, dot, ext = name.rpartition(".") if name.endswith(".exe") else (name, "", "")
    tail = f"-code-{digits}"
    where = _server_token(server)
    if where:
        tail += f"-server-{where}"
    return f"{stem}{tail}{dot}{ext}"


def read_carried(path: str) -> Carried | None:
    """The code and server an agent's own file name carries, or None."""
    base = re.split(r"[\\/]", path)[-1]
    m = _CARRIED.search(base)
    if m is None:
        return None
    server = ""
    if m.group("host"):
        scheme, host, port = m.group("scheme"), m.group("host"), int(m.group("port"))
        if 0 < port < 65536:
            default = {"https": 443, "http": 80}[scheme]
            server = f"{scheme}://{host}" + ("" if port == default else f":{port}")
    return Carried(m.group("code"), server)


def _server_token(server: str) -> str:
    """``https_host_443`` for ``https://host``; empty when the address cannot
    be written in a file name (an IPv6 literal, a path, a user part)."""
    m = re.match(r"^(https?)://([^/:?#@\[\]]+)(?::(\d{1,5}))?/?$", server.strip())
    if m is None or not _HOST.match(m.group(2)):
        return ""
    scheme = m.group(1)
    port = m.group(3) or ("443" if scheme == "https" else "80")
    return f"{scheme}_{m.group(2)}_{int(port)}"
