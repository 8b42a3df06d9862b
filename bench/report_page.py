"""docs/BENCHMARKS.md from the benchmarks' JSON: the machine, a headline table next to what
peers publish, and one section per benchmark with its plot and the command to run it.

Numbers are read from the results, never typed in; a missing value shows as "—".
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Published figures of other tools, in the words and with the sources the roadmap names.
PEER_G2G = (
    "MediaMTX 100–200 ms glass-to-glass ([mediamtx#4063]"  # noqa: RUF001 - the source's words
    "(https://github.com/bluenviron/mediamtx/issues/4063)); SRT→WebRTC gateways 200–500 ms "  # noqa: RUF001
    "([srs#1147](https://github.com/ossrs/srs/issues/1147), "
    "[srt-whep#54](https://github.com/Eyevinn/srt-whep/issues/54))"
)
PEER_VIEWERS = (
    "MediaMTX 150 viewers at 99 % of 3 cores "
    "([mediamtx#4963](https://github.com/bluenviron/mediamtx/issues/4963))"
)
PEER_TALLY = "tally systems 1–5 s ([TallyArbiter#98](https://github.com/josephdadams/TallyArbiter/issues/98))"  # noqa: RUF001
DASH = "—"


@dataclass(frozen=True)
class Outcome:
    name: str
    result: dict[str, Any] | None
    seconds: float | None  # None: not run now, the page uses the stored result
    error: str | None


def get(data: Any, *path: str | int) -> Any:
    for key in path:
        if isinstance(data, dict) and isinstance(key, str):
            data = data.get(key)
        elif isinstance(data, list) and isinstance(key, int) and -len(data) <= key < len(data):
            data = data[key]
        else:
            return None
    return data


def ms(value: Any, digits: int = 0) -> str:
    return DASH if value is None else f"{float(value):.{digits}f} ms"


def num(value: Any, unit: str = "", digits: int = 1) -> str:
    return DASH if value is None else f"{float(value):.{digits}f}{unit}"


# --- the machine ----------------------------------------------------------------------------


def _command_version(argv: list[str]) -> str:
    if shutil.which(argv[0]) is None:
        return DASH
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.TimeoutExpired):
        return DASH
    return out.strip().splitlines()[0] if out.strip() else DASH


def _package(name: str) -> str:
    out = _command_version(["dpkg-query", "-W", "-f", "${Version}", name])
    return DASH if out == DASH else f"{name} {out}"


def _python_package(name: str) -> str:
    from importlib import metadata

    try:
        return f"{name} {metadata.version(name)}"
    except metadata.PackageNotFoundError:
        return DASH


def machine() -> list[str]:
    cpu = DASH
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal"):
            mem_kb = int(line.split()[1])
    software = [
        f"Python {platform.python_version()}",
        *(_python_package(p) for p in ("aiortc", "av", "fastapi", "uvicorn", "PySide6-Essentials")),
        _package("libsrt1.5-openssl"),
        _command_version(["chromium", "--version"]),
        _command_version(["ffmpeg", "-version"]).split(" Copyright")[0],
    ]
    return [
        f"- CPU: {cpu}, {os.cpu_count()} cores (a VM, shared: figures are noisy)",
        f"- Memory: {mem_kb / 1024 / 1024:.1f} GiB; kernel {platform.release()}",
        f"- Software: {', '.join(s for s in software if s != DASH)}",
        "- Everything on loopback: publisher, backend, viewers and phones share the two cores.",
    ]


# --- headline rows ----------------------------------------------------------------------------


def _g2g_run(result: dict[str, Any] | None, srt_ms: int) -> dict[str, Any] | None:
    for run in get(result, "runs") or []:
        if get(run, "srt_latency_ms") == srt_ms:
            found: dict[str, Any] = run
            return found
    return None


def _tally_row(result: dict[str, Any] | None, mode: str, clients: int) -> dict[str, Any] | None:
    for row in get(result, "results") or []:
        if get(row, "mode") == mode and get(row, "clients") == clients:
            found: dict[str, Any] = row
            return found
    return None


def _viewers_best(result: dict[str, Any] | None) -> dict[str, Any] | None:
    """The most viewers served with < 1 % drops."""
    rows = get(result, "rows") or []
    # A step that saturated the gateway has no drop figure at all (bench/viewers.py): not ok.
    ok = [r for r in rows if get(r, "drop_pct") is not None and get(r, "drop_pct") < 1.0]
    return max(ok, key=lambda r: get(r, "viewers") or 0) if ok else None


def headline(results: dict[str, dict[str, Any] | None]) -> list[str]:
    g2g, viewers, tally = results["glass_to_glass"], results["viewers"], results["tally_latency"]
    rows = ["| What | ReturnFeed (this run) | Target | Others, as published |", "|---|---|---|---|"]
    for srt_ms in (5, 20):
        run = _g2g_run(g2g, srt_ms)
        for layer in ("hi", "lo"):
            value = f"p50 {ms(get(run, layer, 'p50_ms'))}, p95 {ms(get(run, layer, 'p95_ms'))}"
            target = "p50 ≤ 40 ms, p95 ≤ 60 ms" if layer == "hi" else DASH
            peer = PEER_G2G if (srt_ms, layer) == (5, "hi") else ""
            rows.append(
                f"| Glass to glass, {layer} layer, SRT latency {srt_ms} ms | {value} "
                f"| {target} | {peer} |"
            )
    first = get(g2g, "first_frame")
    rows.append(
        f"| Time to first frame ({get(first, 'joins') or DASH} joins) | "
        f"p50 {ms(get(first, 'p50_ms'))}, p95 {ms(get(first, 'p95_ms'))} | p95 ≤ 300 ms | |"
    )
    best = _viewers_best(viewers)
    rows.append(
        f"| WebRTC viewers on one gateway process | {get(best, 'viewers') or DASH} viewers, "
        f"{num(get(best, 'drop_pct'), ' % drops', 2)}, "
        f"{num(get(best, 'server_cpu_pct'), ' % of a core', 0)}, "
        f"{num(get(best, 'server_rss_mb'), ' MB', 0)} | ≥ 200 with < 1 % drops | {PEER_VIEWERS} |"
    )
    for mode, clients in (("single backend", 1000), ("redis, 2 backends", 1000)):
        row = _tally_row(tally, mode, clients)
        rows.append(
            f"| Tally, cut to phone, {clients} phones, {mode} | p50 {ms(get(row, 'p50_ms'), 1)}, "
            f"p99 {ms(get(row, 'p99_ms'), 1)} | p99 ≤ 30 ms | "
            f"{PEER_TALLY if mode == 'single backend' else ''} |"
        )
    hls, seg = results.get("hls_latency"), results.get("segmenter_cpu")
    rows.append(
        f"| HLS glass to glass, hls.js defaults in Chromium | p50 {ms(get(hls, 'p50_ms'))}, "
        f"p95 {ms(get(hls, 'p95_ms'))} | a few seconds | |"
    )
    rows.append(
        f"| HLS: scrub back 30 s to the first frame | p50 {ms(get(hls, 'scrub_back', 'p50_ms'))}, "
        f"p95 {ms(get(hls, 'scrub_back', 'p95_ms'))} | | |"
    )
    rows.append(
        f"| Recording segmenter, one live session | "
        f"{num(get(seg, 'core_percent_per_session'), ' % of a core', 2)} | | |"
    )
    return rows


def _local_rows(results: dict[str, dict[str, Any] | None]) -> list[str]:
    encode, clock, ui = results["encode"], results["program_clock"], results["ui_pacing"]
    cases = get(clock, "cases") or []
    eight = next((c for c in cases if (c.get("sources"), c.get("size")) == (8, "640x360")), None)
    hi = get(encode, "latency_paced_60fps", "one_thread", "encode_ms", "hi")
    jitter = ms(get(eight, "jitter_ms", "p99"), 2)
    cut = num(get(ui, "cut_to_program_on_screen_frames_p99"), " frames", 2)
    rows = [
        (
            "Encoder CPU, ours ÷ Debian ffmpeg (same settings)",
            num(get(encode, "cpu", "ratio"), "", 3),
            "≤ 1.15",
        ),
        (
            "hi layer encode time per frame",
            f"p50 {ms(get(hi, 'p50'), 1)}, p99 {ms(get(hi, 'p99'), 1)}",
            "p99 ≤ 8 ms",
        ),
        (
            "Program clock, 8 sources 640x360@60, tick jitter",
            f"p99 {jitter}, {num(get(eight, 'cpu_percent_of_core'), ' % of a core')}",
            "p99 ≤ 2 ms, ≤ 25 %",
        ),
        ("Switcher window, cut to program on screen", f"p99 {cut}", "≤ 2 frames"),
        (
            "Switcher window, program monitor rate",
            num(get(ui, "monitor_fps", "program"), " fps"),
            "60 fps",
        ),
    ]
    table = ["| What | ReturnFeed (this run) | Target |", "|---|---|---|"]
    return table + [f"| {what} | {value} | {target} |" for what, value, target in rows]


# --- sections ---------------------------------------------------------------------------------

SECTIONS = {
    "glass_to_glass": (
        "Glass to glass and first frame",
        "python -m bench.glass_to_glass --plot",
        "A test pattern stamps its capture time into the picture; `returnfeed send` encodes "
        "both layers and sends them over SRT to `returnfeed-cloud`; Chromium plays the /watch "
        "page over WHEP and reads the stamp back from each presented frame.",
    ),
    "viewers": (
        "Viewers on one gateway",
        "python -m bench.viewers --plot",
        "N WebRTC viewers of the hi layer on one `returnfeed-cloud` process; gateway CPU "
        "(% of one core), memory and drops per N.",
    ),
    "tally_latency": (
        "Tally latency against phones connected",
        "python -m bench.tally_latency --clients 100,500,1000,2000 --redis --plot",
        "The director's cut to every phone's socket, N phones connected as WebSocket clients, "
        "one backend and two backends sharing Redis.",
    ),
    "encode": (
        "Simulcast encoder",
        "python -m bench.encode --seconds 5 --rounds 3 --plot",
        "Both layers with libx264 against Debian's ffmpeg doing the same job.",
    ),
    "program_clock": (
        "Program clock",
        "python -m bench.program_clock --seconds 5 --plot",
        "Tick jitter and CPU of the switcher's clock with N sources mixing.",
    ),
    "ui_pacing": (
        "Switcher window pacing",
        "python -m bench.ui_pacing --seconds 8 --plot",
        "Monitor repaint rates, UI-thread stalls and cut to program on screen (offscreen Qt).",
    ),
    "soak": (
        "Soak: recovery after outages",
        "python -m bench.soak --outages 20 --plot",
        "A compressed long show (tokens that live seconds) with outages at random moments: "
        "kill -9 of the backend, the SRT path dropped, Redis down, PostgreSQL restarted, and "
        "a kill -9 that outlasts the access token. Seconds from each outage's end until the "
        "relay, the cut on a phone page, both SRT layers, the viewer's next frame and the "
        "app's health board are back.",
    ),
    "layer_rates": (
        "Layer rates with sound",
        "python -m bench.layer_rates --plot",
        "Hard content (noisy, moving 640x360@60) and generated sound through the real simulcast "
        "encoder and TS muxer: each layer's video, Opus, payload and wire kbps against the "
        "seed's 1 Mbps / 0.1 Mbps, and the Opus encoders' CPU.",
    ),
    "av_sync": (
        "Lip sync",
        "python -m bench.av_sync --seconds 30 --plot",
        "`returnfeed send --source sync:Sync` (a white frame and a click on the same tick) to "
        "the /watch page in Chromium: sound minus picture per flash, with lip sync (the "
        "default) and picture first, against ITU-R BT.1359 (-45..+125 ms), and what sync "
        "costs the picture.",
    ),
    "audio_mix": (
        "Program audio mixer",
        "python -m bench.audio_mix --seconds 20 --plot",
        "The mixer's CPU with 1-8 channels at 48 kHz (ring-fed as capture is, half resampled "
        "from 44.1 kHz), AFV ramps, limiter, peak and loudness meters, as % of one core.",
    ),
    "turn_connect": (
        "Viewer connect time through TURN",
        "python -m bench.turn_connect --joins 20 --plot",
        "A Chromium viewer's time from creating its peer connection to its first frame on "
        "/watch, forced through a real coturn relay (`?ice=relay`, credentials minted by the "
        "backend) against a direct join, joins alternating, on loopback.",
    ),
    "wan_latency": (
        "WAN latency: SRT latency from the link, FEC",
        "python -m bench.wan_latency --seconds 12 --plot",
        "`returnfeed send --profile wan` through the project's lossy relay (RTT/loss 5 ms/0.1 %, "
        "30 ms/1 %, 80 ms/2 %) to `returnfeed-cloud` and Chromium on /watch: glass to glass "
        "p50/p95, packets the ingest could not recover, TS gaps, freezes (> 100 ms between "
        "presented frames) and retransmission/FEC overhead, for a fixed 120 ms, the latency "
        "derived from the measured link, and that with `--srt-fec on`.",
    ),
    "hls_latency": (
        "HLS glass to glass",
        "python -m bench.hls_latency --seconds 20 --scrubs 10 --plot",
        "The stamped test pattern through `returnfeed send`, the gateway and the recorder's "
        "~2 s fMP4 segments to an audience link's playlist, played by the vendored hls.js "
        "(default settings: three target durations behind the live edge) in Chromium; the "
        "stamp read from each presented frame as in glass to glass (docs/recording.md); and "
        "seeks 30 s back timed to their first frame.",
    ),
    "segmenter_cpu": (
        "Recording segmenter CPU",
        "python -m bench.segmenter_cpu --seconds 30 --plot",
        "The hi layer (640x360@60, 1 Mbit/s, noisy) and 20 ms Opus packets fed to a real "
        "Segmenter writing segments to disk: its thread's CPU time over the media's duration, "
        "as % of one core per live session (encoding not counted).",
    ),
}


def _section(outcome: Outcome, results_dir: Path, page: Path) -> list[str]:
    title, command, what = SECTIONS[outcome.name]
    lines = [f"## {title}", "", what, "", f"Run: `{command}`", ""]
    if outcome.error:
        lines += ["**This run failed:**", "", "```", outcome.error.strip()[-1500:], "```", ""]
    elif outcome.result is None:
        lines += ["No result yet.", ""]
    else:
        rel = os.path.relpath(results_dir, page.parent)
        when = "stored result" if outcome.seconds is None else f"this run, {outcome.seconds:.0f} s"
        lines.append(f"Result: [`{outcome.name}.json`]({rel}/{outcome.name}.json) ({when})")
        lines.append("")
        if (results_dir / f"{outcome.name}.png").exists():
            lines += [f"![{title}]({rel}/{outcome.name}.png)", ""]
    return lines


def write_page(page: Path, outcomes: list[Outcome], results_dir: Path) -> None:
    results = {o.name: o.result for o in outcomes}
    fresh = all(o.seconds is not None for o in outcomes)
    stamp = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    lines = [
        "# Benchmarks",
        "",
        f"Written by `bench/report` on {stamp}"
        + (" from one run of every benchmark." if fresh else " (some results from earlier runs)."),
        "Medians and percentiles over the samples each benchmark describes below; "
        "every number here is read from `bench/results/*.json`.",
        "",
        "## Machine",
        "",
        *machine(),
        "",
        "## Against the targets and other tools",
        "",
        *headline(results),
        "",
        "Inside the director's app:",
        "",
        *_local_rows(results),
        "",
    ]
    for outcome in outcomes:
        lines += _section(outcome, results_dir, page)
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text("\n".join(lines).rstrip() + "\n")
