"""Branding per queue in real Chromium: an admin brands the sample page's
queue in the admin center (title, colour, welcome text, a logo uploaded, a
required and a select pre-chat field) and sees it in the preview; on the
sample page the help box shows the title, the colour (computed style of the
launcher, header and buttons), the logo and the welcome text as text; the
required field blocks the submit until it is filled; the rep's console shows
the answers under their labels. The logo also loads in a help box embedded
on another origin. A queue without branding keeps the default look."""

from __future__ import annotations

import secrets
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from desklink.testing import AdminAPI, ServerProcess, admin_center

HostSite = Any  # tests/e2e/conftest.py:HostSite

pytestmark = pytest.mark.browser

expect.set_options(timeout=15_000)

WELCOME = "Willkommen bei Acme!\n<b>Wir</b> helfen gern."
ACCENT = "#c2185b"
ACCENT_RGB = "rgb(194, 24, 91)"
DEFAULT_RGB = "rgb(37, 87, 214)"  # --dl-accent in desklink-help.css


def _png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A real PNG: a coloured block with a white stripe."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b""
    for y in range(height):
        colour = bytes((255, 255, 255)) if height // 3 <= y < 2 * height // 3 else bytes(rgb)
        rows += b"\x00" + colour * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def _wait_style(page: Page, selector: str, prop: str, value: str) -> None:
    """Wait until the help box part ``selector`` computes ``prop`` as ``value``
    (the box's stylesheet loads on its own: a value read at once may predate it)."""
    page.wait_for_function(
        "([sel, prop, value]) => { const root = document.querySelector('desklink-help')?.shadowRoot;"
        " const el = root && root.querySelector(sel); return !!el && getComputedStyle(el)[prop] === value; }",
        arg=[selector, prop, value],
    )


def _queue(admin: AdminAPI, slug: str) -> dict[str, Any]:
    return next(q for q in admin.http.get("/api/admin/queues").json()["queues"] if q["slug"] == slug)


