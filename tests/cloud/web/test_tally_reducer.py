"""The page's pure state module, run in the browser on every golden message of the protocol."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from tests.support.browser import phone
from tests.support.cloud import CloudServer

GOLDEN = Path(__file__).parents[2] / "data" / "tally" / "valid"
PHONE_TYPES = {"snapshot", "delta", "lamp", "message", "flash", "assign", "heartbeat", "error"}

# Each golden message applied to the state it would meet: a delta right after a snapshot
# one seq behind it; everything else after the richest snapshot. Returns, per file, the
# lamps and the lamp each camera's phone would show, plus whatever else changed.
RUN = """
async (golden) => {
  const src = document.querySelector('script[type="module"]').src;
  const m = await import(new URL("tally-state.js", src));
  const snapshots = Object.values(golden).filter((g) => g.type === "snapshot");
  const show = (state) => {
    const shown = {};
    for (const c of Object.keys(state.lamps)) shown[c] = m.displayLamp({...state, camera: +c});
    return shown;
  };
  const out = {};
  for (const [name, msg] of Object.entries(golden)) {
    let base = m.reduce(m.initialState(2), {type: "local.link", status: "open"});
    if (msg.type === "delta") {
      const before = snapshots.find((s) => s.seq === msg.seq - 1)
        || {type: "snapshot", seq: msg.seq - 1, lamps: [],
            state: {bus: {program: [], preview: []}, cameras: [], live_only: false}};
      base = m.reduce(base, before);
    } else if (msg.type !== "snapshot") {
      base = m.reduce(base, golden["snapshot_mix.json"]);
    }
    const after = m.reduce(base, msg);
    const gap = msg.type === "delta" ? m.reduce(base, {...msg, seq: msg.seq + 1}) : null;
    out[name] = {
      before: base, after, lamps: after.lamps, shown: show(after), view: m.view(after),
      gap: gap && {needSnapshot: gap.needSnapshot, lamps: gap.lamps},
      fromCamera1: m.reduce(m.reduce(m.initialState(1), golden["snapshot_mix.json"]), msg),
    };
  }
  return out;
}
"""


@pytest.fixture(scope="module")
def results(browser: Browser, web_cloud: CloudServer) -> Iterator[dict[str, Any]]:
    golden = {p.name: json.loads(p.read_text()) for p in sorted(GOLDEN.glob("*.json"))}
    assert len(golden) >= 20
    with phone(browser) as (_, page):
        page.goto(f"{web_cloud.base_url}/tally")
        yield {"golden": golden, "out": page.evaluate(RUN, golden)}


def _lamps(entries: list[dict[str, Any]]) -> dict[str, str]:
    return {str(e["camera"]): e["lamp"] for e in entries}


def test_snapshots_set_every_lamp(results: dict[str, Any]) -> None:
    for name, msg in results["golden"].items():
        if msg["type"] != "snapshot":
            continue
        out = results["out"][name]
        expected = _lamps(msg["lamps"])
        assert out["lamps"] == expected, name
        assert out["after"]["seq"] == msg["seq"] and out["after"]["synced"], name
        live_only = msg["state"]["live_only"]
        for camera, lamp in expected.items():
            shown = "off" if lamp == "preview" and live_only else lamp
            assert out["shown"][camera] == shown, (name, camera)
        if live_only:
            assert "preview" not in out["shown"].values(), f"{name}: live-only shows no green"


def test_deltas_change_only_their_lamps_and_gaps_ask_for_a_snapshot(
    results: dict[str, Any],
) -> None:
    deltas = [n for n, m in results["golden"].items() if m["type"] == "delta"]
    assert deltas
    for name in deltas:
        msg, out = results["golden"][name], results["out"][name]
        expected = {**out["before"]["lamps"], **_lamps(msg["lamps"])}
        assert out["lamps"] == expected, name
        assert out["after"]["seq"] == msg["seq"], name
        assert out["gap"] == {"needSnapshot": True, "lamps": out["before"]["lamps"]}, name
    # snapshot_mix (seq 17) then delta_bus (seq 18): camera 3 goes on air, 1 to preview.
    assert results["out"]["delta_bus.json"]["shown"] == {
        "1": "preview",
        "2": "off",
        "3": "program",
        "4": "off",
        "5": "program",
    }


def test_other_messages(results: dict[str, Any]) -> None:
    out = results["out"]
    assert out["lamp.json"]["lamps"]["3"] == "program"
    # Phone 2 gets the message for camera 2 and the one for everybody.
    assert out["message_one_camera.json"]["view"]["message"]["text"].startswith("Tighter")
    assert out["message_all_cameras.json"]["view"]["message"]["id"] == "m-0002"
    assert out["error.json"]["after"]["error"]["code"] == "invalid_message"
    flashes = {n: o["after"]["flashes"] for n, o in out.items() if n.startswith("flash")}
    if flashes:  # every phone flashes for null; only camera 3's for camera 3
        assert flashes == {"flash_all_cameras.json": 1, "flash_one_camera.json": 0}
    if "assign.json" in out:
        assert out["assign.json"]["fromCamera1"]["camera"] == 2
        assert out["assign.json"]["fromCamera1"]["lamps"] == out["assign.json"]["before"]["lamps"]
    for name, msg in results["golden"].items():
        if msg["type"] not in PHONE_TYPES or msg["type"] == "heartbeat":
            # Director-side messages and heartbeats change nothing on a phone.
            assert out[name]["after"] == out[name]["before"], name


def test_stale_view_never_claims_live(browser: Browser, web_cloud: CloudServer) -> None:
    with phone(browser) as (_, page):
        page.goto(f"{web_cloud.base_url}/tally")
        views = _views_through_a_drop(page, (GOLDEN / "snapshot_mix.json").read_text())
    connecting, live, dropped, reopened, resynced = views
    assert connecting["stale"] and not connecting["everSynced"]
    assert not live["stale"] and live["lamp"] == "preview"  # camera 3 in snapshot_mix
    assert dropped["stale"] and dropped["lamp"] == "preview", "last state, shown as stale"
    assert reopened["stale"], "open again but not resynced: still stale"
    assert not resynced["stale"]


def _views_through_a_drop(page: Page, snapshot: str) -> list[dict[str, Any]]:
    script = """
    async (snap) => {
      const src = document.querySelector('script[type="module"]').src;
      const m = await import(new URL("tally-state.js", src));
      const steps = [
        {type: "local.link", status: "open"}, snap, {type: "local.link", status: "closed"},
        {type: "local.link", status: "open"}, snap,
      ];
      let s = m.initialState(3);
      const views = [m.view(s)];
      for (const [i, step] of steps.entries()) {
        s = m.reduce(s, step);
        if (i !== 0) views.push(m.view(s));
      }
      const backoff = (await import(new URL("tally-link.js", src))).backoff;
      for (let a = 0; a < 12; a++) {
        for (const r of [0, 0.999]) {
          const d = backoff(a, () => r);
          if (d < 125 || d > 2000) throw new Error(`backoff ${a}: ${d} ms`);
          if (a >= 3 && d < 1000) throw new Error(`backoff ${a} hammers: ${d} ms`);
        }
      }
      return views;
    }
    """
    views: list[dict[str, Any]] = page.evaluate(script, json.loads(snapshot))
    return views
