"""The visitor's context in a real browser: a provider page passes fields to
the help box (``data-field-*`` on the script tag, and ``setFields`` on the
element), one of them script-like text; the visitor (German, in Tokyo)
submits; the rep's console shows the page as a safe link, the browser, the
language, the visitor's ticking local time and the fields as literal text:
no element made from them, no dialog."""

from __future__ import annotations

import html
import re
import secrets
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from desklink.testing import AdminAPI, ServerProcess

HostSite = Any  # tests/e2e/conftest.py:HostSite

pytestmark = pytest.mark.browser

expect.set_options(timeout=15_000)

HOSTILE = "<img src=x onerror=alert(1)>"


def _provider_page(site: HostSite, queue: str) -> str:
    """A provider page embedding the help box with fields; returns its URL."""
    path = f"/shop-{secrets.token_hex(4)}.html"
    src = html.escape(f"{site.desklink_url}/static/widget/desklink-help.js")
    site.pages[path] = (
        "<!doctype html><html><head><meta charset='utf-8'><title>Acme shop</title></head><body>"
        "<h1>Your cart</h1>"
        f"<script type='module' src='{src}' data-queue='{html.escape(queue)}'"
        f" data-field-customer-id='C-1234' data-field-plan='{html.escape(HOSTILE)}'></script>"
        "<script type='module'>customElements.whenDefined('desklink-help').then(() => {"
        " const box = document.querySelector('desklink-help');"
        " if (box) box.setFields({'order.id': 'A-77', 'bad key': 'dropped'}); });</script>"
        "</body></html>"
    ).encode()
    return site.origin + path + "?step=2"


def test_the_rep_sees_the_visitors_context_as_text(
    browser: Browser, server: ServerProcess, admin: AdminAPI, host_site: HostSite, unique: str
) -> None:
    queue = admin.queue(unique, origins=[host_site.origin])
    username, password = f"{unique}rep", "pw-" + secrets.token_hex(8)
    admin.members(queue["id"], [admin.user(username, password, display_name="Rita")["id"]])
    url = _provider_page(host_site, unique)

    rep_ctx = browser.new_context(viewport={"width": 1400, "height": 820})
    vis_ctx = browser.new_context(viewport={"width": 1100, "height": 800}, locale="de-DE", timezone_id="Asia/Tokyo")
    dialogs: list[str] = []
    errors: list[str] = []
    warnings: list[str] = []
    try:
        rep = rep_ctx.new_page()
        visitor = vis_ctx.new_page()
        for page in (rep, visitor):
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.on("pageerror", lambda e: errors.append(str(e)))
        visitor.on("console", lambda m: warnings.append(m.text) if m.type == "warning" else None)

        rep.goto(server.url + "/console")
        rep.get_by_test_id("username").fill(username)
        rep.get_by_test_id("password").fill(password)
        rep.get_by_test_id("login").click()
        rep.get_by_test_id("presence-toggle").click()
        expect(rep.get_by_test_id("presence-status")).to_have_attribute("data-status", "online")

        visitor.goto(url, referer="https://search.example/?q=stuck+cart")
        box = visitor.locator("desklink-help")
        box.get_by_test_id("launcher").click()
        box.get_by_test_id("name").fill("Vera")
        box.get_by_test_id("question").fill("My cart is stuck")
        box.get_by_test_id("submit").click()
        expect(box.get_by_test_id("status")).to_have_attribute("data-state", "waiting")
        # The provider's field with a bad name is left out, and the site owner told why.
        assert any("bad key" in w and "not sent" in w for w in warnings), warnings

        expect(rep.get_by_test_id("alert-language")).to_have_text("de-DE")
        rep.screenshot(path="/tmp/context-alert.png")
        rep.get_by_test_id("alert-accept").click()
        panel = rep.get_by_test_id("visitor-panel")
        expect(panel).to_be_visible()

        link = panel.get_by_test_id("visitor-page")
        expect(link).to_have_text(url)
        assert link.get_attribute("href") == url
        assert link.get_attribute("rel") == "noopener noreferrer"
        assert link.get_attribute("target") == "_blank"
        expect(panel.get_by_test_id("visitor-referrer")).to_have_text("https://search.example/?q=stuck+cart")
        expect(panel.get_by_test_id("visitor-client")).to_have_text(re.compile(r"Linux · Chrom(e|ium) \d+"))
        expect(panel.get_by_test_id("visitor-language")).to_have_text(re.compile(r"^German \(Germany\) · de-DE"))
        expect(panel.get_by_test_id("visitor-zone")).to_have_text(" (Asia/Tokyo, UTC+09:00)")
        tokyo_now = "new Date().toLocaleTimeString('en-GB', {timeZone: 'Asia/Tokyo', hour: '2-digit', minute: '2-digit', hourCycle: 'h23'})"
        rep.wait_for_function(
            f"() => document.querySelector('[data-testid=visitor-time]')?.textContent === {tokyo_now}", timeout=15_000
        )

        values = panel.get_by_test_id("visitor-field-value")
        expect(panel.get_by_test_id("visitor-field-key")).to_have_text(["customer-id", "plan", "order.id"])
        expect(values).to_have_text(["C-1234", HOSTILE, "A-77"])
        # Literal text: the value's only child is a text node, no <img> anywhere in the panel.
        kinds = rep.locator("[data-testid=visitor-field-value][data-key=plan]").evaluate(
            "el => Array.from(el.childNodes).map(n => n.nodeType)"
        )
        assert kinds == [3]
        assert panel.locator("img").count() == 0
        rep.screenshot(path="/tmp/context-console.png")
        assert dialogs == [] and errors == []
    finally:
        rep_ctx.close()
        vis_ctx.close()
