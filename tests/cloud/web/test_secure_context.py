"""The phone page over HTTPS, as a camera operator meets it, in real Chromium:

- on the internet setup: real Caddy (deploy/Caddyfile, its own CA) in front of the backend;
- on a venue LAN: the backend's own local CA, on a non-loopback address (a network
  namespace);
- on plain http from a LAN address: no secure context, a plain warning, and the fallback.

Chromium trusts each CA through an NSS database in its own HOME, as a user's would; no
certificate check is skipped. Headless Chromium grants a screen wake lock in a secure context
without any flag or permission (checked by these tests), and has no `navigator.wakeLock`
on an insecure origin.
"""

from __future__ import annotations

import re
import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.cloud.web.helpers import CAMERAS, director_desk, live_at
from tests.support.api import Director, register
from tests.support.browser import chromium, phone
from tests.support.caddy import Caddy
from tests.support.cloud import RELAXED_RATES, CloudServer
from tests.support.netns import Netns, veth_namespace
from tests.support.tls import HttpsCloud
from tests.support.trust import nss_home, trusting_chromium

SITE = "tally.returnfeed.test"


def _show(api: httpx.Client, director: Director) -> str:
    r = api.post("/api/sessions", json={"name": "Evening show", "cameras": CAMERAS},
                 headers=director.auth)  # fmt: skip
    assert r.status_code == 201, r.text
    sid: str = r.json()["id"]
    return sid


def _holds_wake_lock(page: Page) -> None:
    assert page.evaluate("window.isSecureContext") is True
    expect(page.locator("body")).to_have_attribute("data-wake", "lock")
    expect(page.locator("#hint.insecure")).to_have_count(0)
    expect(page.locator("video.keepawake")).to_have_count(0)


@pytest.fixture
def caddy_show(tmp_path: Path) -> Iterator[tuple[CloudServer, Caddy]]:
    (tmp_path / "cloud").mkdir()
    cloud = CloudServer(
        tmp_path / "cloud",
        f"sqlite:///{tmp_path / 'returnfeed.db'}",
        [*RELAXED_RATES, "--forwarded-allow-ips", "127.0.0.1"],  # as deploy/Caddyfile says
    )
    caddy_dir = tmp_path / "caddy"
    caddy_dir.mkdir()
    try:
        caddy = Caddy(caddy_dir, SITE, f"127.0.0.1:{cloud.port}")
    except Exception:
        cloud.stop()
        raise
    yield cloud, caddy
    caddy.stop()
    cloud.stop()


def test_through_caddy_links_are_https_and_the_page_holds_a_wake_lock(
    caddy_show: tuple[CloudServer, Caddy], tmp_path: Path
) -> None:
    cloud, caddy = caddy_show
    with cloud.client() as direct:
        director = register(direct)
        sid = _show(direct, director)
    # The director's app reaches the backend through Caddy: links name the domain, https.
    with httpx.Client(
        base_url=f"https://127.0.0.1:{caddy.https_port}",
        headers={"Host": f"{SITE}:{caddy.https_port}"},
        verify=ssl.create_default_context(cafile=str(caddy.root_ca)),
        timeout=10,
    ) as via_caddy:
        r = via_caddy.post(
            f"/api/sessions/{sid}/invites",
            json={"role": "camera", "camera_number": 2},
            headers=director.auth,
            extensions={"sni_hostname": SITE},
        )
    assert r.status_code == 201, r.text
    url = r.json()["url"]
    assert url.startswith(f"{caddy.url}/tally#"), url

    home = nss_home(tmp_path / "home", [caddy.root_ca])
    resolve = f"--host-resolver-rules=MAP {SITE} 127.0.0.1"
    with trusting_chromium(home, [resolve]) as browser, phone(browser) as (_, page):
        page.goto(url)
        expect(page.locator("#name")).to_have_text("Jib")
        _holds_wake_lock(page)
        # The relay's WebSocket runs through Caddy: a cut reaches the phone.
        with director_desk(cloud, director, sid) as desk:
            seq = desk.bus(program=["ndi:CAM2"], preview=["ndi:CAM1"])
            live_at(page, seq, "program")
            seq = desk.bus(program=["ndi:CAM1"], preview=["ndi:CAM2"])
            live_at(page, seq, "preview")
        assert page.evaluate("location.protocol") == "https:"
    assert '"level":"error"' not in caddy.proc.tail(400), caddy.proc.tail(400)


