"""The page's side of the relay protocol, against a scripted socket and a fake clock.

The real relay is in test_tally_relay.py; here the socket is a stand-in the test drives,
so heartbeats, silence, seq gaps and close codes can be played exactly and fast.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from playwright.sync_api import Browser, Page, expect

from tests.cloud.web.helpers import new_show
from tests.support.api import Director
from tests.support.browser import phone

SCRIPTED_SOCKET = """
window.__sockets = [];
class ScriptedSocket {
  constructor(url, protocols) {
    Object.assign(this, {url, protocols, readyState: 0, sent: [], closedWith: null});
    window.__sockets.push(this);
    setTimeout(() => { this.readyState = 1; this.onopen && this.onopen({}); }, 5);
  }
  send(data) { this.sent.push(JSON.parse(data)); }
  close(code) { this.readyState = 3; this.closedWith = code; }
  push(msg) { this.onmessage && this.onmessage({data: JSON.stringify(msg)}); }
  drop(code) { this.readyState = 3; this.onclose && this.onclose({code, reason: ""}); }
}
ScriptedSocket.OPEN = 1;
window.WebSocket = ScriptedSocket;
"""
SNAPSHOT = {
    "v": 1,
    "type": "snapshot",
    "seq": 5,
    "state": {
        "bus": {"program": ["ndi:CAM2"], "preview": []},
        "cameras": [
            {"number": 1, "name": "Stage left", "source": "ndi:CAM1"},
            {"number": 2, "name": "Jib", "source": "ndi:CAM2"},
        ],
        "live_only": False,
    },
    "lamps": [{"camera": 1, "lamp": "off"}, {"camera": 2, "lamp": "program"}],
}


@contextmanager
def scripted(browser: Browser, url: str) -> Iterator[Page]:
    with phone(browser) as (context, page):
        context.add_init_script(SCRIPTED_SOCKET)
        page.clock.install()
        page.goto(url)
        expect(page.locator("#name")).to_have_text("Jib")
        page.clock.run_for(50)
        yield page


def sockets(page: Page) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = page.evaluate(
        "window.__sockets.map((s) => ({url: s.url, protocols: s.protocols, sent: s.sent,"
        " readyState: s.readyState, closedWith: s.closedWith}))"
    )
    return out


def socket_count(page: Page, expected: int) -> None:
    """Waits (in real time: a re-join is a real request) for `expected` sockets."""
    for _ in range(100):
        if len(sockets(page)) == expected:
            return
        page.wait_for_timeout(50)
    raise AssertionError(f"{len(sockets(page))} sockets, not {expected}")


def push(page: Page, msg: dict[str, Any]) -> None:
    page.evaluate("(m) => window.__sockets.at(-1).push(m)", msg)


def drop(page: Page, code: int) -> None:
    page.evaluate("(c) => window.__sockets.at(-1).drop(c)", code)


def test_hello_heartbeats_gaps_and_silence(
    browser: Browser, api: httpx.Client, director: Director
) -> None:
    sid, inv = new_show(api, director, camera=2)
    with scripted(browser, inv["url"]) as page:
        [first] = sockets(page)
        assert first["url"].endswith(f"/api/relay/{sid}")
        assert first["protocols"][0] == "returnfeed.v1"
        assert first["protocols"][1].startswith("bearer.") and inv["token"] not in first["url"]
        hello = first["sent"][0]
        assert {k: hello[k] for k in ("v", "type", "role", "protocol", "camera")} == {
            "v": 1,
            "type": "hello",
            "role": "camera",
            "protocol": 1,
            "camera": 2,
        }
        assert {"vibrate", "wake_lock", "beep"} >= set(hello["capabilities"])
        body = page.locator("body")
        expect(body).to_have_attribute("data-state", "stale")  # open, but no snapshot yet

        push(page, SNAPSHOT)
        expect(body).to_have_attribute("data-state", "live")
        expect(body).to_have_attribute("data-lamp", "program")
        push(page, {"v": 1, "type": "delta", "seq": 7, "bus": None, "lamps": []})
        assert sockets(page)[0]["sent"][-1] == {"v": 1, "type": "snapshot_request", "last_seq": 5}

        page.clock.run_for(3_100)
        assert sockets(page)[0]["sent"][-1]["type"] == "heartbeat"
        page.clock.run_for(7_500)  # 10 s and more without a word from the relay: dead
        expect(body).to_have_attribute("data-state", "stale")
        expect(page.locator("#stale-text")).to_have_text("Last known: ON AIR")
        page.clock.run_for(1_000)  # the first retry comes within 250 ms
        after = sockets(page)
        assert after[0]["closedWith"] == 4000 and len(after) == 2
        assert after[1]["sent"][0]["type"] == "hello"
        push(page, {**SNAPSHOT, "seq": 9})
        expect(body).to_have_attribute("data-state", "live")
        expect(body).to_have_attribute("data-seq", "9")


def test_reconnects_back_off_up_to_two_seconds(
    browser: Browser, api: httpx.Client, director: Director
) -> None:
    _, inv = new_show(api, director, camera=2)
    with scripted(browser, inv["url"]) as page:
        for _ in range(6):
            drop(page, 1006)
            page.clock.run_for(2_100)  # no wait is longer than the 2 s cap
        assert len(sockets(page)) == 7
        drop(page, 1006)
        page.clock.run_for(900)  # attempt 6 waits at least 1 s: half of the cap, never less
        assert len(sockets(page)) == 7
        page.clock.run_for(1_200)
        assert len(sockets(page)) == 8


def test_final_close_codes(browser: Browser, api: httpx.Client, director: Director) -> None:
    sid, inv = new_show(api, director, camera=2)
    with scripted(browser, inv["url"]) as page:
        drop(page, 4401)  # the token was refused: redeem the link once more, then go on
        socket_count(page, 2)
        page.clock.run_for(100)
        drop(page, 4401)  # refused again: give up
        expect(page.locator("#error-title")).to_have_text("Invalid link")
        page.clock.run_for(20_000)
        assert len(sockets(page)) == 2, "no retries after a final close"
    uses = api.get(f"/api/sessions/{sid}/invites", headers=director.auth).json()[0]["uses"]
    assert uses == 2

    for code, title in ((4403, "This link cannot be used for this session"),
                        (4404, "The session has ended")):  # fmt: skip
        _, inv = new_show(api, director, camera=2)
        with scripted(browser, inv["url"]) as page:
            drop(page, code)
            expect(page.locator("#error-title")).to_have_text(title)
            page.clock.run_for(20_000)
            assert len(sockets(page)) == 1
