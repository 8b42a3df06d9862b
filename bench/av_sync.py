"""Lip sync: how far the viewer's sound is from its picture, with and without the page's
"lip sync" choice, and what the choice costs in picture latency.

Run from the repository root:

    python -m bench.av_sync [--seconds 30] [--plot]

The real chain on loopback: `returnfeed send --source sync:Sync` (a dark picture with a white
frame every 0.8, 1.1, 1.4 s in turn and a 5 ms click at the first sample of that frame's tick:
media/sources/syncflash.py, media/audio/click.py; libx264 + Opus, both layers) -> SRT ->
`returnfeed-cloud` (gateway) -> WHEP -> Debian's Chromium (headless, via Playwright) on the
real /watch page, hi layer.

In the page (a probe added through CDP; the context bypasses the page's CSP only so that
the probe may load its AudioWorklet from a blob):
- picture: a requestVideoFrameCallback loop draws every presented frame small to a canvas;
  the first white frame of a run is a flash, at its `expectedDisplayTime` (when the
  compositor puts it on screen).
- sound: the page's own MediaStream goes into an AudioContext; an AudioWorklet finds the
  first sample above 0.1 after 300 ms of quiet, at context time t; getOutputTimestamp()
  pairs a context time with the performance.now() at which the output device plays it, so
  the click is heard at performanceTime + (t - contextTime).
- offset = sound - picture per flash (paired with its own click by the cycle of gaps):
  positive = the sound comes late. ITU-R BT.1359 detectability: -45 (ahead) .. +125 (late).

What the sound figure includes: everything from the sender's clock to the WebAudio graph's
output: Opus (20 ms frames, its look-ahead), SRT, the gateway, NetEq's buffer, the copy of
the received audio into the AudioContext (a FIFO of up to one render buffer) and the
AudioContext's output latency as Chromium reports it. What it leaves out: the <video>
element plays the same audio through its own renderer, a few ms earlier than the WebAudio
copy (so the true offset is, if anything, a little smaller than measured), and any
loudspeaker or Bluetooth latency after the output device (headless here: a fake device).
The picture figure leaves out the display's own scan-out.

Latency cost of lip sync: everything before Chromium receives a frame is the same in both
modes (one chain, one sender), so the cost is the change in the flash frames' receive ->
display time (rVFC receiveTime -> expectedDisplayTime), reported with Chromium's own
jitter-buffer figures.

Prints JSON and writes bench/results/av_sync.json (and av_sync.png with --plot). Both ends
and the browser share this machine's cores: quote the load with the numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from bench._common import start_cloud
from bench.glass_to_glass import (
    CHROMIUM_ARGS,
    RECEIVER_STATS,
    leave,
    new_show,
    receiver_delays,
    sender_env,
    summary,
    wait_live,
)
from bench.viewers import udp_port
from media.ndi_test_sender import NdiTestSender
from tests.support.browser import KEEP_PEER_CONNECTIONS

RETURNFEED = Path(sys.executable).with_name("returnfeed")
RESULTS = Path(__file__).with_name("results")
WINDOW_MS = (-45.0, 125.0)  # BT.1359 detectability: sound at most 45 ms ahead, 125 ms late
MAX_OFFSET_MS = 1500.0  # under half the gaps' cycle (3.3 s), which would alias
TOLERANCE_MS = 120.0  # under the gaps' smallest difference (300 ms) / 2


# Runs through CDP; the context has bypass_csp so that addModule may load a blob.
PROBE = """async () => {
  const video = document.getElementById("video");
  const out = { flashes: [], clicks: [], audio: null };
  window.__av = out;
  const canvas = document.createElement("canvas");
  canvas.width = 16;
  canvas.height = 9;
  const g = canvas.getContext("2d", { willReadFrequently: true });
  let bright = false;
  const onFrame = (now, meta) => {
    g.drawImage(video, 0, 0, 16, 9);
    const px = g.getImageData(0, 0, 16, 9).data;
    let sum = 0;
    for (let i = 1; i < px.length; i += 4) sum += px[i];
    const white = sum / (px.length / 4) > 128;
    if (white && !bright) {
      out.flashes.push({ shown: meta.expectedDisplayTime, received: meta.receiveTime || null });
    }
    bright = white;
    video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);
  const ctx = new AudioContext({ latencyHint: "interactive" });
  const code = `registerProcessor("rf-click", class extends AudioWorkletProcessor {
    constructor() { super(); this.quiet = 1e9; }
    process(inputs) {
      const ch = inputs[0] && inputs[0][0];
      if (!ch) return true;
      for (let i = 0; i < ch.length; i++) {
        if (Math.abs(ch[i]) > 0.1) {
          if (this.quiet > 0.3 * sampleRate) this.port.postMessage(currentTime + i / sampleRate);
          this.quiet = 0;
        } else this.quiet++;
      }
      return true;
    }
  });`;
  const url = URL.createObjectURL(new Blob([code], { type: "text/javascript" }));
  await ctx.audioWorklet.addModule(url);
  const node = new AudioWorkletNode(ctx, "rf-click");
  const silent = ctx.createGain();
  silent.gain.value = 0;
  node.connect(silent).connect(ctx.destination);
  node.port.onmessage = (event) => {
    const ts = ctx.getOutputTimestamp();
    out.clicks.push({
      heard: ts.performanceTime + (event.data - ts.contextTime) * 1000,
      context: event.data,
    });
  };
  let source = null;
  let stream = null;
  const attach = () => {
    const s = video.srcObject;
    if (!s || s === stream || !s.getAudioTracks().length) return;
    if (source) source.disconnect();
    stream = s;
    source = ctx.createMediaStreamSource(s);
    source.connect(node);
  };
  attach();
  setInterval(attach, 100);
  await ctx.resume();
  out.audio = { sampleRate: ctx.sampleRate, baseLatency: ctx.baseLatency,
    outputLatency: ctx.outputLatency };
}"""


def pair(flashes: list[dict[str, Any]], clicks: list[dict[str, Any]]) -> list[dict[str, float]]:
    """Each flash with its own click: offset = sound - picture. The flashes' gaps cycle
    (0.8, 1.1, 1.4 s), so the lag that lines most flashes up with a click (within
    TOLERANCE_MS, which allows for drift) is the true one, however late the sound is, and
    a flash the page did not present (a dropped frame) costs one event, not the pairing."""
    shown = [float(f["shown"]) for f in flashes]
    heard = [float(c["heard"]) for c in clicks]

    def nearest(t: float) -> float | None:
        near = min(heard, key=lambda h: abs(h - t), default=None)
        return near if near is not None and abs(near - t) <= TOLERANCE_MS else None

    lags = [h - t for t in shown for h in heard if abs(h - t) <= MAX_OFFSET_MS]
    if not lags:
        return []
    lag = max(lags, key=lambda d: (sum(nearest(t + d) is not None for t in shown), -abs(d)))
    events = []
    for f, t in zip(flashes, shown, strict=True):
        h = nearest(t + lag)
        if h is None:
            continue
        event = {"offset_ms": round(h - t, 2)}
        if f.get("received"):
            event["receive_to_display_ms"] = round(t - float(f["received"]), 2)
        events.append(event)
    return events


def measure(page: Any, seconds: float) -> dict[str, Any]:
    page.evaluate("window.__av.flashes.splice(0); window.__av.clicks.splice(0)")
    before = page.evaluate(RECEIVER_STATS)
    time.sleep(seconds)
    seen = page.evaluate(
        "({ flashes: window.__av.flashes.splice(0), "
        "clicks: window.__av.clicks.splice(0), audio: window.__av.audio })"
    )
    after = page.evaluate(RECEIVER_STATS)
    events = pair(seen["flashes"], seen["clicks"])
    offsets = [e["offset_ms"] for e in events]
    display = [e["receive_to_display_ms"] for e in events if "receive_to_display_ms" in e]
    inside = [o for o in offsets if WINDOW_MS[0] <= o <= WINDOW_MS[1]]
    return {
        "flashes": len(seen["flashes"]),
        "clicks": len(seen["clicks"]),
        "paired": len(events),
        "offset": summary(offsets),
        "within_bt1359": f"{len(inside)}/{len(offsets)}",
        "flash_receive_to_display": summary(display),
        "receiver": receiver_delays(before, after),
        "audio_context": seen["audio"],
        "offsets_ms": offsets,
        "flashes_shown_ms": [round(float(f["shown"]), 1) for f in seen["flashes"]],
        "clicks_heard_ms": [round(float(c["heard"]), 1) for c in seen["clicks"]],
    }


def set_lip_sync(page: Any, on: bool) -> None:
    if page.evaluate("document.body.dataset.lipSync") != ("on" if on else "off"):
        page.click("#lipsync")
    page.wait_for_selector("body[data-state='playing']", state="attached", timeout=30_000)


@contextmanager
def chain(work: Path, latency_ms: int, source: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """A backend and `returnfeed send` with the sync source; the base URL and the show."""
    srt_port = udp_port()
    server, base = start_cloud(
        work, f"sqlite:///{work / 'rf.db'}", "--srt-port", str(srt_port),
        "--srt-latency-ms", str(latency_ms),
    )  # fmt: skip
    send = None
    try:
        show = new_show(base)
        env = sender_env(show)
        argv = [str(RETURNFEED), "send", "--source", source, "--encoder", "libx264"]
        argv += ["--srt-url", f"srt://127.0.0.1:{srt_port}", f"--session={show['session']}"]
        argv += ["--latency-ms", str(latency_ms), "--cloud", base]
        if source.startswith("ndi:"):
            argv += ["--ndi-extra-ips", "127.0.0.1"]
        log = (work / "send.log").open("wb")
        send = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
        wait_live(base, show)
        yield base, show
    finally:
        if send is not None:
            send.terminate()
            send.wait(10)
        server.stop()


def run_modes(
    browser: Any, base: str, invite: str, seconds: float, settle_s: float
) -> dict[str, Any]:
    context = browser.new_context(viewport={"width": 800, "height": 600}, bypass_csp=True)
    context.add_init_script(KEEP_PEER_CONNECTIONS)
    page = context.new_page()
    modes: dict[str, Any] = {}
    try:
        page.goto(f"{base}/watch#{invite}")
        page.wait_for_selector("body[data-state='playing']", state="attached", timeout=30_000)
        page.evaluate(PROBE)
        for name, on in (("unsynced", False), ("synced", True)):
            set_lip_sync(page, on)
            time.sleep(settle_s)  # past the join and NetEq/Chromium sync settling
            modes[name] = measure(page, seconds)
    finally:
        page.evaluate("window.__leave = undefined")
        leave(page, base)
        context.close()
    return modes


def plot(out: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4))
    for name, run in out["modes"].items():
        values = run["offsets_ms"]
        if values:
            label = f"{name}: p50 {run['offset']['p50_ms']} / p95 {run['offset']['p95_ms']} ms"
            ax.hist(values, bins=30, alpha=0.6, label=label)
    for edge in WINDOW_MS:
        ax.axvline(edge, color="red", linestyle="--", linewidth=1)
    ax.axvspan(-20, 20, color="green", alpha=0.08, label="aim: ±20 ms")
    ax.set_xlabel("sound - picture (ms): positive = sound late; red: BT.1359 detectability")
    ax.set_ylabel("flashes")
    ax.set_title(f"lip sync on /watch, source {out['source']}")
    ax.legend(fontsize=8)
    fig.suptitle(f"{out['machine']} ({out['cpus']} CPUs, load {out['loadavg']})", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main() -> None:
    from playwright.sync_api import sync_playwright

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seconds", type=float, default=30.0, help="per mode (one flash a second)")
    p.add_argument("--settle", type=float, default=8.0, help="seconds after each (re)join")
    p.add_argument("--latency-ms", type=int, default=20, help="SRT latency, both sides")
    p.add_argument("--source", default="sync:Sync", help="the sender's --source")
    p.add_argument(
        "--ndi",
        action="store_true",
        help="the flash and click come from an NDI sender on this machine (ndi-test --sync: "
        "the same NDI timestamp on both) instead of the switcher's own sync source",
    )
    p.add_argument("--plot", action="store_true", help="also write av_sync.png")
    p.add_argument("--out", type=Path, default=RESULTS / "av_sync.json")
    args = p.parse_args()
    with ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory())
        if args.ndi:
            sender = NdiTestSender(f"AV sync {os.getpid()}", sync=True, tone_hz=0, fps=60)
            sender.start()
            stack.callback(sender.stop)
            args.source = f"ndi:{sender.name}"
        pw = stack.enter_context(sync_playwright())
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        stack.callback(browser.close)
        with chain(Path(tmp), args.latency_ms, args.source) as (base, show):
            modes = run_modes(browser, base, show["invite"], args.seconds, args.settle)
    cost = None
    u, s = (modes[m]["flash_receive_to_display"]["p50_ms"] for m in ("unsynced", "synced"))
    if u is not None and s is not None:
        cost = round(s - u, 1)
    out = {
        "machine": platform.node(),
        "cpus": os.cpu_count(),
        "loadavg": Path("/proc/loadavg").read_text().split()[:3],
        "source": args.source,
        "srt_latency_ms": args.latency_ms,
        "window_ms": WINDOW_MS,
        "modes": modes,
        "lip_sync_picture_cost_ms": cost,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    if args.plot:
        plot(out, args.out.with_suffix(".png"))
    brief = json.loads(json.dumps(out))
    for run in brief["modes"].values():
        run["offsets_ms"] = f"{len(run['offsets_ms'])} values"
    print(json.dumps(brief, indent=2))


if __name__ == "__main__":
    main()
