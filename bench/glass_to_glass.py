"""Glass to glass and fast start: capture stamp to Chromium's display, per layer, and how
long a new viewer waits for its first frame.

Run from the repository root:

    python -m bench.glass_to_glass [--seconds 10] [--latencies 20,5] [--joins 20] [--plot]

The real chain on loopback: `returnfeed send` (test pattern with a capture stamp drawn into
every frame, libx264, both layers; with `--cloud` and the director's token, so viewers'
keyframe requests are answered, unless `--no-relay`) -> SRT -> `returnfeed-cloud` (gateway)
-> WHEP -> Debian's Chromium (headless, via Playwright) on the real /watch page, set to
"Picture first" (as the phones' tally page plays it): the viewer page's default, lip sync,
holds the picture for the sound, and bench/av_sync.py measures what that costs.

Glass to glass, one backend and one sender per SRT latency (both sides set to it): a
requestVideoFrameCallback loop draws each presented frame to a canvas and reduces the stamp
area to its 40 block means; Python turns those back into the stamp with media.stamp's own
decoder. Latency = (performance.timeOrigin + expectedDisplayTime) - stamp, both wall-clock
milliseconds on this machine. Measured for hi, then for lo (the page's quality selector).

Time to first frame, over `--joins` joins at the first SRT latency: each join is a fresh
browser context (no storage: it redeems the invite again) on a fresh /watch page, so a
fresh peer connection. An init script (Playwright, before the page's own scripts) stamps
`performance.now()` when the page creates its RTCPeerConnection - the moment the page
starts connecting - and at each step after it; the first requestVideoFrameCallback gives
the first presented frame's expectedDisplayTime. Time to first frame = expectedDisplayTime
- RTCPeerConnection creation, in the page's own clock. Inviting, redeeming and the status
call before it are not counted (the page does them once, and they are not the video path).
The steps are reported too: offer and ICE gathering up to the POST, POST -> answer (the
gateway's aiortc answer),
answer -> connected (ICE + DTLS), connected -> last packet of the first frame received
(keyframe request round trip + encoder + SRT + demux + send), and received -> displayed
(Chromium's decode and render).

Prints JSON and writes bench/results/glass_to_glass.json (and glass_to_glass.png with
--plot). Run it on a quiet machine: both ends and the browser share its cores.
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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from bench._common import start_cloud
from bench.viewers import udp_port
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
      received: meta.receiveTime === undefined ? null : performance.timeOrigin + meta.receiveTime,
      width: w, means });
    video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);
}"""

# Before the page's scripts (Playwright init script): when each step of the first peer
# connection happens, in performance.now() milliseconds.
JOIN_PROBE = """(() => {
  const Native = window.RTCPeerConnection;
  const t = {};
  window.__join = t;
  const at = (name) => { if (t[name] === undefined) t[name] = performance.now(); };
  window.__pcs = [];
  window.RTCPeerConnection = function (...args) {
    const pc = new Native(...args);
    window.__pcs.push(pc);
    if (t.created !== undefined) return pc;
    at("created");
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") at("gathered");
    });
    pc.addEventListener("connectionstatechange", () => {
      if (pc.connectionState === "connected") at("connected");
    });
    const setLocal = pc.setLocalDescription.bind(pc);
    pc.setLocalDescription = (...a) => { at("offered"); return setLocal(...a); };
    const setRemote = pc.setRemoteDescription.bind(pc);
    pc.setRemoteDescription = (...a) => { at("answered"); return setRemote(...a); };
    const first = () => {
      const video = document.getElementById("video");
      video.requestVideoFrameCallback((now, meta) => {
        t.received = meta.receiveTime;
        t.shown = meta.expectedDisplayTime;
        t.callback = now;
      });
    };
    if (document.getElementById("video")) first();
    else addEventListener("DOMContentLoaded", first);
    return pc;
  };
  window.RTCPeerConnection.prototype = Native.prototype;
  const nativeFetch = window.fetch.bind(window);
  window.__leave = {};
  window.fetch = (url, opts) => {
    const whep = opts && opts.method === "POST" && /^\\/whep\\/[^/]+$/.test(url);
    if (t.created !== undefined && whep) {
      at("posted");
      window.__leave.auth = opts.headers.Authorization;
      return nativeFetch(url, opts).then((r) => {
        window.__leave.location = r.headers.get("Location");
        return r;
      });
    }
    return nativeFetch(url, opts);
  };
})();"""

