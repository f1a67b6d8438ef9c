"""Two-step sign-in in a real browser: the enrolment an admin policy forces
in the console's login form (QR code, secret as text, code computed here
with pyotp from the secret the page shows, recovery codes to save), a login
with a code, a voluntary enrolment from the Security dialog, and the admin
center's Security view (policy, reset)."""

from __future__ import annotations

import secrets

import pytest
from playwright.sync_api import Browser, Page, expect

from desklink.testing import AdminAPI, Authenticator, ServerProcess

from _pages import Watched

pytestmark = pytest.mark.browser

expect.set_options(timeout=10_000)


def _password_step(page: Page, url: str, username: str, password: str) -> None:
    page.goto(url)
    page.get_by_test_id("username").fill(username)
    page.get_by_test_id("password").fill(password)
    page.get_by_test_id("login").click()


def _secret_shown(page: Page) -> str:
    """The secret as the page shows it for manual entry (groups of four)."""
    secret = page.get_by_test_id("enroll-secret")
    expect(secret).to_be_visible()
    text = secret.inner_text().replace(" ", "")
    assert text == secret.get_attribute("data-secret")
    return text


def _qr_loaded(page: Page) -> None:
    qr = page.get_by_test_id("enroll-qr")
    expect(qr).to_be_visible()
    assert (qr.get_attribute("src") or "").startswith("data:image/png;base64,")
    # The image really decoded (CSP allows data: images).
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0")


def _save_codes(page: Page) -> list[str]:
    expect(page.get_by_test_id("recovery-code")).to_have_count(10)
    codes = page.get_by_test_id("recovery-code").all_inner_texts()
    done = page.get_by_test_id("codes-done")
    expect(done).to_be_disabled()
    page.get_by_test_id("codes-saved").check()
    done.click()
    return codes


def test_policy_forces_enrolment_in_the_console_login(browser: Browser, server: ServerProcess, admin: AdminAPI) -> None:
    username, password = f"rep{secrets.token_hex(3)}", "pw-" + secrets.token_hex(8)
    admin.user(username, password)
    admin.http.put("/api/admin/second-factor/policy", json={"roles": ["rep"]}).raise_for_status()
    w = Watched(browser, {"width": 1280, "height": 900})
    page = w.page
    try:
        _password_step(page, server.url + "/console", username, password)
        _qr_loaded(page)
        app = Authenticator(_secret_shown(page))
        page.get_by_test_id("code").fill(app.wrong_code())
        page.get_by_test_id("verify").click()
        expect(page.get_by_test_id("login-error")).to_contain_text("Wrong code")
        page.get_by_test_id("code").fill(app.code())
        page.get_by_test_id("verify").click()
        codes = _save_codes(page)
        expect(page.get_by_test_id("connection")).to_have_attribute("data-state", "open")
        expect(page.get_by_test_id("me")).to_contain_text(username)

        # Log out, then in again: password, then a code from the app.
        page.get_by_test_id("logout").click()
        expect(page.get_by_test_id("username")).to_be_visible()  # logged out before navigating (else the old cookie may resume)
        _password_step(page, server.url + "/console", username, password)
        expect(page.get_by_test_id("code-form")).to_be_visible()
        expect(page.get_by_test_id("enroll")).to_have_count(0)
        page.get_by_test_id("code").fill(app.code())
        page.get_by_test_id("verify").click()
        expect(page.get_by_test_id("connection")).to_have_attribute("data-state", "open")

        # And once with a recovery code.
        page.get_by_test_id("logout").click()
        expect(page.get_by_test_id("username")).to_be_visible()  # logged out before navigating (else the old cookie may resume)
        _password_step(page, server.url + "/console", username, password)
        page.get_by_test_id("code").fill(codes[3])
        page.get_by_test_id("verify").click()
        expect(page.get_by_test_id("connection")).to_have_attribute("data-state", "open")
        assert w.errors == []
    finally:
        admin.http.put("/api/admin/second-factor/policy", json={"roles": []}).raise_for_status()
        w.close()


def test_voluntary_enrolment_and_the_admin_security_view(
    browser: Browser, server: ServerProcess, admin: AdminAPI
) -> None:
    boss, boss_pw = f"boss{secrets.token_hex(3)}", "pw-" + secrets.token_hex(8)
    admin.user(boss, boss_pw, role="admin")
    w = Watched(browser, {"width": 1280, "height": 900})
    page = w.page
    page.on("dialog", lambda d: d.accept())  # the reset asks "are you sure?"
    try:
        _password_step(page, server.url + "/admin", boss, boss_pw)
        expect(page.get_by_test_id("view-users")).to_be_visible()

        # Turn two-step sign-in on from the Security dialog.
        page.get_by_test_id("my-security").click()
        dialog = page.get_by_test_id("security-dialog")
        expect(dialog.get_by_test_id("security-status")).to_have_attribute("data-state", "off")
        dialog.get_by_test_id("security-enable").click()
        _qr_loaded(page)
        app = Authenticator(_secret_shown(page))
        dialog.get_by_test_id("code").fill(app.code())
        dialog.get_by_test_id("security-confirm").click()
        _save_codes(page)
        expect(dialog.get_by_test_id("security-status")).to_have_attribute("data-state", "on")
        expect(dialog.get_by_test_id("security-status")).to_contain_text("10 recovery codes left")
        dialog.get_by_test_id("security-close").click()

        # The admin's next login asks for a code.
        page.get_by_test_id("logout").click()
        expect(page.get_by_test_id("username")).to_be_visible()  # logged out before navigating (else the old cookie may resume)
        _password_step(page, server.url + "/admin", boss, boss_pw)
        page.get_by_test_id("code").fill(app.code())
        page.get_by_test_id("verify").click()
        expect(page.get_by_test_id("view-users")).to_be_visible()

        # The Security view: require it for supervisors, reset the boss.
        page.get_by_test_id("nav-security").click()
        row = page.get_by_test_id("second-factor-row").filter(has_text=boss)
        expect(row).to_have_attribute("data-state", "on")
        page.get_by_test_id("policy-supervisor").check()
        page.get_by_test_id("policy-save").click()
        # Saved when the page says so (the box was checked before the save).
        expect(page.get_by_test_id("toast").last).to_contain_text("required for: supervisor")
        expect(page.get_by_test_id("policy-supervisor")).to_be_checked()
        assert admin.http.get("/api/admin/second-factor").json()["policy"] == {"roles": ["supervisor"]}
        row.get_by_test_id("second-factor-reset").click()
        expect(page.get_by_test_id("second-factor-row").filter(has_text=boss)).to_have_attribute("data-state", "off")
        users = admin.http.get("/api/admin/second-factor").json()["users"]
        assert next(u for u in users if u["username"] == boss)["second_factor"] == "off"
        assert w.errors == []
    finally:
        admin.http.put("/api/admin/second-factor/policy", json={"roles": []}).raise_for_status()
        w.close()
