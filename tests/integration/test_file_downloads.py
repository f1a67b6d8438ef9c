"""``/files/{id}/{key}/{name}`` on a real server: a stored transfer row and a
real file in the server's file store, downloaded with a real HTTP client."""

from __future__ import annotations

from typing import cast

import os
from collections.abc import AsyncIterator, Iterator
from urllib.parse import unquote

import httpx
import pytest

from desklink.server.api_files import content_disposition, download_path, parse_range
from desklink.store import Store, Transfer
from desklink.testing_files import stored_transfer
from desklink.testing import ONE_ADDRESS_ENV, ServerProcess

DATA = os.urandom(700_001)  # more than two stream pieces, an odd size


@pytest.fixture
async def store(server: ServerProcess) -> AsyncIterator[Store]:
    s = await Store.open(f"sqlite+aiosqlite:///{server.data_dir / 'desklink.db'}")
    try:
        yield s
    finally:
        await s.close()


async def _transfer(
    server: ServerProcess, store: Store, *, name: str = "report.pdf", data: bytes = DATA, status: str = "ready", finish: bool = True
) -> Transfer:
    return cast(Transfer, await stored_transfer(
        store, server, data=data, name=name, mime="application/pdf", sender="rep", status=status, finish=finish
    ))


def _get(server: ServerProcess, path: str, method: str = "GET", **headers: str) -> httpx.Response:
    with httpx.Client(base_url=server.url, timeout=30) as http:
        return http.request(method, path, headers=headers)


async def test_download_gives_the_bytes_with_exact_headers(server: ServerProcess, store: Store) -> None:
    row = await _transfer(server, store)
    r = _get(server, download_path(row))
    assert r.status_code == 200
    assert r.content == DATA
    h = r.headers
    assert h["content-type"] == "application/octet-stream"
    assert h["content-disposition"] == "attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf"
    assert h["x-content-type-options"] == "nosniff"
    assert h["cache-control"] == "private, no-store"
    assert h["content-security-policy"] == "default-src 'none'; sandbox"
    assert h["accept-ranges"] == "bytes"
    assert h["content-length"] == str(len(DATA))
    assert h["etag"] == f'"{row.sha256}"'
    # Nothing that would stop a cross-origin navigation download, and no CORS.
    assert "cross-origin-resource-policy" not in h
    assert "access-control-allow-origin" not in h
    # The name segment only names the download; any name finds the file.
    assert _get(server, f"/files/{row.id}/{row.download_key}/anything-else.bin").content == DATA


async def test_head_answers_headers_only(server: ServerProcess, store: Store) -> None:
    row = await _transfer(server, store)
    r = _get(server, download_path(row), "HEAD")
    assert r.status_code == 200 and r.content == b""
    assert r.headers["content-length"] == str(len(DATA))
    assert r.headers["content-disposition"].startswith("attachment;")
    ranged = _get(server, download_path(row), "HEAD", Range="bytes=10-19")
    assert ranged.status_code == 206 and ranged.headers["content-range"] == f"bytes 10-19/{len(DATA)}"


async def test_ranges(server: ServerProcess, store: Store) -> None:
    row = await _transfer(server, store)
    path, size = download_path(row), len(DATA)
    cases = {
        "bytes=0-0": (0, 0),
        "bytes=100-299999": (100, 299_999),
        "bytes=700000-": (700_000, 700_000),
        "bytes=-10": (size - 10, size - 1),
        "bytes=-99999999": (0, size - 1),
        "bytes=5-99999999": (5, size - 1),
    }
    for header, (first, last) in cases.items():
        r = _get(server, path, Range=header)
        assert r.status_code == 206, header
        assert r.headers["content-range"] == f"bytes {first}-{last}/{size}", header
        assert r.headers["content-length"] == str(last - first + 1), header
        assert r.content == DATA[first : last + 1], header
    for header in ("bytes=700001-", "bytes=800000-900000", "bytes=-0"):
        r = _get(server, path, Range=header)
        assert r.status_code == 416, header
        assert r.headers["content-range"] == f"bytes */{size}"
        assert r.content == b""
    # Ranges we do not serve (several, other units, garbage) get the whole file.
    for header in ("bytes=0-1,5-6", "lines=1-2", "bytes=9-3", "nonsense"):
        r = _get(server, path, Range=header)
        assert (r.status_code, r.content) == (200, DATA), header
    # If-Range: the range only while the file is the one the client started.
    assert _get(server, path, Range="bytes=5-9", **{"If-Range": f'"{row.sha256}"'}).status_code == 206
    stale = _get(server, path, Range="bytes=5-9", **{"If-Range": '"something-else"'})
    assert (stale.status_code, stale.content) == (200, DATA)


