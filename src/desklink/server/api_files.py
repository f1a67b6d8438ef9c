"""``/files/{id}/{key}/{name}``: a transferred file, downloaded by a browser.

Theory of operation
-------------------
Once the server holds a verified file (status ``ready``), both parties of
the session get its download path in ``file.state {download}``
(:func:`download_path`). The path is the capability: the transfer's id, its
random ``download_key`` (compared in constant time) and the file's name. The
name segment only gives the browser its default file name; the lookup
ignores it. Anything but a known id with its key and a verified, finished
file (``ready``, ``delivering`` or ``delivered``) is answered ``404
not_found``, the same for a wrong key as for a missing file, so the answer
tells a guesser nothing.

The answer is an attachment, never a page: ``application/octet-stream``,
``Content-Disposition: attachment`` with an ASCII fallback name and the real
one in ``filename*`` (RFC 6266, RFC 8187), ``nosniff``, and a sandboxing
Content-Security-Policy, so even a browser that renders the file in place
runs nothing from it. It is ``private, no-store``: no shared cache keeps a
file from a support session.

Ranges: one ``Range: bytes=...`` range is honoured (``206`` with
``Content-Range``; ``416`` when it starts past the end), so a browser can
resume a broken download; ``If-Range`` with the file's ``ETag`` (its SHA-256)
is honoured, anything else gets the whole file. Several ranges in one
request get the whole file (allowed by RFC 9110, and no browser needs more).
The file is streamed in ``STREAM_CHUNK_BYTES`` pieces, never read whole.

Cross-origin: the help box lives on the customer's site and downloads by
navigation (``<a href download>``). Navigations are not subject to CORS or
``Cross-Origin-Resource-Policy``, so none is sent; the node's usual security
headers (:mod:`desklink.server.headers`) do not stop a navigation download.
The request spends one request of the address's page budget
(:mod:`desklink.server.throttle`), however long the file takes.
"""

from __future__ import annotations

import logging
import re
import secrets
import unicodedata
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import anyio
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from desklink.errors import NotFound
from desklink.protocol import filenames
from desklink.server.context import Context
from desklink.server.http import Access, endpoint
from desklink.store.records import Transfer

#: Statuses in which the server holds a verified file.
DOWNLOADABLE = frozenset({"ready", "delivering", "delivered"})
#: How much of the file is read and sent at a time.
STREAM_CHUNK_BYTES = 256 * 1024
#: The sandbox for an attachment a browser might still render.
FILE_CSP = "default-src 'none'; sandbox"

_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


_KEY_IN_PATH = re.compile(r"^(/files/\d+/)[^/?#]+")


class RedactDownloadKeys(logging.Filter):
    """The download key is a capability: it must not sit in an access log.
    Installed on ``uvicorn.access`` (cli.py), whose records carry the path as
    their third argument; ``/files/7/<key>/name`` is logged as
    ``/files/7/[key]/name``."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str) and args[2].startswith("/files/"):
            record.args = (*args[:2], _KEY_IN_PATH.sub(r"\1[key]", args[2]), *args[3:])
        return True


def download_path(transfer: Transfer) -> str:
    """The path (no host) both parties download ``transfer`` from."""
    name = quote(filenames.base_name(transfer.name), safe="")
    return f"/files/{transfer.id}/{transfer.download_key}/{name}"


def content_disposition(name: str) -> str:
    """``attachment`` with an ASCII fallback and the UTF-8 name (RFC 6266)."""
    base = filenames.base_name(name)
    fallback = "".join(_ascii(c) for c in unicodedata.normalize("NFKD", base) if not unicodedata.combining(c))
    fallback = fallback.strip(" .") or "download"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(base, safe='')}"


def _ascii(c: str) -> str:
    # Quotes and backslashes would end or escape the quoted string; some
    # browsers percent-decode the plain ``filename``, so ``%`` goes too.
    if c in "\"\\%" or not (0x20 <= ord(c) < 0x7F):
        return "_"
    return c


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """``(first, last)`` inclusive for a single satisfiable range; None to
    send the whole file (no range, several ranges, or one we do not read);
    ``ValueError`` when the range is unsatisfiable (416)."""
    m = _RANGE.fullmatch(header.strip())
    if m is None:
        return None
    first_s, last_s = m.groups()
    if not first_s:
        if not last_s:
            return None
        suffix = int(last_s)
        if suffix == 0 or size == 0:
            raise ValueError("empty suffix range")
        return max(0, size - suffix), size - 1
    first = int(first_s)
    if last_s and int(last_s) < first:
        return None  # syntactically invalid: ignored (RFC 9110 14.2)
    if first >= size:
        raise ValueError("range starts past the end")
    last = min(int(last_s), size - 1) if last_s else size - 1
    return first, last


@endpoint("/files/{transfer_id:int}/{key}/{name:path}", ("GET",), Access.PUBLIC)
async def download_transfer(request: Request, ctx: Context, login: Any) -> Response:
    """A transferred file, as an attachment (the path comes in ``file.state {download}``)."""
    transfer_id: int = request.path_params["transfer_id"]
    key: str = request.path_params["key"]
    row = await ctx.store.get_transfer(transfer_id)
    if (
        row is None
        or not secrets.compare_digest(key.encode(), row.download_key.encode())
        or row.status not in DOWNLOADABLE
        or not ctx.file_store.is_finished(row.id)
    ):
        raise NotFound("no such file (it may have expired)")
    path = ctx.file_store.path(row.id)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise NotFound("no such file (it may have expired)") from None  # removed a moment ago
    etag = f'"{row.sha256}"' if row.sha256 else f'"{row.id}-{size}"'
    headers = {
        "Content-Type": "application/octet-stream",
        "Content-Disposition": content_disposition(row.name),
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store",
        "Content-Security-Policy": FILE_CSP,
        "Accept-Ranges": "bytes",
        "ETag": etag,
    }
    first, last, status = 0, size - 1, 200
    wanted = request.headers.get("range")
    if_range = request.headers.get("if-range")
    if wanted and (if_range is None or if_range.strip() == etag):
        try:
            span = parse_range(wanted, size)
        except ValueError:
            headers["Content-Range"] = f"bytes */{size}"
            headers["Content-Length"] = "0"
            return Response(status_code=416, headers=headers)
        if span is not None:
            first, last = span
            status = 206
            headers["Content-Range"] = f"bytes {first}-{last}/{size}"
    length = last - first + 1
    headers["Content-Length"] = str(length)
    if request.method == "HEAD":
        return Response(status_code=status, headers=headers)
    return StreamingResponse(_stream(path, first, length), status_code=status, headers=headers)


async def _stream(path: Path, offset: int, length: int) -> AsyncIterator[bytes]:
    try:
        f = await anyio.open_file(path, "rb")
    except FileNotFoundError:
        return  # removed between the answer's headers and its body: the client sees a short body and may resume
    async with f:
        await f.seek(offset)
        while length > 0:
            data = await f.read(min(STREAM_CHUNK_BYTES, length))
            if not data:
                return  # the file was truncated under us: end early (the client sees a short body)
            length -= len(data)
            yield data


ROUTES = [download_transfer]
