"""``metrics_port``: a second listener, on 127.0.0.1 only, that answers
``GET /metrics`` without a token (whoever can reach the machine's loopback,
e.g. a Prometheus agent beside the node, may read it) and nothing else.

It is a few lines of HTTP/1.0 on ``asyncio.start_server`` rather than a
second uvicorn: it shares the node's event loop and context (the scrape
reads the same objects), and a second server would fight the first over
signal handling. One request per connection, then close.

Limits: the request head is read up to ``metrics_max_head_bytes`` within
``metrics_head_timeout_s`` (a longer head is answered 431, a slow one
closed); anything but ``GET /metrics`` is answered 400/404/405. One request
per connection, then close.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger("desklink.metrics")

#: The only address it binds: never reachable from another machine.
LOOPBACK = "127.0.0.1"


def _answer(status: str, body: bytes, content_type: str = "text/plain; charset=utf-8") -> bytes:
    head = f"HTTP/1.0 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    return head.encode() + body


async def start(
    port: int, render: Callable[[], Awaitable[bytes]], content_type: str, *, max_head_bytes: int, head_timeout_s: float
) -> asyncio.Server:
    """Listen on ``127.0.0.1:port``; each ``GET /metrics`` gets ``render()``."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(head_timeout_s):
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.LimitOverrunError:
                    writer.write(_answer("431 Request Header Fields Too Large", b"request head too long\n"))
                    await writer.drain()
                    return
            parts = head.split(b"\r\n", 1)[0].split()
            if len(parts) != 3:
                writer.write(_answer("400 Bad Request", b"bad request\n"))
            elif parts[1].split(b"?", 1)[0] != b"/metrics":
                writer.write(_answer("404 Not Found", b"only /metrics here\n"))
            elif parts[0] != b"GET":
                writer.write(_answer("405 Method Not Allowed", b"GET only\n"))
            else:
                writer.write(_answer("200 OK", await render(), content_type))
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
            pass
        except Exception:
            log.exception("the metrics listener failed to answer")
            with contextlib.suppress(Exception):
                writer.write(_answer("500 Internal Server Error", b"metrics failed; see the log\n"))
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    return await asyncio.start_server(serve, LOOPBACK, port, limit=max_head_bytes)
