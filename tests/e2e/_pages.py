"""A browser page watched for what a test must check: script errors and
Content Security Policy violations."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Browser, Page


class Watched:
    """A page in its own context plus its script errors and CSP violations."""

    def __init__(self, browser: Browser, viewport: dict[str, int] | None = None, **context_args: Any) -> None:
        self.context = browser.new_context(viewport=viewport or {"width": 1280, "height": 820}, **context_args)
        self.page: Page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        self.page.on("console", self._console)

    def _console(self, msg: Any) -> None:
        if "Content Security Policy" in msg.text or "Refused to" in msg.text:
            self.errors.append(f"csp: {msg.text}")

    def close(self) -> None:
        self.context.close()
