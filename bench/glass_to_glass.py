"""Glass to glass: a frame's capture stamp to the moment Chromium displays it, per layer.

Run from the repository root:  python -m bench.glass_to_glass [--seconds 10] [--srt-latency-ms 20]

The real chain on loopback: `returnfeed send` (test pattern with a capture stamp drawn
into every frame, libx264, both layers) -> SRT -> `returnfeed-cloud` (gateway) -> WHEP ->
Debian's Chromium (headless, via Playwright) on the real /watch page. In the page a
requestVideoFrameCallback loop draws each presented frame to a canvas and reduces the stamp
area to its 40 block means; Python turns those back into the stamp with media.stamp's own
decoder. Latency = (performance.timeOrigin + expectedDisplayTime) - stamp, both wall-clock
milliseconds on this machine. Measured for hi, then for lo (the page's quality selector).
Prints JSON, writes bench/results/glass_to_glass.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench._common import start_cloud
from bench.viewers import new_show, udp_port
from media.stamp import COLUMNS, ROWS, age_ms, block_size, decode_stamp

RETURNFEED = Path(sys.executable).with_name("returnfeed")
RESULTS = Path(__file__).with_name("results")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--allow-loopback-in-peer-connection",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--autoplay-policy=no-user-gesture-required",
]

# Runs through CDP (page.evaluate), which the page's CSP does not govern.
COLLECT = """([cols, rows]) => {
  const video = document.getElementById("video");
  const canvas = document.createElement("canvas");
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  window.__g2g = [];
  const onFrame = (now, meta) => {
    const w = meta.width, h = meta.height;
    const b = Math.floor(w / cols);
    const x0 = ((w - cols * b) >> 1) & ~1;
    if (canvas.width !== w) { canvas.width = w; canvas.height = h; }
    ctx.drawImage(video, 0, 0, w, h);
    const px = ctx.getImageData(x0, 0, cols * b, rows * b).data;
    const lo = b >> 2, hi = b - (b >> 2);
    const means = [];
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) {
      let sum = 0, n = 0;
      for (let y = r * b + lo; y < r * b + hi; y++) for (let x = c * b + lo; x < c * b + hi; x++) {
        const i = (y * cols * b + x) * 4;
        sum += 0.299 * px[i] + 0.587 * px[i + 1] + 0.114 * px[i + 2];
        n++;
      }
      means.push(16 + (sum / n) * 219 / 255);
    }
    window.__g2g.push({ shown: performance.timeOrigin + meta.expectedDisplayTime,
      width: w, means });
    video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);
}"""


def stamp_of(means: list[float]) -> int | None:
    grid = np.asarray(means, dtype=np.float32).reshape(ROWS, COLUMNS)
    b = block_size(COLUMNS * 8)
    luma = np.kron(grid, np.ones((b, b), dtype=np.float32)).astype(np.uint8)
    return decode_stamp(luma)


def collect(page: Any, seconds: float) -> dict[str, Any]:
    page.evaluate(COLLECT, [COLUMNS, ROWS])
    time.sleep(seconds)
    samples = page.evaluate("window.__g2g.splice(0)")
    ages = []
    widths = set()
    for s in samples:
        value = stamp_of(s["means"])
        if value is None:
            continue
        widths.add(s["width"])
        ages.append(age_ms(value, int(s["shown"]) % (1 << 32)))
    ages.sort()
    if not ages:
        return {"frames": len(samples), "stamped": 0}
    return {
        "frames": len(samples),
        "stamped": len(ages),
        "widths": sorted(widths),
        "median_ms": statistics.median(ages),
        "p95_ms": ages[int(0.95 * (len(ages) - 1))],
        "min_ms": ages[0],
        "max_ms": ages[-1],
    }


def main() -> None:
    from playwright.sync_api import sync_playwright

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--srt-latency-ms", type=int, default=20)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        srt_port = udp_port()
        server, base = start_cloud(
            work,
            f"sqlite:///{work / 'rf.db'}",
            "--srt-port",
            str(srt_port),
            "--srt-latency-ms",
            str(args.srt_latency_ms),
        )
        show = new_show(base)
        env = {
            "RETURNFEED_SRT_PASSPHRASE": show["srt"]["passphrase"],
            "RETURNFEED_PUBLISH_TOKEN": show["srt"]["publish_token"],
            "PATH": "/usr/bin:/bin",
        }
        argv = [str(RETURNFEED), "send", "--source", "test:G2G", "--encoder", "libx264"]
        argv += ["--srt-url", f"srt://127.0.0.1:{srt_port}", f"--session={show['session']}"]
        argv += ["--latency-ms", str(args.srt_latency_ms)]
        send = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(
                    executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
                )
                page = browser.new_page(viewport={"width": 800, "height": 600})
                page.goto(f"{base}/watch#{show['invite']}")
                try:
                    page.wait_for_selector(
                        "body[data-state='playing']", state="attached", timeout=30_000
                    )
                except Exception as exc:
                    seen = page.evaluate("JSON.stringify(document.body.dataset)")
                    raise SystemExit(f"the page never played: {seen}") from exc
                time.sleep(2)
                hi = collect(page, args.seconds)
                page.select_option("#quality", "low")
                time.sleep(3)
                lo = collect(page, args.seconds)
                browser.close()
        finally:
            send.terminate()
            send.wait(10)
            server.stop()
    out = {
        "machine": platform.node(),
        "cpus": os.cpu_count(),
        "srt_latency_ms": args.srt_latency_ms,
        "hi": hi,
        "lo": lo,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "glass_to_glass.json").write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
