"""Who the client is: the one place that decides a request's client address
and scheme, and how addresses are grouped for limits.

Behind a reverse proxy every connection comes from the proxy, which names the
real client in ``X-Forwarded-For`` (each proxy *appends* the address it saw)
and the original scheme in ``X-Forwarded-Proto``. Anyone can send those
headers, so they are believed only on connections from the proxies listed in
the ``trusted_proxies`` setting, and ``X-Forwarded-For`` is read from the
right: entries written by trusted proxies are skipped, and the first other
one is the address the nearest trusted proxy saw, i.e. the client. Whatever
the client put further left is never used, so rotating it changes nothing.
(This is nginx's ``real_ip_recursive`` and uvicorn's ``forwarded_allow_ips``
rule; uvicorn's own middleware is switched off so only this one decides.)

:class:`ForwardedHeaders` applies the rule once per request, in the ASGI
scope, before anything else runs: ``request.client.host`` and
``request.url.scheme`` are then right for every route, socket and middleware,
and :func:`desklink.server.http.client_ip` just reads them.

Limits: a trusted proxy that writes a malformed entry where the client's
address should be makes the request count as the proxy's own. Only
``X-Forwarded-For``/``-Proto`` are read (not RFC 7239 ``Forwarded``).
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable

from starlette.types import ASGIApp, Receive, Scope, Send

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: The prefix length that groups IPv6 addresses for per-address limits: one
#: subscriber usually holds a whole /64, so counting single addresses would
#: hand each of them 2**64 budgets.
IPV6_LIMIT_PREFIX = 64


class TrustedProxies:
    """The ``trusted_proxies`` setting: addresses and networks whose
    forwarded headers are believed. Empty means no proxy."""

    def __init__(self, entries: Iterable[str]) -> None:
        self.networks: tuple[IPNetwork, ...] = tuple(ipaddress.ip_network(e.strip(), strict=False) for e in entries)
        self._cached = functools.lru_cache(maxsize=4096)(self._contains)

    def __bool__(self) -> bool:
        return bool(self.networks)

    def __contains__(self, host: object) -> bool:
        if not self.networks or not isinstance(host, str) or len(host) > 64:
            return False
        return self._cached(host)

    def _contains(self, host: str) -> bool:
        address = parse_address(host)
        return address is not None and any(address in net for net in self.networks)


def parse_address(entry: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An IP address from an ``X-Forwarded-For`` entry or a peer name, with
    an optional port (``1.2.3.4:80``, ``[::1]:80``); IPv4-mapped IPv6
    addresses become IPv4. None when it is not an address."""
    entry = entry.strip()
    if entry.startswith("["):
        entry = entry[1:].partition("]")[0]
    elif entry.count(":") == 1:
        entry = entry.partition(":")[0]
    try:
        address = ipaddress.ip_address(entry)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def forwarded_client(peer: str, forwarded_for: str, proxies: TrustedProxies) -> str:
    """The client's address for a request that reached us from ``peer``
    carrying ``forwarded_for`` (every ``X-Forwarded-For`` line joined by
    commas). ``peer`` itself unless it is a trusted proxy; then the rightmost
    entry that is not a trusted proxy, or the leftmost when all are."""
    if peer not in proxies:
        return peer
    entries = [e.strip() for e in forwarded_for.split(",") if e.strip()]
    if not entries:
        return peer
    chosen = entries[0]
    for entry in reversed(entries):
        if entry not in proxies:
            chosen = entry
            break
    address = parse_address(chosen)
    return str(address) if address is not None else peer


def forwarded_scheme(peer: str, forwarded_proto: str, proxies: TrustedProxies, default: str) -> str:
    """``https`` or ``http`` as ``X-Forwarded-Proto`` from a trusted proxy
    says (its first value: the scheme the client used at the edge), else
    ``default``. Forging it only harms the forger (a Secure cookie over
    plain HTTP, a wrong own-origin), so its first value is taken as is."""
    if peer not in proxies:
        return default
    value = forwarded_proto.split(",")[0].strip().lower()
    return value if value in ("http", "https") else default


@functools.lru_cache(maxsize=4096)
def limit_key(address: str) -> str:
    """The key per-address limits count under: the address itself, or for
    IPv6 its /64 network (see :data:`IPV6_LIMIT_PREFIX`)."""
    parsed = parse_address(address)
    if isinstance(parsed, ipaddress.IPv6Address):
        return str(ipaddress.ip_network(f"{parsed}/{IPV6_LIMIT_PREFIX}", strict=False))
    return str(parsed) if parsed is not None else address[:64]


class ForwardedHeaders:
    """ASGI middleware: set ``scope["client"]`` and ``scope["scheme"]`` from
    a trusted proxy's forwarded headers (see the module docstring). It runs
    before every other middleware, so they all see the same client."""

    def __init__(self, app: ASGIApp, *, proxies: TrustedProxies) -> None:
        self.app = app
        self.proxies = proxies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        if self.proxies and scope["type"] in ("http", "websocket") and client and client[0] in self.proxies:
            forwarded_for: list[str] = []
            proto = ""
            for name, value in scope["headers"]:
                if name == b"x-forwarded-for":
                    forwarded_for.append(value.decode("latin-1"))
                elif name == b"x-forwarded-proto" and not proto:
                    proto = value.decode("latin-1")
            scope = dict(scope)
            scope["client"] = (forwarded_client(client[0], ",".join(forwarded_for), self.proxies), 0)
            current = "https" if scope.get("scheme") in ("https", "wss") else "http"
            scheme = forwarded_scheme(client[0], proto, self.proxies, current)
            scope["scheme"] = scheme.replace("http", "ws") if scope["type"] == "websocket" else scheme
        await self.app(scope, receive, send)
