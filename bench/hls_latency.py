"""HLS glass to glass: capture stamp to Chromium's display, through the backend's HLS.

Run from the repository root:

    python -m bench.hls_latency [--seconds 20] [--plot]

The real chain on loopback: `returnfeed send` (test pattern with a capture stamp in every
frame, libx264, GOP 2 s) -> SRT -> `returnfeed-cloud` (gateway -> recorder -> ~2 s
fragmented-MP4 segments) -> an audience link's `/hls/{session}/a/{token}/index.m3u8` ->
hls.js 1.7.4 (vendored, cloud/web/shared/hls.light.min.js, default settings: it starts three target
durations behind the live edge) in Debian's Chromium (headless, via Playwright). The stamp
is read from each presented frame as bench/glass_to_glass.py does (requestVideoFrameCallback,
the same canvas reduction and decoder); latency = presentation wall clock - stamp.
Then "scrub back 30 s": `--scrubs` times, from the live edge, a seek 30 s back (or to the
window's start) timed from setting currentTime to the first frame presented after it.

Prints JSON and writes bench/results/hls_latency.json (and hls_latency.png with --plot).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.glass_to_glass import CHROMIUM_ARGS, RESULTS, chain, collect, summary

HLS_JS = Path(__file__).parents[1] / "cloud" / "web" / "shared" / "hls.light.min.js"
PLAY = """(url) => new Promise((resolve, reject) => {
  const video = document.getElementById("video");
  const hls = new Hls();
  window.__hls = hls;
  hls.on(Hls.Events.ERROR, (e, data) => { if (data.fatal) reject(data.details); });
  hls.loadSource(url);
  hls.attachMedia(video);
  video.muted = true;
  video.addEventListener("playing", () => resolve(performance.now()), { once: true });
  video.play().catch(() => {});
})"""


def audience_url(base: str, show: dict[str, Any]) -> str:
    with httpx.Client(base_url=base, timeout=10) as c:
        r = c.post(
            f"/api/sessions/{show['session']}/audience",
            json={},
            headers={"Authorization": f"Bearer {show['access']}"},
        )
        r.raise_for_status()
        url: str = r.json()["url"]
        return url


def wait_segments(url: str, count: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = httpx.get(url)
        if r.status_code == 200 and r.text.count(".m4s") >= count:
            return
        time.sleep(0.2)
    raise SystemExit(f"the playlist never had {count} segments")


# Seek `back` seconds behind the playable end; resolves with ms from the seek to the first
# frame presented after it (requestVideoFrameCallback), in the page's clock.
SCRUB = """(back) => new Promise((resolve) => {
  const video = document.getElementById("video");
  const s = video.seekable;
  const target = Math.max(s.start(0), s.end(s.length - 1) - back);
  const asked = performance.now();
  video.addEventListener("seeked", () => {
    video.requestVideoFrameCallback((now, meta) =>
      resolve({ ms: meta.expectedDisplayTime - asked, to: target, end: s.end(s.length - 1) }));
  }, { once: true });
  video.currentTime = target;
})"""


def scrub_back(page: Any, back_s: float, times: int) -> dict[str, Any]:
    """`times` seeks of `back_s` behind live, each timed to its first presented frame."""
    samples = []
    for _ in range(times):
        page.evaluate("document.getElementById('video').currentTime = 1e9")  # to the edge
        time.sleep(1.5)
        samples.append(float(page.evaluate(SCRUB, back_s)["ms"]))
    return {"back_s": back_s, **summary(samples), "samples_ms": samples}


def measure(browser: Any, url: str, seconds: float, scrubs: int) -> dict[str, Any]:
    context = browser.new_context(viewport={"width": 800, "height": 600})
    page = context.new_page()
    try:
        page.set_content('<video id="video" playsinline></video>')
        page.add_script_tag(path=str(HLS_JS))
        started = time.monotonic()
        page.evaluate(PLAY, url)
        startup_s = time.monotonic() - started
        time.sleep(2)
        result = collect(page, seconds)
        result.pop("receiver", None)  # WebRTC counters: none here
        result["startup_s"] = round(startup_s, 2)
        if scrubs:
            result["scrub_back"] = scrub_back(page, 30.0, scrubs)
        return result
    finally:
        context.close()


def plot(out: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.hist(out["samples_ms"], bins=40)
    ax.set_title(f"HLS glass to glass, p50 {out['p50_ms']} / p95 {out['p95_ms']} ms")
    ax.set_xlabel("stamp to display (ms)")
    ax.set_ylabel("frames")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main() -> None:
    from playwright.sync_api import sync_playwright

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seconds", type=float, default=20.0, help="how long to read stamps")
    p.add_argument("--scrubs", type=int, default=10, help="seeks 30 s back, timed")
    p.add_argument("--plot", action="store_true", help="also write hls_latency.png")
    p.add_argument("--out", type=Path, default=RESULTS / "hls_latency.json")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            with chain(Path(tmp), 20, True) as (base, show):
                url = audience_url(base, show)
                wait_segments(url, 4)
                result = measure(browser, url, args.seconds, args.scrubs)
        finally:
            browser.close()
    out = {
        "machine": platform.node(),
        "cpus": os.cpu_count(),
        "loadavg": Path("/proc/loadavg").read_text().split()[:3],
        "player": "hls.js 1.7.4 defaults, Chromium headless",
        **result,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    if args.plot:
        plot(out, args.out.with_suffix(".png"))
    brief = {**out, "samples_ms": f"{len(out['samples_ms'])} values"}
    if "scrub_back" in out:
        brief["scrub_back"] = {**out["scrub_back"], "samples_ms": f"{args.scrubs} values"}
    print(json.dumps(brief, indent=2))


if __name__ == "__main__":
    main()
