"""The phone tally page as an operator meets it: served, joined from a link, its errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
from playwright.sync_api import Browser, Page, Response, expect

from tests.cloud.web.helpers import expire_invite, new_show, screenshot
from tests.support.api import Director
from tests.support.browser import phone
from tests.support.cloud import CloudServer

PAGE_BUDGET_BYTES = 50 * 1024  # what a phone downloads to join: on the wire, gzipped
# Records what the page asks of the phone, so tests can see vibration and beeps.
SPY = """
window.__vibrations = [];
Object.defineProperty(navigator, "vibrate", {value: (p) => (window.__vibrations.push(p), true)});
window.__tones = 0;
const makeTone = AudioContext.prototype.createOscillator;
AudioContext.prototype.createOscillator = function () {
  window.__tones++;
  return makeTone.call(this);
};
"""


def test_served_with_safe_headers_and_content_types(api: httpx.Client) -> None:
    page = api.get("/tally")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.headers["cache-control"] == "no-cache"
    assert page.headers["referrer-policy"] == "no-referrer"
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "connect-src 'self'" in csp and "unsafe" not in csp
    assert re.search(r"<script>|<style|\son\w+=|style=", page.text) is None, "nothing inline"
    again = api.get("/tally", headers={"If-None-Match": page.headers["etag"]})
    assert again.status_code == 304

    urls = re.findall(r'(?:href|src)="(/static/tally/[^"]+)"', page.text)
    kinds = {".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml"}
    kinds[".webmanifest"] = "application/manifest+json"
    assert {Path(u).suffix for u in urls} == set(kinds)
    for url in urls:
        r = api.get(url)
        assert r.status_code == 200, url
        assert r.headers["content-type"].startswith(kinds[Path(url).suffix]), url
        assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert r.headers["x-content-type-options"] == "nosniff"
        # Text goes gzipped to a client that takes it, and as it is to one that does not.
        plain = api.get(url, headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in plain.headers and plain.content == r.content
        if not url.endswith(".svg"):
            assert r.headers["content-encoding"] == "gzip", url
            assert int(r.headers["content-length"]) < 0.6 * len(r.content), url
            assert r.headers["etag"] != plain.headers["etag"]
            assert r.headers["vary"] == "Accept-Encoding"
    manifest = api.get(next(u for u in urls if u.endswith(".webmanifest"))).json()
    assert manifest["start_url"] == "/tally" and manifest["icons"][0]["type"] == "image/svg+xml"

    version_dir = urls[0].rsplit("/", 1)[0]
    assert api.get(f"{version_dir}/nope.js").status_code == 404
    assert api.get("/static/tally/0000/tally.js").status_code == 404, "old versions are gone"
    assert api.get(f"{version_dir}/..%2Fpages.py").status_code == 404


def test_joins_from_the_link_and_hides_the_token(
    browser: Browser, api: httpx.Client, director: Director, shots: Path
) -> None:
    sid, inv = new_show(api, director, camera=2)
    with phone(browser) as (_, page):
        sizes: list[int] = []

        def count(response: Response) -> None:
            if "/api/" not in response.url:
                sizes.append(response.request.sizes()["responseBodySize"])

        page.on("response", count)
        page.goto(inv["url"])
        expect(page.locator("#name")).to_have_text("Jib")
        expect(page.locator("#number")).to_have_text("2")
        expect(page.locator("#session")).to_have_text("Evening show")
        assert "#" not in page.url and inv["token"] not in page.url
        stored = json.loads(page.evaluate(f"localStorage.getItem('rf.tally.join.{inv['token']}')"))
        assert stored["sessionId"] == sid and stored["token"].count(".") == 2
        assert 0 < sum(sizes) < PAGE_BUDGET_BYTES, f"page weighs {sum(sizes)} bytes on the wire"
        assert len(sizes) >= 8, "the page, its style, scripts, manifest and icon"
        screenshot(page, shots, "joined")

        page.reload()  # the stored participant token is reused: no second join
        expect(page.locator("#name")).to_have_text("Jib")
        page.goto(inv["url"])
        expect(page.locator("#name")).to_have_text("Jib")
    listed = api.get(f"/api/sessions/{sid}/invites", headers=director.auth).json()
    assert listed[0]["uses"] == 1


def test_unbound_link_lets_the_operator_choose(
    browser: Browser, api: httpx.Client, director: Director, shots: Path
) -> None:
    _, inv = new_show(api, director, camera=None)
    with phone(browser) as (_, page):
        page.goto(inv["url"])
        buttons = page.locator("#chooser-list button")
        expect(buttons).to_have_count(3)
        screenshot(page, shots, "chooser")
        buttons.filter(has_text="Handheld").click()
        expect(page.locator("#chooser")).to_be_hidden()
        expect(page.locator("#name")).to_have_text("Handheld")
        page.reload()
        expect(page.locator("#number")).to_have_text("3")
        expect(page.locator("#chooser")).to_be_hidden()
        page.locator("#btn-camera").click()
        expect(page.locator("#chooser-list button.current")).to_have_text(re.compile("3"))
        buttons.filter(has_text="Stage left").click()
        expect(page.locator("#name")).to_have_text("Stage left")


def _error_shown(page: Page, url: str, title: str) -> None:
    page.goto("about:blank")
    page.goto(url)
    expect(page.locator("#error")).to_be_visible()
    expect(page.locator("#error-title")).to_have_text(title)
    expect(page.locator("body")).to_have_attribute("data-state", "error")


def test_dead_links_say_why(
    browser: Browser, api: httpx.Client, director: Director, web_cloud: CloudServer, shots: Path
) -> None:
    sid, inv = new_show(api, director)
    _, expired = new_show(api, director)
    expire_invite(web_cloud.database_url, expired["id"])
    with phone(browser) as (_, page):
        _error_shown(page, f"{web_cloud.base_url}/tally", "Invalid link")
        expect(page.locator("#error-body")).to_contain_text("Open the tally link")
        _error_shown(page, f"{web_cloud.base_url}/tally#garbage", "Invalid link")
        screenshot(page, shots, "invalid")
        _error_shown(page, f"{web_cloud.base_url}/tally#abc.forged", "Invalid link")
        _error_shown(page, expired["url"], "This link has expired")

        r = api.delete(f"/api/sessions/{sid}/invites/{inv['id']}", headers=director.auth)
        assert r.status_code == 204
        _error_shown(page, inv["url"], "This link was revoked")
        screenshot(page, shots, "revoked")

        ended_sid, ended = new_show(api, director)
        r = api.post(f"/api/sessions/{ended_sid}/end", headers=director.auth)
        assert r.status_code < 300, r.text
        _error_shown(page, ended["url"], "The session has ended")


def test_test_mode_cycles_locally_and_languages_switch(
    browser: Browser, api: httpx.Client, director: Director, shots: Path
) -> None:
    _, inv = new_show(api, director)
    with phone(browser, locale="ko-KR") as (context, page):
        context.add_init_script(SPY)
        page.goto(inv["url"])
        expect(page.locator("html")).to_have_attribute("lang", "ko")
        expect(page.locator("#btn-test")).to_have_text("테스트")
        page.locator("#btn-lang").click()
        expect(page.locator("#btn-test")).to_have_text("Test")
        assert page.evaluate("localStorage.getItem('rf.lang')") == "en"

        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.locator("#btn-test").click()
        body = page.locator("body")
        expect(body).to_have_attribute("data-state", "test")
        expect(page.locator("#test-banner")).to_be_visible()
        expect(body).to_have_attribute("data-lamp", "program")
        expect(page.locator("#label")).to_have_text("ON AIR")
        screenshot(page, shots, "test-red")
        expect(body).to_have_attribute("data-lamp", "preview")
        expect(page.locator("#label")).to_have_text("PREVIEW")
        expect(body).to_have_attribute("data-lamp", "off")
        expect(page.locator("#label")).to_have_text("CLEAR")
        assert page.evaluate("window.__vibrations.length") >= 1
        assert page.evaluate("window.__tones") >= 2, "the test beeps even with beep off"
        page.locator("#btn-stop-test").click()
        expect(body).not_to_have_attribute("data-state", "test")
        assert [u for u in requests if "/api/" in u and "/api/relay/" not in u] == []


def test_busy_and_unreachable_servers_are_retried(
    browser: Browser, api: httpx.Client, director: Director
) -> None:
    _, inv = new_show(api, director)
    with phone(browser) as (context, page):
        busy = {"error": {"code": "rate_limited", "message": "slow down", "details": {}}}
        context.route(
            "**/api/invites/redeem",
            lambda route: route.fulfill(status=429, json=busy, headers={"Retry-After": "7"}),
        )
        page.goto(inv["url"])
        expect(page.locator("#error-title")).to_have_text("Too many attempts")
        expect(page.locator("#error-body")).to_have_text("Trying again in 7 s…")
        context.unroute("**/api/invites/redeem")
        context.route("**/api/invites/redeem", lambda route: route.abort())
        page.reload()
        expect(page.locator("#error-title")).to_have_text("Cannot reach the server")
        context.unroute("**/api/invites/redeem")
        page.locator("#btn-retry").click()
        expect(page.locator("#name")).to_have_text("Jib")


def test_wake_lock_fallback(browser: Browser, api: httpx.Client, director: Director) -> None:
    _, inv = new_show(api, director)
    with phone(browser) as (context, page):
        context.add_init_script("delete Navigator.prototype.wakeLock;")
        page.goto(inv["url"])
        hint = page.locator("#hint")
        expect(hint).to_have_text("Tap once to enable vibration and sound")
        page.locator("#number").tap()
        expect(hint).to_have_text(re.compile("turn off auto-lock"))
        expect(page.locator("video.keepawake")).to_have_count(1)