@pytest.fixture
def namespace() -> Iterator[Netns]:
    with veth_namespace() as ns:
        yield ns


def test_venue_lan_with_the_local_ca(namespace: Netns, tmp_path: Path) -> None:
    """The backend in its own namespace on 10.213.x.2 with --tls-local-ca; Chromium, here,
    trusts the CA it made (fetched over the plain redirect port, as a phone would)."""
    server = HttpsCloud(
        tmp_path,
        ["--tls-local-ca"],
        tmp_path / "data" / "tls" / "ca.crt",
        host=namespace.ns_ip,
        prefix=namespace.prefix,
        redirect_port=18080,
    )
    try:
        ca = httpx.get(f"http://{namespace.ns_ip}:18080/ca.crt", timeout=10)
        assert ca.headers["content-type"] == "application/x-x509-ca-cert"
        (tmp_path / "phone-ca.crt").write_bytes(ca.content)
        with server.client() as api:
            director = register(api)
            sid = _show(api, director)
            r = api.post(f"/api/sessions/{sid}/invites", json={"role": "camera",
                         "camera_number": 3}, headers=director.auth)  # fmt: skip
            assert r.status_code == 201, r.text
            url = r.json()["url"]
        assert url.startswith(f"https://{namespace.ns_ip}:{server.port}/tally#"), url
        home = nss_home(tmp_path / "home", [tmp_path / "phone-ca.crt"])
        with trusting_chromium(home) as browser, phone(browser) as (_, page):
            page.goto(url)
            expect(page.locator("#name")).to_have_text("Handheld")
            _holds_wake_lock(page)
    finally:
        server.stop()


@pytest.fixture(scope="module")
def plain_browser() -> Iterator[Browser]:
    with chromium() as b:
        yield b


@pytest.mark.parametrize(
    ("locale", "words"),
    [("en-US", "This screen may sleep: open the https link"), ("ko-KR", "https 링크로 여세요")],
)
def test_insecure_origin_says_so_and_keeps_awake_with_the_fallback(
    namespace: Netns, tmp_path: Path, plain_browser: Browser, locale: str, words: str
) -> None:
    """http:// on a LAN address (the namespace's 10.213.x.2) is not a secure context."""
    server = HttpsCloud(tmp_path, [], None, host=namespace.ns_ip, scheme="http",
                        prefix=namespace.prefix)  # fmt: skip
    try:
        with server.client() as api:
            director = register(api)
            sid = _show(api, director)
            r = api.post(f"/api/sessions/{sid}/invites", json={"role": "camera",
                         "camera_number": 1}, headers=director.auth)  # fmt: skip
            url = r.json()["url"]
        assert url.startswith(f"http://{namespace.ns_ip}:")
        with phone(plain_browser, locale=locale) as (_, page):
            page.goto(url)
            expect(page.locator("#name")).to_have_text(re.compile("Stage left"))
            assert page.evaluate("window.isSecureContext") is False
            assert page.evaluate("'wakeLock' in navigator") is False
            warning = page.locator("#hint.insecure")
            expect(warning).to_be_visible()
            expect(warning).to_contain_text(words)
            # the fallback: the muted keep-awake video plays
            expect(page.locator("body")).to_have_attribute("data-wake", "fallback")
            expect(page.locator("video.keepawake")).to_have_count(1)
            page.wait_for_function(
                "document.querySelector('video.keepawake') && "
                "!document.querySelector('video.keepawake').paused"
            )
            page.locator("#number").tap()  # after the first tap the warning stays
            expect(warning).to_be_visible()
    finally:
        server.stop()