@pytest.mark.parametrize(
    "stored, fallback, utf8",
    [
        ('x"y.txt', "x_y.txt", "x_y.txt"),
        ('a"b\\c.txt', "c.txt", "c.txt"),
        ("../../etc/passwd", "passwd", "passwd"),
        ("C:\\Windows\\system32\\cmd.exe", "cmd.exe", "cmd.exe"),
        ("Grüße 你好.pdf", "Gru_e __.pdf", "Gr%C3%BC%C3%9Fe%20%E4%BD%A0%E5%A5%BD.pdf"),
        ("evil\r\nSet-Cookie: x=1.txt", "evil__Set-Cookie_ x=1.txt", "evil__Set-Cookie_%20x%3D1.txt"),
        ("\u202etxt.exe", "txt.exe", "txt.exe"),
    ],
)
async def test_hostile_names_give_a_safe_header(
    server: ServerProcess, store: Store, stored: str, fallback: str | None, utf8: str | None
) -> None:
    row = await _transfer(server, store, name=stored, data=b"x")
    r = _get(server, download_path(row))
    assert r.status_code == 200 and r.content == b"x"
    header = r.headers["content-disposition"]
    assert "set-cookie" not in {k.lower() for k in r.headers}
    assert header.isascii() and "\r" not in header and "\n" not in header
    ascii_name = header.split('filename="', 1)[1].split('"; filename*=', 1)[0]
    assert '"' not in ascii_name and "\\" not in ascii_name and "/" not in ascii_name
    encoded = header.split("filename*=UTF-8''", 1)[1]
    real = unquote(encoded)
    assert "/" not in real and "\\" not in real and ".." != real
    assert not any(ord(c) < 0x20 or c == "\u202e" for c in real)
    if fallback is not None:
        assert ascii_name == fallback
    if utf8 is not None:
        assert encoded == utf8


async def test_wrong_key_unknown_id_unfinished_and_unverified_are_404(server: ServerProcess, store: Store) -> None:
    row = await _transfer(server, store)
    missing = [
        f"/files/{row.id}/{'x' * len(row.download_key)}/report.pdf",
        f"/files/{row.id}/{row.download_key[:-1]}/report.pdf",
        f"/files/{row.id}/{row.download_key}x/report.pdf",
        f"/files/{row.id + 10_000}/{row.download_key}/report.pdf",
        f"/files/{2**63}/{row.download_key}/report.pdf",
        f"/files/{row.id}x/{row.download_key}/report.pdf",
    ]
    uploading = await _transfer(server, store, status="uploading", finish=False)
    missing.append(download_path(uploading))
    # A row that says ready but whose file is not finished (or is gone) is not served.
    unfinished = await _transfer(server, store, status="ready", finish=False)
    missing.append(download_path(unfinished))
    for status in ("offered", "paused", "failed", "cancelled", "refused", "expired"):
        missing.append(download_path(await _transfer(server, store, status=status)))
    for path in missing:
        r = _get(server, path)
        assert r.status_code == 404, path
        assert r.json()["error"]["code"] == "not_found", path
        assert "content-disposition" not in r.headers
    for status in ("delivering", "delivered"):
        assert _get(server, download_path(await _transfer(server, store, status=status))).content == DATA


def test_content_disposition_and_parse_range_units() -> None:
    assert content_disposition("") == "attachment; filename=\"file\"; filename*=UTF-8''file"
    assert content_disposition("e\u0301t\u00e9.txt") == "attachment; filename=\"ete.txt\"; filename*=UTF-8''%C3%A9t%C3%A9.txt"  # NFC
    assert content_disposition("100%.txt") == "attachment; filename=\"100_.txt\"; filename*=UTF-8''100%25.txt"
    with pytest.raises(ValueError):
        parse_range("bytes=0-", 0)  # nothing to send from an empty file
    assert parse_range("bytes=3-1", 10) is None
    assert parse_range("bytes=-", 10) is None
    assert parse_range("bytes=2-", 10) == (2, 9)


@pytest.fixture(scope="module")
def tight_server() -> Iterator[ServerProcess]:
    """Page budget of one request at a time (6 a minute, 10 s burst)."""
    env = {**ONE_ADDRESS_ENV, "DESKLINK_PAGE_REQUESTS_PER_MINUTE_PER_IP": "6", "DESKLINK_HTTP_BURST_S": "10"}
    with ServerProcess(env=env) as srv:
        yield srv


async def test_a_download_spends_one_page_request_however_big(tight_server: ServerProcess) -> None:
    s = await Store.open(f"sqlite+aiosqlite:///{tight_server.data_dir / 'desklink.db'}")
    try:
        big = os.urandom(8 << 20)  # 32 stream pieces
        row = await _transfer(tight_server, s, data=big)
    finally:
        await s.close()
    with httpx.Client(base_url=tight_server.url, timeout=30) as http:
        with http.stream("GET", download_path(row)) as r:
            assert r.status_code == 200
            received = b"".join(r.iter_bytes())
        assert received == big
        refused = http.get(download_path(row))
        assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate_limited"


def test_access_log_lines_never_carry_the_download_key() -> None:
    """uvicorn's access log record, as it makes it: the key is replaced, the
    rest (id, name, other paths) is kept."""
    import logging

    from desklink.server.api_files import RedactDownloadKeys

    f = RedactDownloadKeys()
    record = logging.LogRecord("uvicorn.access", logging.INFO, "", 0, '%s - "%s %s HTTP/%s" %d', ("127.0.0.1:5", "GET", "/files/7/s3cretKEY-_x/report.pdf?x=1", "1.1", 200), None)
    assert f.filter(record)
    assert "s3cretKEY" not in record.getMessage()
    assert record.getMessage() == '127.0.0.1:5 - "GET /files/7/[key]/report.pdf?x=1 HTTP/1.1" 200'
    other = logging.LogRecord("uvicorn.access", logging.INFO, "", 0, '%s - "%s %s HTTP/%s" %d', ("127.0.0.1:5", "GET", "/console", "1.1", 200), None)
    assert f.filter(other) and other.getMessage() == '127.0.0.1:5 - "GET /console HTTP/1.1" 200'
