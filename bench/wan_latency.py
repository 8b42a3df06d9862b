"""WAN latency: glass to glass through a lossy, delaying path, by SRT latency setting.

Run from the repository root:

    python -m bench.wan_latency [--seconds 15] [--settle 42] [--plot]

The real chain: `returnfeed send` (the test pattern under moving grain with a capture stamp:
hard content, hi at its real ~1 Mbps and ~100 SRT packets a second, `--content test` for the
bars alone at about a third of that; libx264, both layers, `--profile wan` as a sender on
the internet starts) -> the project's lossy relay
(tests/support/lossy_relay.py: loss and one-way delay each direction) -> `returnfeed-cloud`
(SRT ingest at its default 20 ms latency, gateway) -> WHEP -> Debian's Chromium on /watch,
hi layer. Per path (RTT, loss) and setting:

- `fixed 120`: `--latency-ms 120`, what a WAN sender got before;
- `link`: the latency derived from the measured RTT and loss (media/send/latency.py; the
  first connection starts at 120 ms and reconnects with the derived value ~8 s in, and
  again 30 s later if the link then asks for clearly more or less: `--settle` waits past
  both, so the figures are a show's steady state);
- `link + FEC`: the same with `--srt-fec on` (fec,cols:10,rows:1,arq:always);
- `link free-run`: `link` with `--genlock off`: the program clock picks each picture up
  at its next tick, 0-16.7 ms after it was drawn, as before genlock (media/genlock.py).
  Every other setting locks the clock to the source.

Reported: glass to glass p50/p95 (stamp -> Chromium's expected display time, as in
bench/glass_to_glass.py), the same to the frame's arrival (`received_*`: requestVideoFrame-
Callback's receiveTime, the frame's last packet in: the path without the decode and the
wait for the browser's next vsync, whose phase moves the display figures by up to 16.7 ms
from run to run), the packets the ingest could not recover and the TS continuity
gaps it saw (its /metrics, over the measured window), freezes (gaps > 100 ms between
presented frames), and the bandwidth overhead: datagrams the relay carried toward the
backend per TS packet sent (data, retransmissions, FEC and control), minus one.

JSON to bench/results/wan_latency.json, PNG with --plot. Both ends, the relay and the
browser share this machine's cores: the load is in the result.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench._common import metrics_text, start_cloud
from bench.glass_to_glass import (
    CHROMIUM_ARGS,
    COLLECT,
    PICTURE_FIRST,
    RETURNFEED,
    leave,
    new_show,
    sender_env,
    stamp_of,
    summary,
    wait_live,
)
from bench.viewers import udp_port
from media.stamp import COLUMNS, ROWS, age_ms

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.support.lossy_relay import LossyRelay

RESULTS = Path(__file__).with_name("results")
PATHS = ((5.0, 0.001), (30.0, 0.01), (80.0, 0.02))  # (RTT ms, loss)
SETTINGS = {  # name -> extra `returnfeed send` arguments
    "fixed 120": ["--latency-ms", "120"],
    "link": [],
    "link + FEC": ["--srt-fec", "on"],
    "link free-run": ["--genlock", "off"],  # the program clock not locked to the source
}
FREEZE_MS = 100.0
CONTENT_KINDS = {"noisy": "noisy", "test": "test"}  # --content -> `returnfeed send` source kind
TARGETS = {30.0: 120.0, 5.0: 60.0}  # RTT -> the p95 target (ms)
METRICS = (
    "gateway_srt_packets_lost_total",
    "gateway_srt_packets_unrecovered_total",
    "gateway_srt_packets_fec_rebuilt_total",
    "gateway_ts_continuity_errors_total",
)


def scrape(base: str) -> dict[str, float]:
    """The ingest's counters, summed over layers and streams."""
    text = metrics_text(base)
    out = dict.fromkeys(METRICS, 0.0)
    for line in text.splitlines():
        for name in METRICS:
            if line.startswith(name + "{") or line.startswith(name + " "):
                out[name] += float(line.rsplit(" ", 1)[1])
    return out