STEPS = (  # (name, from, to): the parts of a join, in order; they add up to the total
    ("offer_and_gathering_ms", "created", "posted"),
    ("post_to_answer_ms", "posted", "answered"),
    ("ice_dtls_ms", "answered", "connected"),
    ("connected_to_received_ms", "connected", "received"),
    ("decode_render_ms", "received", "shown"),
    ("gathering_complete_ms", "created", "gathered"),  # for comparison: the page does not wait
)


# The viewer page's choice, as a viewer who picked "Picture first" has it stored.
PICTURE_FIRST = 'try { localStorage.setItem("returnfeed.lipSync", "off"); } catch (e) {}'


def stamp_of(means: list[float]) -> int | None:
    grid = np.asarray(means, dtype=np.float32).reshape(ROWS, COLUMNS)
    b = block_size(COLUMNS * 8)
    luma = np.kron(grid, np.ones((b, b), dtype=np.float32)).astype(np.uint8)
    return decode_stamp(luma)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(samples: list[float]) -> dict[str, Any]:
    if not samples:
        return {"p50_ms": None, "p95_ms": None, "min_ms": None, "max_ms": None}
    return {
        "p50_ms": round(statistics.median(samples), 1),
        "p95_ms": round(percentile(samples, 0.95), 1),
        "min_ms": round(min(samples), 1),
        "max_ms": round(max(samples), 1),
    }


# Chromium's receive-side counters (inbound-rtp), cumulative: read before and after a run.
RECEIVER_STATS = """async () => {
  const out = {};
  for (const pc of window.__pcs || []) {
    if (pc.connectionState !== "connected") continue;
    (await pc.getStats()).forEach((s) => {
      if (s.type === "inbound-rtp") out[s.kind] = s;
    });
  }
  return out;
}"""
DELAYS = (  # (name, kind, cumulative seconds, cumulative count): a mean per frame or sample
    ("video_jitter_buffer_ms", "video", "jitterBufferDelay", "jitterBufferEmittedCount"),
    ("video_jitter_target_ms", "video", "jitterBufferTargetDelay", "jitterBufferEmittedCount"),
    ("video_jitter_minimum_ms", "video", "jitterBufferMinimumDelay", "jitterBufferEmittedCount"),
    ("video_processing_ms", "video", "totalProcessingDelay", "framesDecoded"),
    ("video_decode_ms", "video", "totalDecodeTime", "framesDecoded"),
    ("audio_jitter_buffer_ms", "audio", "jitterBufferDelay", "jitterBufferEmittedCount"),
    ("audio_jitter_target_ms", "audio", "jitterBufferTargetDelay", "jitterBufferEmittedCount"),
)


def receiver_delays(before: dict[str, Any], after: dict[str, Any]) -> dict[str, float | None]:
    """Chromium's own account of the run: mean jitter-buffer delay (and the target it aimed
    for, and the minimum it would aim for without A/V sync or a set target), decode."""
    out: dict[str, float | None] = {}
    for name, kind, total, count in DELAYS:
        a, b = before.get(kind, {}), after.get(kind, {})
        n = b.get(count, 0) - a.get(count, 0)
        spent = b.get(total, 0.0) - a.get(total, 0.0)
        out[name] = round(1000 * spent / n, 1) if n > 0 and total in b else None
    video = after.get("video", {})
    out["video_fps"] = video.get("framesPerSecond")
    return out


def collect(page: Any, seconds: float) -> dict[str, Any]:
    page.evaluate(COLLECT, [COLUMNS, ROWS])
    before = page.evaluate(RECEIVER_STATS)
    time.sleep(seconds)
    samples = page.evaluate("window.__g2g.splice(0)")
    after = page.evaluate(RECEIVER_STATS)
    ages: list[float] = []
    widths = set()
    for s in samples:
        value = stamp_of(s["means"])
        if value is None:
            continue
        widths.add(s["width"])
        ages.append(float(age_ms(value, int(s["shown"]) % (1 << 32))))
    return {
        "frames": len(samples),
        "stamped": len(ages),
        "widths": sorted(widths),
        **summary(ages),
        "receiver": receiver_delays(before, after),
        "samples_ms": ages,
    }


