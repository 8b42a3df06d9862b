"""The desktop app signs in through a provider in the "system browser" (RFC 8252): Debian's
Chromium, driven by Playwright, against a real oidc-provider and the real backend."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from app.session_link.cloud_api import CloudApi
from app.session_link.login import Login, vault_key
from app.session_link.oidc_login import OidcLoginError, browser_login
from app.session_link.vault import MemoryVault
from tests.support.cloud import CloudServer
from tests.support.oidc import backend_with_provider
from tests.support.oidc.browser import SystemBrowser


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudServer]:
    with backend_with_provider(tmp_path_factory.mktemp("oidc-app")) as server:
        yield server


async def test_the_app_signs_in_through_the_system_browser(backend: CloudServer) -> None:
    api, vault = CloudApi(backend.base_url), MemoryVault()
    try:
        assert await api.oidc_providers() == ["loop"]
        browser = SystemBrowser("kim@example.com")
        login = await Login.sign_in_with_provider(api, vault, "loop", browser)
        assert login.email == "kim@example.com"
        assert (await api.me(await login.access()))["email"] == "kim@example.com"
        assert browser.finished.wait(60)
        assert "return to ReturnFeed" in browser.last_page
        assert "Signed in." in browser.last_page
        assert vault.get(vault_key(backend.base_url)) is not None
        # The app's listener was on loopback with a port of its own, and is closed now.
        back = urlsplit(browser.pages_seen[-1])
        assert back.hostname == "127.0.0.1" and back.port not in (None, backend.port)
        async with httpx.AsyncClient(timeout=2) as knock:
            with pytest.raises(httpx.ConnectError):
                await knock.get(f"http://127.0.0.1:{back.port}/callback")
        resumed = await Login.resume(api, vault)  # the next start of the app
        assert resumed is not None and resumed.email == "kim@example.com"
    finally:
        await api.aclose()


async def test_an_unverified_email_is_refused_in_the_app_and_the_page(
    backend: CloudServer,
) -> None:
    api = CloudApi(backend.base_url)
    browser = SystemBrowser("unverified.lee@example.com")
    try:
        with pytest.raises(OidcLoginError) as refused:
            await browser_login(api, "loop", browser)
    finally:
        await api.aclose()
    assert refused.value.code == "email_not_verified"
    assert "not verified" in refused.value.message
    assert browser.finished.wait(60)
    assert "Sign-in failed." in browser.last_page


async def test_no_browser_ends_the_wait_at_once(backend: CloudServer) -> None:
    api = CloudApi(backend.base_url)
    no_browser: Callable[[str], object] = lambda url: False  # noqa: E731
    try:
        with pytest.raises(OidcLoginError) as refused:
            await browser_login(api, "loop", no_browser, wait_s=120)
    finally:
        await api.aclose()
    assert refused.value.code == "no_browser"
    assert "/api/auth/oidc/loop/start?" in refused.value.message


async def test_a_stray_request_to_the_listener_is_turned_away(backend: CloudServer) -> None:
    """Another program on this machine knocking at the app's port gets nothing."""
    api = CloudApi(backend.base_url)
    answers: list[int] = []

    def stray_then_real(url: str) -> bool:
        redirect = httpx.URL(url).params["redirect_uri"]
        answers.append(httpx.get(f"{redirect}?code=forged&state=guess", timeout=5).status_code)
        return SystemBrowser("mia@example.com")(url)

    try:
        tokens = await browser_login(api, "loop", stray_then_real)
        assert (await api.me(tokens.access))["email"] == "mia@example.com"
    finally:
        await api.aclose()
    assert answers == [404]
