"""The "system browser" of the app's provider sign-in (RFC 8252): Debian's Chromium driven
by Playwright through the test provider's sign-in and consent pages."""

from __future__ import annotations

import threading
from urllib.parse import urlsplit

from tests.support.browser import chromium


class SystemBrowser:
    """Opens a URL as a person would and signs in as `email`; remembers the last page it
    showed (the app's own, after the sign-in) and the addresses it went through."""

    def __init__(self, email: str) -> None:
        self.email = email
        self.last_page = ""
        self.pages_seen: list[str] = []
        # Set when the page is read and the browser closed: the app stops waiting for its
        # browser after a while, a test reads `last_page` only after this.
        self.finished = threading.Event()

    def __call__(self, url: str) -> bool:
        self.finished.clear()
        with chromium() as browser:
            page = browser.new_page()
            page.goto(url)
            for _ in range(5):
                self.pages_seen.append(page.url)
                if urlsplit(page.url).hostname == "127.0.0.1" and "/callback" in page.url:
                    break
                if page.locator('input[name="login"]').count():
                    page.fill('input[name="login"]', self.email)
                    page.fill('input[name="password"]', "any")
                with page.expect_navigation():
                    page.click('button[type="submit"]')
            self.last_page = page.inner_text("body")
            page.close()
        self.finished.set()
        return True
