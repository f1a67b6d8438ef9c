"""A transferred file downloaded by Chromium from another origin, the way the
help box does it (a navigation by ``<a href download>``): nothing in the
answer's headers stops it, the bytes arrive whole and the browser's name is
the file's safe name."""

from __future__ import annotations

import asyncio
import html
import os
import secrets
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import cast, Any

import pytest
from playwright.sync_api import Browser

from desklink.server.api_files import download_path
from desklink.store import Store, Transfer
from desklink.testing_files import stored_transfer
from desklink.testing import ServerProcess

HostSite = Any  # tests/e2e/conftest.py:HostSite (the provider's site fixture)

pytestmark = pytest.mark.browser


async def _stored(server: ServerProcess, name: str, data: bytes) -> Transfer:
    store = await Store.open(f"sqlite+aiosqlite:///{server.data_dir / 'desklink.db'}")
    try:
        return cast(Transfer, await stored_transfer(store, server, data=data, name=name, mime="application/pdf", sender="rep"))
    finally:
        await store.close()


def _in_thread(server: ServerProcess, name: str, data: bytes) -> Transfer:
    # Playwright's sync API owns this thread's event loop.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, _stored(server, name, data)).result()


def test_a_cross_origin_link_downloads_the_file(browser: Browser, server: ServerProcess, host_site: HostSite, tmp_path: Path) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)
    row = _in_thread(server, 'Quarterly "report" — Grüße.pdf', data)
    path = f"/dl-{secrets.token_hex(4)}.html"
    href = html.escape(server.url + download_path(row))
    host_site.pages[path] = (
        "<!doctype html><html><head><meta charset='utf-8'><title>Acme</title></head><body>"
        f"<a id='dl' href='{href}' download>Download</a></body></html>"
    ).encode()
    context = browser.new_context(accept_downloads=True)
    try:
        page = context.new_page()
        page.goto(host_site.origin + path)
        with page.expect_download(timeout=20_000) as caught:
            page.click("#dl")
        download = caught.value
        assert download.failure() is None
        assert download.suggested_filename == "Quarterly _report_ — Grüße.pdf"
        saved = tmp_path / "saved.pdf"
        download.save_as(saved)
        assert saved.read_bytes() == data
        assert page.url == host_site.origin + path  # the provider's page stays; nothing was rendered
    finally:
        context.close()
