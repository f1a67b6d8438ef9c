"""The download page in Debian's Chromium: the section shown follows
``navigator.userAgentData`` where the browser has it, even when the
User-Agent header says otherwise, and "Other systems" shows them all."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect, sync_playwright

from desklink.testing import ONE_ADDRESS_ENV, ServerProcess

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]
LINUX_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
SHOTS = os.environ.get("DESKLINK_SHOTS", "")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    folder = tmp_path_factory.mktemp("agents")
    (folder / "desklink-agent-linux-x86_64").write_bytes(b"\x7fELF pretend")
    with ServerProcess(env={**ONE_ADDRESS_ENV, "DESKLINK_AGENT_DIR": str(folder)}) as srv:
        yield srv


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def test_user_agent_data_decides_and_other_systems_shows_all(server: ServerProcess, browser: Any) -> None:
    ctx = browser.new_context(user_agent=LINUX_UA)
    page = ctx.new_page()
    # The header says Linux; the browser's own platform (client hints) says macOS.
    ctx.new_cdp_session(page).send(
        "Emulation.setUserAgentOverride",
        {
            "userAgent": LINUX_UA,
            "userAgentMetadata": {
                "brands": [{"brand": "Chromium", "version": "131"}], "fullVersion": "131.0.0.0", "platform": "macOS",
                "platformVersion": "14.0.0", "architecture": "arm", "model": "", "mobile": False,
            },
        },
    )
    page.goto(server.url + "/download?code=123456789")
    assert page.evaluate("navigator.userAgentData.platform") == "macOS"
    expect(page.locator("body")).to_have_attribute("data-detected", "macos")
    expect(page.get_by_test_id("system-macos")).to_be_visible()
    expect(page.get_by_test_id("system-macos")).to_contain_text("A DeskLink agent for macOS is not available yet")
    expect(page.get_by_test_id("system-linux")).to_be_hidden()
    expect(page.get_by_test_id("system-windows")).to_be_hidden()
    page.get_by_test_id("show-all-systems").click()
    for system in ("linux", "windows", "macos"):
        expect(page.get_by_test_id(f"system-{system}")).to_be_visible()
    expect(page.get_by_test_id("download-agent")).to_have_attribute(
        "href", "/download/desklink-agent-linux-x86_64?code=123456789"
    )
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / "download-all.png"), full_page=True)
    ctx.close()


def test_the_linux_browser_gets_the_agent(server: ServerProcess, browser: Any) -> None:
    ctx = browser.new_context()
    page = ctx.new_page()
    page.goto(server.url + "/download")
    expect(page.get_by_test_id("system-linux")).to_be_visible()
    expect(page.get_by_test_id("download-agent")).to_have_text("Download the DeskLink agent for Linux (x86_64)")
    expect(page.get_by_test_id("system-windows")).to_be_hidden()
    ctx.close()
