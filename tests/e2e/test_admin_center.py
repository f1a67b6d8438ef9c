"""The admin center in a real browser: people, queues, access for non-admins,
login errors. The page map is src/desklink/web/README.md."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from desklink.testing import AdminAPI, ServerProcess

pytestmark = pytest.mark.browser

expect.set_options(timeout=10_000)


def _page(browser: Browser) -> tuple[Any, Page, list[str]]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("dialog", lambda d: (problems.append("dialog " + d.message), d.dismiss()))
    return context, page, problems


def _login(page: Page, server: ServerProcess, username: str, password: str) -> None:
    page.goto(server.url + "/admin")
    page.get_by_test_id("username").fill(username)
    page.get_by_test_id("password").fill(password)
    page.get_by_test_id("login").click()


def _user(admin: AdminAPI, username: str) -> dict[str, Any]:
    users = admin.http.get("/api/admin/users").json()["users"]
    return next(u for u in users if u["username"] == username)


def test_admin_manages_people_and_queues(browser: Browser, server: ServerProcess, admin: AdminAPI) -> None:
    context, page, problems = _page(browser)
    try:
        _login(page, server, "admin", "not the password")
        expect(page.get_by_test_id("login-error")).to_have_text("Wrong username or password.")
        _login(page, server, "admin", server.admin_password)
        expect(page.get_by_test_id("view-users")).to_be_visible()

        # Create a person.
        name = "hana" + secrets.token_hex(3)
        page.get_by_test_id("new-username").fill(name)
        page.get_by_test_id("new-display-name").fill("Hana <Support>")
        page.get_by_test_id("new-role").select_option("rep")
        page.get_by_test_id("new-password").fill("first-password-123")
        page.get_by_test_id("create-user").click()
        row = page.locator(f'[data-testid=user-row][data-username="{name}"]')
        expect(row.get_by_test_id("user-display-name")).to_have_text("Hana <Support>")
        user = _user(admin, name)
        assert (user["role"], user["disabled"]) == ("rep", False)

        # Change the role, disable and enable again.
        row.get_by_test_id("user-role").select_option("supervisor")
        expect(page.get_by_test_id("toast").last).to_contain_text("is now supervisor")
        assert _user(admin, name)["role"] == "supervisor"
        row.get_by_test_id("user-toggle").click()
        expect(row).to_have_attribute("data-disabled", "true")
        expect(row.get_by_test_id("user-status")).to_have_text("Disabled")
        assert _user(admin, name)["disabled"] is True
        row.get_by_test_id("user-toggle").click()
        expect(row).to_have_attribute("data-disabled", "false")

        # Reset the password; the new one logs in, the old one no longer does.
        row.get_by_test_id("user-reset").click()
        reset = page.locator(f'[data-testid=reset-row][data-user-id="{user["id"]}"]')
        reset.get_by_test_id("reset-password").fill("second-password-456")
        reset.get_by_test_id("reset-save").click()
        expect(page.get_by_test_id("toast").last).to_contain_text(f"New password set for {name}")
        with httpx.Client(base_url=server.url) as http:
            assert http.post("/api/auth/login", json={"username": name, "password": "first-password-123"}).status_code == 401
            assert http.post("/api/auth/login", json={"username": name, "password": "second-password-456"}).status_code == 200

        # Create a queue, then edit its name, origins and members.
        page.get_by_test_id("nav-queues").click()
        slug = "billing-" + secrets.token_hex(3)
        page.get_by_test_id("new-queue-slug").fill(slug)
        page.get_by_test_id("new-queue-name").fill("Billing")
        page.get_by_test_id("new-queue-origins").fill("https://shop.example.com\n\nhttps://www.example.com/")
        page.get_by_test_id("create-queue").click()
        card = page.locator(f'[data-testid=queue-row][data-slug="{slug}"]')
        expect(card.get_by_test_id("queue-name")).to_have_text("Billing")
        expect(card.get_by_test_id("queue-origins")).to_contain_text("https://shop.example.com")
        expect(card.get_by_test_id("queue-snippet")).to_contain_text(f'data-queue="{slug}"')
        card.get_by_test_id("queue-edit").click()
        card.get_by_test_id("queue-edit-name").fill("Billing desk")
        card.get_by_test_id("queue-edit-origins").fill("https://pay.example.com")
        card.locator(f'[data-testid=member-checkbox][data-username="{name}"]').check()
        card.get_by_test_id("queue-save").click()
        expect(card.get_by_test_id("queue-name")).to_have_text("Billing desk")
        expect(card.get_by_test_id("queue-members")).to_contain_text("Hana <Support>")
        queue = next(q for q in admin.http.get("/api/admin/queues").json()["queues"] if q["slug"] == slug)
        assert queue["name"] == "Billing desk"
        assert queue["allowed_origins"] == ["https://pay.example.com"]
        assert queue["members"] == [user["id"]]

        # A bad origin is refused with the server's reason, nothing changes.
        card.get_by_test_id("queue-edit").click()
        card.get_by_test_id("queue-edit-origins").fill("not an origin")
        card.get_by_test_id("queue-save").click()
        expect(card.get_by_test_id("queue-edit-form").locator(".form-error")).to_contain_text("not an origin")
        assert problems == []
    finally:
        context.close()


def test_admin_center_is_for_admins_only(browser: Browser, server: ServerProcess, admin: AdminAPI) -> None:
    name = "rep" + secrets.token_hex(3)
    admin.user(name, "rep-password-789", display_name="Ira")
    context, page, problems = _page(browser)
    try:
        _login(page, server, name, "rep-password-789")
        expect(page.get_by_test_id("admin-denied")).to_be_visible()
        expect(page.get_by_test_id("denied-user")).to_have_text(name)
        expect(page.get_by_test_id("view-users")).to_be_hidden()
        page.get_by_test_id("denied-logout").click()
        expect(page.get_by_test_id("login")).to_be_visible()
        assert problems == []
    finally:
        context.close()
