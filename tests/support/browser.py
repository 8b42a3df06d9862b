"""Debian's Chromium driven by Playwright, with a phone's screen, for the page tests.

Never `playwright install`: the browser is the system's `/usr/bin/chromium`.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# WebRTC with a peer on this machine (media-facts.md): loopback candidates allowed, real
# addresses instead of mDNS names, and media that plays without a user gesture.
WEBRTC_LOOPBACK = [
    "--allow-loopback-in-peer-connection",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--autoplay-policy=no-user-gesture-required",
]
# An init script (before the page's own, and not subject to its CSP) that keeps every peer
# connection the page makes in window.__pcs, for getStats and the applied descriptions.
KEEP_PEER_CONNECTIONS = """(() => {
  const Native = window.RTCPeerConnection;
  window.__pcs = [];
  window.RTCPeerConnection = function (...args) {
    const pc = new Native(...args);
    window.__pcs.push(pc);
    return pc;
  };
  window.RTCPeerConnection.prototype = Native.prototype;
})();"""
PHONE_PORTRAIT = {"width": 390, "height": 844}
PHONE_LANDSCAPE = {"width": 844, "height": 390}


@contextmanager
def chromium(extra_args: tuple[str, ...] = ()) -> Iterator[Browser]:
    """One browser; each test opens its own context (fresh storage) in it."""
    if shutil.which(CHROMIUM) is None:
        raise RuntimeError(f"{CHROMIUM} is missing: apt-get install chromium")
    with sync_playwright() as pw:
        # Playwright gives the browser a fresh temporary profile and removes it afterwards.
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *extra_args])
        try:
            yield browser
        finally:
            browser.close()


def webrtc_chromium() -> AbstractContextManager[Browser]:
    """A browser that plays WebRTC from a backend on loopback."""
    return chromium(tuple(WEBRTC_LOOPBACK))


def page_problems(page: Page) -> list[str]:
    """What goes wrong on `page` from now on: script errors and Content-Security-Policy
    violations, collected for the test to assert on (empty while all is well)."""
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    page.on(
        "console",
        lambda msg: problems.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    return problems


@contextmanager
def phone(
    browser: Browser, locale: str = "en-US", landscape: bool = False, **extra: Any
) -> Iterator[tuple[BrowserContext, Page]]:
    """A phone-sized, touch, mobile context and one page in it; closed afterwards.

    A script error or a Content-Security-Policy violation on the page fails the test.
    """
    context = browser.new_context(
        viewport=PHONE_LANDSCAPE if landscape else PHONE_PORTRAIT,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale=locale,
        **extra,
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    problems = page_problems(page)
    try:
        yield context, page
    finally:
        context.close()
    assert not problems, "\n".join(problems)