def test_admin_brands_the_help_box_and_the_rep_sees_the_answers(
    browser: Browser, server: ServerProcess, admin: AdminAPI, host_site: HostSite, tmp_path: Path
) -> None:
    support = _queue(admin, "support")
    username, password = "brandrep", "pw-" + secrets.token_hex(8)
    admin.members(support["id"], [admin.user(username, password, display_name="Rita")["id"]])
    admin.http.patch(f"/api/admin/queues/{support['id']}", json={"allowed_origins": [host_site.origin]}).raise_for_status()
    logo = tmp_path / "acme.png"
    logo.write_bytes(_png(96, 48, (194, 24, 91)))

    admin_ctx = browser.new_context(viewport={"width": 1280, "height": 1100})
    rep_ctx = browser.new_context(viewport={"width": 1400, "height": 820})
    vis_ctx = browser.new_context(viewport={"width": 1100, "height": 860})
    problems: list[str] = []
    try:
        # Before: the default look.
        visitor = vis_ctx.new_page()
        visitor.on("pageerror", lambda e: problems.append(str(e)))
        visitor.goto(server.url + "/")
        box = visitor.locator("desklink-help")
        expect(box.get_by_test_id("provider")).not_to_have_text("Help")
        _wait_style(visitor, ".launcher", "backgroundColor", DEFAULT_RGB)
        expect(box.get_by_test_id("brand-logo")).to_have_count(0)

        # The admin brands the queue.
        page = admin_ctx.new_page()
        page.on("pageerror", lambda e: problems.append(str(e)))
        admin_center(page, server, "queues")
        card = page.locator('[data-testid=queue-row][data-slug="support"]')
        expect(card.get_by_test_id("queue-branding-summary")).to_have_text("Default")
        card.get_by_test_id("queue-edit").click()
        card.get_by_test_id("brand-title").fill("Acme Hilfe")
        card.get_by_test_id("brand-color").fill(ACCENT)
        card.get_by_test_id("brand-welcome").fill(WELCOME)
        card.get_by_test_id("brand-logo-file").set_input_files(str(logo))
        card.get_by_test_id("brand-field-add").click()
        card.get_by_test_id("brand-field-add").click()
        rows = card.get_by_test_id("brand-field")
        rows.nth(0).get_by_test_id("brand-field-name").fill("order")
        rows.nth(0).get_by_test_id("brand-field-label").fill("Order number")
        rows.nth(0).get_by_test_id("brand-field-required").check()
        rows.nth(1).get_by_test_id("brand-field-name").fill("topic")
        rows.nth(1).get_by_test_id("brand-field-label").fill("Topic")
        rows.nth(1).get_by_test_id("brand-field-kind").select_option("select")
        rows.nth(1).get_by_test_id("brand-field-options").fill("Billing, Delivery")
        # The live preview follows.
        expect(card.get_by_test_id("brand-preview-title")).to_have_text("Acme Hilfe")
        expect(card.get_by_test_id("brand-preview-welcome")).to_have_text(WELCOME)
        head_bg = card.get_by_test_id("brand-preview-head").evaluate("el => getComputedStyle(el).backgroundColor")
        assert head_bg == ACCENT_RGB
        page.wait_for_function(
            "() => { const img = document.querySelector('[data-testid=brand-preview-logo]'); return img && img.naturalWidth === 96; }"
        )
        card.get_by_test_id("queue-branding-fieldset").scroll_into_view_if_needed()
        page.screenshot(path="/tmp/branding-admin.png", full_page=True)
        card.get_by_test_id("queue-save").click()
        summary = card.get_by_test_id("queue-branding-summary")
        expect(summary).to_contain_text("Title “Acme Hilfe”")
        expect(summary).to_contain_text("Logo")
        expect(summary).to_contain_text("2 pre-chat fields (1 required)")
        saved = _queue(admin, "support")["branding"]
        assert (saved["title"], saved["color"], saved["welcome"]) == ("Acme Hilfe", ACCENT, WELCOME)
        assert saved["fields"] == [
            {"name": "order", "label": "Order number", "required": True, "kind": "text"},
            {"name": "topic", "label": "Topic", "required": False, "kind": "select", "options": ["Billing", "Delivery"]},
        ]
        assert saved["logo_sha256"] and saved["logo_url"].endswith(saved["logo_sha256"])

        # The rep goes online.
        rep = rep_ctx.new_page()
        rep.on("pageerror", lambda e: problems.append(str(e)))
        rep.goto(server.url + "/console")
        rep.get_by_test_id("username").fill(username)
        rep.get_by_test_id("password").fill(password)
        rep.get_by_test_id("login").click()
        rep.get_by_test_id("presence-toggle").click()
        expect(rep.get_by_test_id("presence-status")).to_have_attribute("data-status", "online")

        # The help box's own words for branding are in every catalogue.
        en_keys, de_keys = visitor.evaluate(
            "async () => { const keys = async (l) => Object.keys((await import(`/static/widget/lang/${l}.js`)).default)"
            ".filter((k) => k.startsWith('branding.')).sort(); return [await keys('en'), await keys('de')]; }"
        )
        assert en_keys == de_keys and len(en_keys) >= 6, (en_keys, de_keys)

        # The visitor on the sample page sees the branded help box.
        visitor.reload()
        box = visitor.locator("desklink-help")
        expect(box.get_by_test_id("launcher")).to_be_visible()
        _wait_style(visitor, ".launcher", "backgroundColor", ACCENT_RGB)
        box.get_by_test_id("launcher").click()
        expect(box.get_by_test_id("provider")).to_have_text("Acme Hilfe")
        expect(box.get_by_test_id("intro")).to_have_text(WELCOME)
        assert box.get_by_test_id("intro").evaluate("el => Array.from(el.childNodes).map(n => n.nodeType)") == [3]
        brand_logo = box.get_by_test_id("brand-logo")
        expect(brand_logo).to_be_visible()
        visitor.wait_for_function(
            "() => document.querySelector('desklink-help').shadowRoot.querySelector('[data-testid=brand-logo]').naturalWidth === 96"
        )
        _wait_style(visitor, ".panel-head", "backgroundColor", ACCENT_RGB)
        _wait_style(visitor, "[data-testid=submit]", "backgroundColor", ACCENT_RGB)
        _wait_style(visitor, "[data-testid=send]", "backgroundColor", ACCENT_RGB)
        labels = box.get_by_test_id("prechat-field").locator("label")
        expect(labels).to_have_text(["Order number", "Topic (optional)"])
        visitor.screenshot(path="/tmp/branding-visitor-open.png")

        # The required field blocks the submit until it is filled.
        box.get_by_test_id("name").fill("Vera")
        box.get_by_test_id("question").fill("Where is my parcel?")
        box.get_by_test_id("submit").click()
        expect(box.get_by_test_id("form-error")).to_have_text("Please fill in “Order number”.")
        order = box.locator("[data-testid=prechat-input][data-name=order]")
        expect(order).to_be_focused()
        expect(box.get_by_test_id("form")).to_be_visible()
        visitor.screenshot(path="/tmp/branding-visitor-required.png")
        order.fill("A-17")
        box.locator("[data-testid=prechat-input][data-name=topic]").select_option("Delivery")
        box.get_by_test_id("submit").click()
        expect(box.get_by_test_id("status")).to_have_attribute("data-state", "waiting")

        # The rep sees the one request, with the answers under their labels.
        expect(rep.get_by_test_id("alert-accept")).to_have_count(1)
        rep.get_by_test_id("alert-accept").click()
        panel = rep.get_by_test_id("visitor-panel")
        expect(panel.get_by_test_id("visitor-prechat-label")).to_have_text(["Order number", "Topic"])
        expect(panel.get_by_test_id("visitor-prechat-value")).to_have_text(["A-17", "Delivery"])
        expect(box.get_by_test_id("status")).to_have_attribute("data-state", "chatting")
        visitor.screenshot(path="/tmp/branding-visitor-chat.png")
        rep.screenshot(path="/tmp/branding-console.png")

        # Embedded on another origin, the logo loads too. While that box is
        # open the admin adds a required field: the server refuses the
        # submit, the box says so and shows the new field, what was typed stays.
        other = vis_ctx.new_page()
        other.on("pageerror", lambda e: problems.append(str(e)))
        other.goto(host_site.page("support"))
        box2 = other.locator("desklink-help")
        box2.get_by_test_id("launcher").click()
        other.wait_for_function(
            "() => document.querySelector('desklink-help').shadowRoot.querySelector('[data-testid=brand-logo]')?.naturalWidth === 96"
        )
        expect(box2.get_by_test_id("prechat-field")).to_have_count(2)
        fields = [*saved["fields"], {"name": "serial", "label": "Serial number", "required": True, "kind": "text"}]
        admin.http.patch(f"/api/admin/queues/{support['id']}", json={"branding": {"fields": fields}}).raise_for_status()
        box2.get_by_test_id("name").fill("Otto")
        box2.get_by_test_id("question").fill("A second question")
        box2.locator("[data-testid=prechat-input][data-name=order]").fill("B-2")
        box2.get_by_test_id("submit").click()
        expect(box2.get_by_test_id("form-error")).to_have_text("Please check the fields of the form and try again.")
        expect(box2.get_by_test_id("prechat-field")).to_have_count(3)
        expect(box2.locator("[data-testid=prechat-input][data-name=order]")).to_have_value("B-2")
        box2.locator("[data-testid=prechat-input][data-name=serial]").fill("SN-9")
        box2.get_by_test_id("submit").click()
        expect(box2.get_by_test_id("status")).to_have_attribute("data-state", "waiting")
        alerts = rep.get_by_test_id("alert-accept")
        expect(alerts).to_have_count(1)
        assert problems == []
    finally:
        admin_ctx.close()
        rep_ctx.close()
        vis_ctx.close()


