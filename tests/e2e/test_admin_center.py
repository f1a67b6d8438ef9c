"""The admin center in a real browser: people, queues, access for non-admins,
login errors. The page map is src/desklink/web/README.md."""

from __future__ import annotations

import re
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


def test_the_audit_log_shows_every_admin_action_in_words(
    browser: Browser, server: ServerProcess, admin: AdminAPI, tmp_path: Any
) -> None:
    """Changes from the admin center and from the command line, newest first,
    in words, paged; an action the page does not know is still shown."""
    import asyncio
    import os
    import subprocess
    import sys
    from concurrent.futures import ThreadPoolExecutor
    from datetime import UTC, datetime

    from desklink.store import Store
    from desklink.testing import FAST_HASH_ENV

    tag = secrets.token_hex(3)
    user = admin.user(f"ola{tag}", "first-password-123", display_name="Ola")
    admin.http.patch(f"/api/admin/users/{user['id']}", json={"role": "supervisor"}).raise_for_status()
    queue = admin.queue(f"audit{tag}")
    for i in range(55):  # more than a page
        admin.http.patch(f"/api/admin/queues/{queue['id']}", json={"name": f"Audit {i}"}).raise_for_status()
    cli = subprocess.run(
        [sys.executable, "-m", "desklink", "admin", "--data-dir", str(server.data_dir), "user", "disable", f"ola{tag}"],
        capture_output=True, text=True, timeout=60, env={**os.environ, **FAST_HASH_ENV},
    )
    assert cli.returncode == 0, cli.stderr

    async def another_part_writes() -> None:  # e.g. the second-factor policy, not known to this page
        store = await Store.open(f"sqlite+aiosqlite:///{server.data_dir / 'desklink.db'}")
        try:
            await store.add_audit(actor_id=1, actor="admin", action="policy.second_factor", target="policy second factor",
                                  data={"roles": ["admin"]}, now=datetime.now(UTC))
        finally:
            await store.close()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, another_part_writes()).result()

    context, page, problems = _page(browser)
    try:
        _login(page, server, "admin", server.admin_password)
        page.get_by_test_id("nav-audit").click()
        rows = page.get_by_test_id("view-audit").get_by_test_id("audit-row")
        expect(rows).to_have_count(50)
        newest = rows.nth(0)
        expect(newest).to_have_attribute("data-action", "policy.second_factor")
        expect(newest.get_by_test_id("audit-what")).to_have_text("policy second factor: policy second factor")
        expect(newest.get_by_test_id("audit-details")).to_have_text('{"roles":["admin"]}')
        cli_row = rows.nth(1)
        expect(cli_row.get_by_test_id("audit-who")).to_contain_text("command line")
        expect(cli_row.get_by_test_id("audit-what")).to_have_text(f"disabled ola{tag}")
        expect(cli_row.get_by_test_id("audit-when")).to_have_text(re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d$"))
        expect(rows.nth(2).get_by_test_id("audit-what")).to_have_text(
            f"renamed the queue audit{tag} from “Audit 53” to “Audit 54”")
        expect(rows.nth(2).get_by_test_id("audit-who")).to_have_text("admin")
        expect(page.get_by_test_id("audit-newer")).to_be_disabled()

        # The older page holds the rest: the earliest renames, the role change, the queue and the person.
        page.get_by_test_id("audit-older").click()
        expect(page.get_by_test_id("audit-position")).to_have_text("Page 2")
        whats = page.get_by_test_id("view-audit").get_by_test_id("audit-what")
        expect(whats.filter(has_text=f"changed the role of ola{tag} from rep to supervisor")).to_have_count(1)
        expect(whats.filter(has_text=f"added ola{tag} as rep")).to_have_count(1)
        expect(whats.filter(has_text=f"created the queue audit{tag}")).to_have_count(1)
        page.get_by_test_id("audit-newer").click()
        expect(page.get_by_test_id("audit-position")).to_have_text("Page 1")
        expect(rows.nth(0)).to_have_attribute("data-action", "policy.second_factor")
        assert "first-password-123" not in page.content()
        assert problems == []
    finally:
        context.close()
