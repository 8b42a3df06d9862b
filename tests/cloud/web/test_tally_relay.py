"""The phone page against the real relay, with a director on a WebSocket of their own."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests.cloud.web.helpers import CAMERAS, director_desk, live_at, new_show, screenshot
from tests.support.api import Director
from tests.support.browser import phone
from tests.support.cloud import CloudServer

pytest.importorskip("cloud.relay", reason="the relay (cloud/relay) has not landed yet")


def test_program_turns_the_phone_red_and_messages_are_acknowledged(
    browser: Browser, api: httpx.Client, director: Director, web_cloud: CloudServer, shots: Path
) -> None:
    sid, inv = new_show(api, director, camera=2)
    with director_desk(web_cloud, director, sid) as desk, phone(browser) as (context, page):
        context.add_init_script("window.__buzz = 0; navigator.vibrate = () => ++window.__buzz;")
        page.goto(inv["url"])
        live_at(page, desk.snapshot["seq"], "off")
        expect(page.locator("#label")).to_have_text("CLEAR")

        live_at(page, desk.bus(["ndi:CAM1"], ["ndi:CAM2"]), "preview")
        expect(page.locator("#label")).to_have_text("PREVIEW")
        screenshot(page, shots, "tally-green")
        live_at(page, desk.bus(["ndi:CAM2"], ["ndi:CAM1"]), "program")
        expect(page.locator("#label")).to_have_text("ON AIR")
        screenshot(page, shots, "tally-red", review=True)
        page.set_viewport_size({"width": 844, "height": 390})
        screenshot(page, shots, "tally-red-landscape", review=True)
        page.set_viewport_size({"width": 390, "height": 844})
        assert page.evaluate("window.__buzz") >= 1, "going on air vibrates"

        desk.send(type="message", id="m-1", camera=2, text="Tighter on the singer, please")
        expect(page.locator("#message-text")).to_have_text("Tighter on the singer, please")
        screenshot(page, shots, "tally-message", review=True)
        page.locator("#btn-ack").click()
        assert desk.wait_for("ack") == {"v": 1, "type": "ack", "id": "m-1", "camera": 2}
        expect(page.locator("#message")).to_be_hidden()

        desk.send(type="flash", camera=2)
        expect(page.locator("#flash")).to_be_visible()


def test_live_only_never_shows_green(
    browser: Browser, api: httpx.Client, director: Director, web_cloud: CloudServer
) -> None:
    sid, inv = new_show(api, director, camera=2)
    with director_desk(web_cloud, director, sid) as desk, phone(browser) as (_, page):
        page.goto(inv["url"])
        live_at(page, desk.snapshot["seq"], "off")
        cameras = [
            {"number": c["number"], "name": c["name"], "source": c["ndi_source"]} for c in CAMERAS
        ]
        desk.send(type="cameras", cameras=cameras, live_only=True)
        seq = desk.wait_for("snapshot")["seq"]
        expect(page.locator("body")).to_have_attribute("data-seq", str(seq))
        live_at(page, desk.bus(["ndi:CAM1"], ["ndi:CAM2"]), "off")
        expect(page.locator("#label")).to_have_text("CLEAR")
        live_at(page, desk.bus(["ndi:CAM2"], []), "program")


def test_stale_while_the_backend_is_down_then_back_to_the_current_state(
    browser: Browser, api: httpx.Client, director: Director, web_cloud: CloudServer, shots: Path
) -> None:
    sid, inv = new_show(api, director, camera=2)
    with phone(browser) as (_, page):
        page.goto(inv["url"])
        with director_desk(web_cloud, director, sid) as desk:
            live_at(page, desk.bus(["ndi:CAM2"], []), "program")
        web_cloud.stop()
        try:
            body = page.locator("body")
            expect(body).to_have_attribute("data-state", "stale", timeout=12_000)
            expect(page.locator("#stale-title")).to_have_text("Connection lost — reconnecting…")
            expect(page.locator("#stale-text")).to_have_text("Last known: ON AIR")
            background = page.evaluate("getComputedStyle(document.body).backgroundImage")
            assert "repeating-linear-gradient" in background, "not the live colour"
            screenshot(page, shots, "tally-stale", review=True)
        finally:
            web_cloud.start()
        expect(body).to_have_attribute("data-state", "live", timeout=15_000)
        expect(body).to_have_attribute("data-lamp", "program")


def test_unbound_link_chooses_then_is_assigned(
    browser: Browser, api: httpx.Client, director: Director, web_cloud: CloudServer
) -> None:
    sid, inv = new_show(api, director, camera=None)
    with director_desk(web_cloud, director, sid) as desk, phone(browser) as (_, page):
        page.goto(inv["url"])
        page.locator("#chooser-list button").filter(has_text="Handheld").click()
        live_at(page, desk.bus(["ndi:CAM3"], []), "program")
        expect(page.locator("#name")).to_have_text("Handheld")

        people = api.get(f"/api/sessions/{sid}/participants", headers=director.auth).json()
        phone_id = next(p["id"] for p in people if p["role"] == "camera")
        desk.send(type="assign", participant=phone_id, camera=1)
        expect(page.locator("#number")).to_have_text("1")
        expect(page.locator("body")).to_have_attribute("data-lamp", "off")


def test_a_refused_token_redeems_the_link_once_more(
    browser: Browser, api: httpx.Client, director: Director
) -> None:
    sid, inv = new_show(api, director, camera=2)
    key = f"rf.tally.join.{inv['token']}"
    with phone(browser) as (_, page):
        page.goto(inv["url"])
        expect(page.locator("body")).to_have_attribute("data-state", "live")
        page.evaluate(
            f"""() => {{
            const j = JSON.parse(localStorage.getItem("{key}"));
            j.token = j.token.slice(0, -4) + "AAAA";
            localStorage.setItem("{key}", JSON.stringify(j));
        }}"""
        )
        page.reload()
        expect(page.locator("body")).to_have_attribute("data-state", "live")
    listed = api.get(f"/api/sessions/{sid}/invites", headers=director.auth).json()
    assert listed[0]["uses"] == 2, "joined again after the relay refused the stored token"
