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


def test_the_help_box_summarizes_system_and_browser(server: ServerProcess, browser: Any) -> None:
    """What the help box sends as ``client``: from userAgentData where the
    browser has it (Windows 11 told apart by platformVersion), else from the
    User-Agent; never longer than MAX_CLIENT_CHARS."""
    ctx = browser.new_context()
    page = ctx.new_page()
    ctx.new_cdp_session(page).send(
        "Emulation.setUserAgentOverride",
        {
            "userAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
            "userAgentMetadata": {
                "brands": [{"brand": "Not_A Brand", "version": "24"}, {"brand": "Google Chrome", "version": "131"}],
                "fullVersion": "131.0.0.0", "platform": "Windows", "platformVersion": "15.0.0", "architecture": "x86",
                "model": "", "mobile": False,
            },
        },
    )
    page.goto(server.url + "/download")
    result = page.evaluate(
        """async () => {
          const m = await import('/static/widget/client-info.js');
          const { LIMITS } = await import('/static/shared/wire.js');
          const long = { userAgent: 'X11; Linux', userAgentData: { platform: 'Linux', brands: [{ brand: 'Chromium', version: '9'.repeat(200) }] } };
          return {
            here: await m.clientSummary(),
            firefox: m.fromUserAgent('Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0'),
            safari: m.fromUserAgent('Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15'),
            iphone: m.fromUserAgent('Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1'),
            edge: m.fromUserAgent('Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0'),
            long: (await m.clientSummary(long)).length, max: LIMITS.MAX_CLIENT_CHARS,
          };
        }"""
    )
    assert result["here"] == "Windows 11 · Chrome 131"
    assert result["firefox"] == ["Windows 10 or 11", "Firefox 133"]
    assert result["safari"] == ["macOS", "Safari 17"]
    assert result["iphone"] == ["iOS", "Safari 17"]
    assert result["edge"] == ["Windows 10 or 11", "Edge 131"]
    assert result["long"] == result["max"] == 60
    ctx.close()