@contextmanager
def chain(
    work: Path, rtt_ms: float, loss: float, extra: list[str], tag: str, content: str
) -> Iterator[tuple[str, dict[str, Any], LossyRelay, Path, subprocess.Popen[bytes]]]:
    srt_port = udp_port()
    server, base = start_cloud(
        work, f"sqlite:///{work / f'rf-{tag}.db'}", "--srt-port", str(srt_port)
    )
    relay = LossyRelay(("127.0.0.1", srt_port), seed=11)
    relay.impair(loss=loss, delay_ms=rtt_ms / 2)
    send = None
    summary_path = work / f"send-{tag}.json"
    try:
        show = new_show(base)
        env = sender_env(show)
        source = f"{CONTENT_KINDS[content]}:WAN"
        argv = [str(RETURNFEED), "send", "--source", source, "--encoder", "libx264"]
        argv += ["--srt-url", f"srt://127.0.0.1:{relay.port}", f"--session={show['session']}"]
        argv += ["--profile", "wan", "--cloud", base, "--json", *extra]
        log = (work / f"send-{tag}.log").open("wb")
        send = subprocess.Popen(argv, env=env, stdout=summary_path.open("wb"), stderr=log)
        wait_live(base, show)
        yield base, show, relay, work / f"send-{tag}.log", send
    finally:
        if send is not None and send.poll() is None:
            send.terminate()
            send.wait(15)
        relay.close()
        server.stop()


def setting_args(name: str) -> list[str]:
    """A setting's `returnfeed send` arguments; "fixed N" for any fixed latency N."""
    if name in SETTINGS:
        return SETTINGS[name]
    m = re.fullmatch(r"fixed (\d+)", name)
    if m is None:
        raise SystemExit(f"unknown setting {name!r}: {', '.join(SETTINGS)} or 'fixed N'")
    return ["--latency-ms", m.group(1)]


def collect(page: Any, seconds: float) -> dict[str, Any]:
    page.evaluate(COLLECT, [COLUMNS, ROWS])
    time.sleep(seconds)
    samples = page.evaluate("window.__g2g.splice(0)")
    ages: list[float] = []
    arrived: list[float] = []  # to the frame's last packet in Chromium: no vsync in it
    shown = sorted(float(s["shown"]) for s in samples)
    for s in samples:
        value = stamp_of(s["means"])
        if value is not None:
            ages.append(float(age_ms(value, int(s["shown"]) % (1 << 32))))
            if s.get("received") is not None:
                arrived.append(float(age_ms(value, int(s["received"]) % (1 << 32))))
    gaps = [b - a for a, b in itertools.pairwise(shown)]
    freezes = [round(g, 1) for g in gaps if g > FREEZE_MS]
    return {
        "frames": len(samples),
        "stamped": len(ages),
        **summary(ages),
        **{f"received_{k}": v for k, v in summary(arrived).items() if k.endswith("_ms")},
        "freezes": len(freezes),
        "freeze_ms": freezes,
        "longest_gap_ms": round(max(gaps), 1) if gaps else None,
        "samples_ms": ages,
    }


def sender_lines(log: Path) -> tuple[str, float | None]:
    """From the sender's stats lines for hi: the last `latency ...` and the median rate of
    the last 10 seconds (kbps)."""
    found, rates = "", []
    for line in log.read_text(errors="replace").splitlines():
        m = re.search(r"\] hi .* (\d+) kbps .*\| latency (.*?) \| ", line)
        if m:
            rates.append(float(m.group(1)))
            found = m.group(2)
    return found, statistics.median(rates[-10:]) if rates else None


def one_run(
    browser: Any,
    work: Path,
    rtt: float,
    loss: float,
    name: str,
    seconds: float,
    settle: float,
    content: str,
) -> dict[str, Any]:
    tag = f"{rtt:g}-{loss:g}-{name}".replace(" ", "").replace("+", "p")
    args = setting_args(name)
    with chain(work, rtt, loss, args, tag, content) as (base, show, relay, log, send):
        time.sleep(settle)  # past the sender's reconnects to the derived latency
        context = browser.new_context(viewport={"width": 800, "height": 600})
        context.add_init_script(PICTURE_FIRST)
        page = context.new_page()
        try:
            page.goto(f"{base}/watch#{show['invite']}")
            page.wait_for_selector("body[data-state='playing']", state="attached", timeout=30_000)
            time.sleep(2)
            before, up0 = scrape(base), relay.counters.forwarded["up"]
            up_lost0 = relay.counters.dropped["up"]
            result = collect(page, seconds)
            after, up1 = scrape(base), relay.counters.forwarded["up"]
            up_lost1 = relay.counters.dropped["up"]
        finally:
            leave(page, base)
            context.close()
        chosen, hi_kbps = sender_lines(log)
        send.terminate()
        send.wait(15)
    sent = json.loads((work / f"send-{tag}.json").read_text() or "{}")
    # The last connection's libsrt totals, both layers: what went out beyond the media.
    layers = list(sent.get("layers", {}).values())
    total = sum(layer.get("packets_sent") or 0 for layer in layers)
    extra = sum(
        (layer.get("retransmits") or 0) + (layer.get("fec_packets") or 0) for layer in layers
    )
    fec = sum(layer.get("fec_packets") or 0 for layer in layers)
    counted = {
        k.removeprefix("gateway_").removesuffix("_total"): after[k] - before[k] for k in METRICS
    }
    return {
        "rtt_ms": rtt,
        "loss": loss,
        "setting": name,
        "chosen_latency": chosen,
        "genlock": sent.get("genlock"),
        "hi_kbps": hi_kbps,
        **result,
        **{k: int(v) for k, v in counted.items()},
        "relay_dropped_up": up_lost1 - up_lost0,
        "relay_up_in_window": up1 - up0,
        "overhead_pct": round(100 * extra / (total - extra), 1) if total > extra else None,
        "fec_overhead_pct": round(100 * fec / (total - extra), 1) if total > extra else None,
    }