def new_show(base: str) -> dict[str, Any]:
    """A session with a viewer invite; the director's access token for `send --cloud`."""
    with httpx.Client(base_url=base, timeout=10) as c:
        email = f"g2g-{os.getpid()}-{time.time_ns()}@example.com"
        r = c.post(
            "/api/auth/register",
            json={"email": email, "password": "correct horse battery", "display_name": "B"},
        )
        r.raise_for_status()
        access = r.json()["tokens"]["access_token"]
        auth = {"Authorization": f"Bearer {access}"}
        made = c.post("/api/sessions", json={"name": "g2g", "cameras": []}, headers=auth)
        made.raise_for_status()
        session = made.json()["id"]
        srt = c.get(f"/api/sessions/{session}/srt", headers=auth).json()
        link = c.post(f"/api/sessions/{session}/invites", json={"role": "viewer"}, headers=auth)
        link.raise_for_status()
        return {"session": session, "srt": srt, "invite": link.json()["token"], "access": access}


def sender_env(show: dict[str, Any]) -> dict[str, str]:
    """`returnfeed send`'s secrets for `show` (from new_show), in the environment as it
    wants them, never on its command line."""
    return {
        "RETURNFEED_SRT_PASSPHRASE": show["srt"]["passphrase"],
        "RETURNFEED_PUBLISH_TOKEN": show["srt"]["publish_token"],
        "RETURNFEED_DIRECTOR_TOKEN": show["access"],
        "PATH": "/usr/bin:/bin",
    }


@contextmanager
def chain(work: Path, latency_ms: int, relay: bool) -> Iterator[tuple[str, dict[str, Any]]]:
    """A backend and a sender at this SRT latency; yields the base URL and the show."""
    srt_port = udp_port()
    server, base = start_cloud(
        work,
        f"sqlite:///{work / f'rf-{latency_ms}.db'}",
        "--srt-port",
        str(srt_port),
        "--srt-latency-ms",
        str(latency_ms),
    )
    send = None
    try:
        show = new_show(base)
        env = sender_env(show)
        argv = [str(RETURNFEED), "send", "--source", "test:G2G", "--encoder", "libx264"]
        argv += ["--srt-url", f"srt://127.0.0.1:{srt_port}", f"--session={show['session']}"]
        argv += ["--latency-ms", str(latency_ms)]
        if relay:
            argv += ["--cloud", base]
        log = (work / f"send-{latency_ms}.log").open("wb")
        send = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
        wait_live(base, show)
        yield base, show
    finally:
        if send is not None:
            send.terminate()
            send.wait(10)
        server.stop()


def wait_live(base: str, show: dict[str, Any], timeout: float = 30) -> None:
    with httpx.Client(base_url=base, timeout=5) as c:
        joined = c.post("/api/invites/redeem", json={"token": show["invite"]}).json()
        auth = {"Authorization": f"Bearer {joined['participant_token']}"}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = c.get(f"/whep/{show['session']}/status", headers=auth).json()
            if status.get("live") and len(status.get("layers", [])) == 2:
                return
            time.sleep(0.1)
    raise SystemExit("the sender never went live")


def glass_to_glass(browser: Any, base: str, invite: str, seconds: float) -> dict[str, Any]:
    context = browser.new_context(viewport={"width": 800, "height": 600})
    context.add_init_script(PICTURE_FIRST)
    context.add_init_script(JOIN_PROBE)
    page = context.new_page()
    try:
        page.goto(f"{base}/watch#{invite}")
        try:
            page.wait_for_selector("body[data-state='playing']", state="attached", timeout=30_000)
        except Exception as exc:
            seen = page.evaluate("JSON.stringify(document.body.dataset)")
            raise SystemExit(f"the page never played: {seen}") from exc
        time.sleep(2)
        hi = collect(page, seconds)
        page.select_option("#quality", "low")
        time.sleep(3)
        lo = collect(page, seconds)
    finally:
        leave(page, base)
        context.close()
    return {"hi": hi, "lo": lo}


def leave(page: Any, base: str) -> None:
    """DELETE the page's viewer: closing a page need not run its pagehide handler, and a
    viewer left behind would go on costing the gateway until its ICE times out."""
    seen = page.evaluate("window.__leave || {}")
    if seen.get("location") and seen.get("auth"):
        httpx.delete(base + seen["location"], headers={"Authorization": seen["auth"]}, timeout=5)


