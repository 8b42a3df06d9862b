"""The pages keep their participant token fresh (4 s tokens here, so a day passes in
seconds): the tally page reconnects with a renewed token after the first one expired, an
expired invite does not stop a phone that joined, and a page whose token and link have
both expired says so."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, Request, expect

from tests.cloud.web.helpers import director_desk, expire_invite, live_at, new_show
from tests.support.api import Director, bearer, invite, register
from tests.support.browser import phone
from tests.support.cloud import RELAXED_RATES, CloudServer

TOKEN_S = 4
RENEW_PATH = "/api/participant/token"
# Keeps each WebSocket the page opens, so a test can drop one as a network would.
KEEP_SOCKETS = """
window.__sockets = [];
window.WebSocket = class extends WebSocket {
  constructor(url, protocols) {
    super(url, protocols);
    this.offered = protocols;
    window.__sockets.push(this);
  }
};
"""


@pytest.fixture(scope="module")
def short_tokens(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudServer]:
    work = tmp_path_factory.mktemp("web-short-tokens")
    flags = [*RELAXED_RATES, "--participant-ttl-s", str(TOKEN_S)]
    server = CloudServer(work, f"sqlite:///{work / 'returnfeed.db'}", flags)
    yield server
    server.stop()


@pytest.fixture
def api(short_tokens: CloudServer) -> Iterator[httpx.Client]:
    with short_tokens.client() as c:
        yield c


@pytest.fixture
def director(api: httpx.Client) -> Director:
    return register(api)


def _stored(page: Page, key: str) -> dict[str, Any]:
    join: dict[str, Any] = page.evaluate(f"JSON.parse(localStorage.getItem({key!r}))")
    return join


def _refused_once_expired(page: Page, api: httpx.Client, token: str) -> None:
    """Until the backend refuses `token` as expired: observed, not slept for. Waits through
    the page, so Playwright delivers the page's events meanwhile."""
    deadline = time.monotonic() + TOKEN_S + 10
    while time.monotonic() < deadline:
        r = api.get("/api/participant", headers=bearer(token))
        if r.status_code == 401:
            assert r.json()["error"]["details"]["reason"] == "token_expired", r.text
            return
        page.wait_for_timeout(200)
    raise AssertionError("the first participant token never expired")


def _uses(api: httpx.Client, director: Director, sid: str, link: dict[str, Any]) -> int:
    listed = api.get(f"/api/sessions/{sid}/invites", headers=director.auth).json()
    return int(next(i["uses"] for i in listed if i["id"] == link["id"]))


def test_the_tally_page_renews_its_token_and_reconnects_with_it(
    browser: Browser, api: httpx.Client, director: Director, short_tokens: CloudServer
) -> None:
    sid, inv = new_show(api, director, camera=2)
    key = f"rf.tally.join.{inv['token']}"
    renewals: list[Request] = []
    with director_desk(short_tokens, director, sid) as desk, phone(browser) as (context, page):
        context.add_init_script(KEEP_SOCKETS)
        page.on("requestfinished", lambda r: renewals.append(r) if RENEW_PATH in r.url else None)
        page.goto(inv["url"])
        live_at(page, desk.snapshot["seq"], "off")
        first = _stored(page, key)["token"]

        _refused_once_expired(page, api, first)
        assert renewals, "the page never asked for a fresh token"
        assert [r.response().status for r in renewals if r.response()] == [200] * len(renewals)
        held = _stored(page, key)["token"]
        assert held != first
        assert api.get("/api/participant", headers=bearer(held)).status_code == 200
        live_at(page, desk.bus(["ndi:CAM2"], []), "program")

        # The link drops: the page reconnects with its renewed token, not the expired one
        # (which the relay would refuse, and the page would then join all over again).
        page.evaluate("window.__sockets.at(-1).close()")
        page.wait_for_function("() => window.__sockets.length === 2")
        live_at(page, desk.bus(["ndi:CAM1"], ["ndi:CAM2"]), "preview")
        offered = page.evaluate("window.__sockets[1].offered")
        assert offered[1].startswith("bearer.") and offered[1] != f"bearer.{first}"
    assert _uses(api, director, sid, inv) == 1, "no second join: the membership went on"


def test_an_expired_invite_keeps_the_phone_until_its_token_lapses_too(
    browser: Browser, api: httpx.Client, director: Director, short_tokens: CloudServer
) -> None:
    sid, inv = new_show(api, director, camera=2)
    key = f"rf.tally.join.{inv['token']}"
    with phone(browser) as (_, page):
        page.goto(inv["url"])
        expect(page.locator("body")).to_have_attribute("data-state", "live")
        page.goto("about:blank")
        expire_invite(short_tokens.database_url, inv["id"])

        # Reopened while its token is good: it renews and goes on, though the link expired.
        page.goto(inv["url"])
        expect(page.locator("body")).to_have_attribute("data-state", "live")
        assert _uses(api, director, sid, inv) == 1

        # Closed for longer than a token lives: now only the link could let it in again,
        # and it has expired. The page says so, and what to do.
        held = _stored(page, key)["token"]
        page.goto("about:blank")
        _refused_once_expired(page, api, held)
        page.goto(inv["url"])
        expect(page.locator("#error-title")).to_have_text("This link has expired")
        expect(page.locator("#error-body")).to_have_text("Ask the director for a new link.")


def test_the_viewer_page_renews_its_token_and_says_when_its_link_expired(
    browser: Browser, api: httpx.Client, director: Director, short_tokens: CloudServer
) -> None:
    sid, _ = new_show(api, director)
    inv = invite(api, director, sid, "viewer")
    key = f"rf.watch.join.{inv['token']}"
    renewals: list[Request] = []
    with phone(browser) as (_, page):
        page.on("requestfinished", lambda r: renewals.append(r) if RENEW_PATH in r.url else None)
        page.goto(inv["url"])
        body = page.locator("body")
        expect(body).to_have_attribute("data-state", "waiting")  # nothing on air yet
        first = _stored(page, key)["token"]
        _refused_once_expired(page, api, first)
        # The player keeps asking the gateway, with a renewed token, and is let in.
        assert renewals, "the page never asked for a fresh token"
        expired = f"Bearer {first}"
        with page.expect_response(
            lambda r: r.url.endswith("/status") and r.request.headers["authorization"] != expired
        ) as later:
            pass
        assert later.value.status == 200
        expect(body).to_have_attribute("data-state", "waiting")
        assert _uses(api, director, sid, inv) == 1

        held = _stored(page, key)["token"]
        page.goto("about:blank")
        expire_invite(short_tokens.database_url, inv["id"])
        _refused_once_expired(page, api, held)
        page.goto(inv["url"])
        expect(body).to_have_attribute("data-state", "expired")
        expect(page.locator("#message")).to_have_text(
            "This link has expired. Ask the director for a new one."
        )