def test_a_light_accent_gets_dark_text_and_no_branding_keeps_the_default(
    browser: Browser, server: ServerProcess, admin: AdminAPI, host_site: HostSite, unique: str
) -> None:
    plain = admin.queue(f"plain{unique}", origins=[host_site.origin])
    light = admin.queue(f"light{unique}", origins=[host_site.origin])
    fields = [{"name": "plan", "label": "Tarif", "required": True, "kind": "select", "options": ["Basis", "Pro"]}]
    branding = {"color": "#ffd54f", "fields": fields}
    admin.http.patch(f"/api/admin/queues/{light['id']}", json={"branding": branding}).raise_for_status()
    # A German visitor: the box's own words in German, the provider's as typed.
    context = browser.new_context(viewport={"width": 1000, "height": 800}, locale="de-DE")
    problems: list[str] = []
    try:
        page = context.new_page()
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.goto(host_site.page(plain["slug"]))
        box = page.locator("desklink-help")
        box.get_by_test_id("launcher").click()
        expect(box.get_by_test_id("availability")).to_have_attribute("data-online", "no")
        _wait_style(page, ".panel-head", "backgroundColor", DEFAULT_RGB)
        _wait_style(page, ".provider", "color", "rgb(255, 255, 255)")
        expect(box.get_by_test_id("provider")).to_have_text("DeskLink Support")
        default_intro = box.get_by_test_id("intro").inner_text()
        assert default_intro and "Acme" not in default_intro
        expect(box.get_by_test_id("prechat")).to_be_hidden()
        expect(box.get_by_test_id("brand-logo")).to_have_count(0)

        page.goto(host_site.page(light["slug"]))
        box = page.locator("desklink-help")
        box.get_by_test_id("launcher").click()
        expect(box.get_by_test_id("availability")).to_have_attribute("data-online", "no")
        _wait_style(page, ".panel-head", "backgroundColor", "rgb(255, 213, 79)")
        _wait_style(page, ".provider", "color", "rgb(29, 36, 51)")
        _wait_style(page, "[data-testid=submit]", "color", "rgb(29, 36, 51)")
        expect(box.get_by_test_id("intro")).to_have_text(default_intro)
        expect(box.get_by_test_id("prechat-field").locator("label")).to_have_text(["Tarif"])
        plan = box.locator("[data-testid=prechat-input][data-name=plan]")
        expect(plan.locator("option")).to_have_text(["Bitte wählen…", "Basis", "Pro"])
        box.get_by_test_id("name").fill("Jonas")
        box.get_by_test_id("question").fill("Welcher Tarif passt?")
        box.get_by_test_id("submit").click()
        expect(box.get_by_test_id("form-error")).to_have_text("Bitte füllen Sie „Tarif“ aus.")
        page.screenshot(path="/tmp/branding-light.png")
        assert problems == []
    finally:
        context.close()