def first_frames(browser: Any, base: str, invite: str, joins: int) -> dict[str, Any]:
    totals: list[float] = []
    steps: dict[str, list[float]] = {name: [] for name, _, _ in STEPS}
    failed = 0
    for _ in range(joins):
        context = browser.new_context(viewport={"width": 800, "height": 600})
        context.add_init_script(PICTURE_FIRST)
        context.add_init_script(JOIN_PROBE)
        page = context.new_page()
        try:
            page.goto(f"{base}/watch#{invite}")
            deadline = time.monotonic() + 15
            t: dict[str, float] = {}
            while time.monotonic() < deadline:
                t = page.evaluate("window.__join || {}")
                if "shown" in t:
                    break
                time.sleep(0.05)
            if "shown" not in t or "created" not in t:
                failed += 1
                continue
            totals.append(t["shown"] - t["created"])
            for name, start, end in STEPS:
                if start in t and end in t:
                    steps[name].append(t[end] - t[start])
        finally:
            leave(page, base)
            context.close()
        time.sleep(0.7)  # past the gateway's per-layer keyframe request interval
    return {
        "joins": joins,
        "failed": failed,
        **{k: v for k, v in summary(totals).items() if k in ("p50_ms", "p95_ms")},
        "samples_ms": [round(v, 1) for v in totals],
        "steps": {name: summary(values) | {"n": len(values)} for name, values in steps.items()},
    }


def plot(out: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = out["runs"]
    fig, axes = plt.subplots(1, len(runs) + 1, figsize=(5 * (len(runs) + 1), 4))
    for ax, run in zip(axes, runs, strict=False):
        for layer in ("hi", "lo"):
            values = run[layer]["samples_ms"]
            if values:
                ax.hist(values, bins=40, alpha=0.6, label=f"{layer} p50 {run[layer]['p50_ms']} ms")
        ax.axvline(40, color="grey", linestyle="--", linewidth=1)
        ax.set_title(f"glass to glass, SRT latency {run['srt_latency_ms']} ms")
        ax.set_xlabel("stamp to display (ms)")
        ax.set_ylabel("frames")
        ax.legend()
    ff = out["first_frame"]
    ax = axes[-1]
    ax.plot(range(1, len(ff["samples_ms"]) + 1), ff["samples_ms"], "o-")
    ax.axhline(300, color="grey", linestyle="--", linewidth=1)
    ax.set_title(f"time to first frame, p50 {ff['p50_ms']} / p95 {ff['p95_ms']} ms")
    ax.set_xlabel("join")
    ax.set_ylabel("peer connection created to first frame shown (ms)")
    ax.set_ylim(bottom=0)
    fig.suptitle(f"{out['machine']} ({out['cpus']} CPUs, load {out['loadavg']})")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main() -> None:
    from playwright.sync_api import sync_playwright

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seconds", type=float, default=10.0, help="per layer and SRT latency")
    p.add_argument("--latencies", default="20,5", help="SRT latencies to run (ms)")
    p.add_argument("--joins", type=int, default=20, help="joins timed for the first frame")
    p.add_argument("--no-relay", action="store_true", help="send without --cloud")
    p.add_argument("--plot", action="store_true", help="also write glass_to_glass.png")
    p.add_argument("--out", type=Path, default=RESULTS / "glass_to_glass.json")
    args = p.parse_args()
    latencies = [int(v) for v in args.latencies.split(",") if v.strip()]
    runs = []
    first: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            for i, latency in enumerate(latencies):
                with chain(Path(tmp), latency, not args.no_relay) as (base, show):
                    if i == 0 and args.joins:
                        first = first_frames(browser, base, show["invite"], args.joins)
                        first["srt_latency_ms"] = latency
                    layers = glass_to_glass(browser, base, show["invite"], args.seconds)
                runs.append({"srt_latency_ms": latency, **layers})
        finally:
            browser.close()
    out = {
        "machine": platform.node(),
        "cpus": os.cpu_count(),
        "loadavg": Path("/proc/loadavg").read_text().split()[:3],
        "relay": not args.no_relay,
        "runs": runs,
        "first_frame": first,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    if args.plot:
        plot(out, args.out.with_suffix(".png"))
    # On the terminal the samples are counted, not listed (the file has them).
    brief = json.loads(json.dumps(out))
    for run in brief["runs"]:
        for layer in ("hi", "lo"):
            run[layer]["samples_ms"] = f"{len(run[layer]['samples_ms'])} values"
    print(json.dumps(brief, indent=2))


if __name__ == "__main__":
    main()