def plot(out: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(PATHS), figsize=(5 * len(PATHS), 4), sharey=True)
    for ax, (rtt, loss) in zip(axes, PATHS, strict=True):
        runs = [r for r in out["runs"] if r["rtt_ms"] == rtt and r["loss"] == loss]
        names = [r["setting"] for r in runs]
        p50 = [r["p50_ms"] or 0 for r in runs]
        p95 = [r["p95_ms"] or 0 for r in runs]
        x = range(len(runs))
        ax.bar([i - 0.2 for i in x], p50, 0.4, label="p50")
        ax.bar([i + 0.2 for i in x], p95, 0.4, label="p95")
        for i, r in enumerate(runs):
            ax.text(
                i,
                (r["p95_ms"] or 0) + 3,
                f"unrec {r['srt_packets_unrecovered']}\nfrz {r['freezes']}",
                ha="center",
                fontsize=8,
            )
        if rtt in TARGETS:
            ax.axhline(TARGETS[rtt], color="grey", linestyle="--", linewidth=1)
        ax.set_xticks(list(x), names)
        ax.set_title(f"RTT {rtt:g} ms, loss {100 * loss:g} %")
        ax.set_ylabel("glass to glass (ms)")
        ax.legend()
    fig.suptitle(f"{out['machine']} ({out['cpus']} CPUs, load {out['loadavg']})")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main() -> None:
    from playwright.sync_api import sync_playwright

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seconds", type=float, default=15.0, help="measured per run")
    p.add_argument(
        "--settle",
        type=float,
        default=42.0,
        help="wait after going live: past the first retune (~8 s) and the next one (30 s on)",
    )
    p.add_argument("--settings", default=",".join(SETTINGS), help="which settings to run")
    p.add_argument("--paths", default="", help="RTT/loss pairs, e.g. 30/0.01 (default: all)")
    p.add_argument("--content", choices=sorted(CONTENT_KINDS), default="noisy")
    p.add_argument("--plot", action="store_true")
    p.add_argument("--out", type=Path, default=RESULTS / "wan_latency.json")
    args = p.parse_args()
    names = [n.strip() for n in args.settings.split(",") if n.strip()]
    runs = []
    load_before = Path("/proc/loadavg").read_text().split()[:3]
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            paths = PATHS
            if args.paths:
                paths = tuple(
                    (float(a), float(b)) for a, b in (x.split("/") for x in args.paths.split(","))
                )
            for rtt, loss in paths:
                for name in names:
                    try:
                        run = one_run(
                            browser,
                            *(Path(tmp), rtt, loss, name),
                            *(args.seconds, args.settle, args.content),
                        )
                    except Exception as exc:  # one failed cell must not lose the others
                        error = f"{type(exc).__name__}: {str(exc)[:300]}"
                        run = {"rtt_ms": rtt, "loss": loss, "setting": name, "error": error}
                        run |= {"samples_ms": [], "p50_ms": None, "p95_ms": None}
                        run |= {"freezes": None, "srt_packets_unrecovered": None}
                    brief = {k: v for k, v in run.items() if k not in ("samples_ms", "freeze_ms")}
                    print(json.dumps(brief), file=sys.stderr, flush=True)
                    runs.append(run)
        finally:
            browser.close()
    out = {
        "machine": platform.node(),
        "cpus": os.cpu_count(),
        "loadavg_before": load_before,
        "loadavg": Path("/proc/loadavg").read_text().split()[:3],
        "freeze_ms": FREEZE_MS,
        "content": args.content,
        "targets_p95_ms": {f"rtt {k:g} ms": v for k, v in TARGETS.items()},
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    if args.plot:
        plot(out, args.out.with_suffix(".png"))
    brief = json.loads(json.dumps(out))
    for run in brief["runs"]:
        run["samples_ms"] = f"{len(run['samples_ms'])} values"
    print(json.dumps(brief, indent=2))


if __name__ == "__main__":
    main()
