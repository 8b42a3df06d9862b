"""Time for a viewer to connect through a TURN relay only, against a direct connection.

Run from the repository root:

    python -m bench.turn_connect [--joins 20] [--plot]

The real chain on loopback: a real coturn (Debian's turnserver, run from
deploy/turnserver.conf with a generated secret, as tests/support/coturn.py does), a real
`returnfeed-cloud` with `--turn-url` and the secret (so every page gets a credential minted
for it) and `--webrtc-udp-ports`, `returnfeed send --cloud` (test pattern, libx264, both
layers; its director link answers keyframe requests, as in the show), and Debian's
Chromium on the real /watch page. Joins alternate between a direct one (`/watch`, host
candidates) and one forced through the relay (`/watch?ice=relay`: the player's
`iceTransportPolicy: "relay"`, so the page gathers only coturn's relay candidate and every
packet goes browser -> coturn -> gateway), each a fresh browser context on a fresh page.

What is timed is bench/glass_to_glass.py's time to first frame, with its probe: from the
page creating its RTCPeerConnection to the first frame's expectedDisplayTime, in the page's
own clock, with the same steps (gathering up to the POST, POST -> answer, ICE + DTLS,
connected -> first frame received, decode + render). A relay join also checks, from
Chromium's getStats, that the pair in use has a relay candidate on the browser's side;
one that does not is counted as `not_relayed` and left out.

On loopback the relay adds no network distance: what this measures is the TURN work itself
(allocation with its 401 round trip, permissions, the relayed checks). A real TURN server
adds its round trip to every step after the POST.

Prints JSON and writes bench/results/turn_connect.json (and turn_connect.png with --plot).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench._common import start_cloud
from bench.glass_to_glass import (
    CHROMIUM_ARGS,
    JOIN_PROBE,
    PICTURE_FIRST,
    RETURNFEED,
    STEPS,
    leave,
    new_show,
    sender_env,
    summary,
    wait_live,
)
from bench.viewers import udp_port
from tests.support.coturn import Coturn, free_udp_ports

RESULTS = Path(__file__).with_name("results")
MODES = ("direct", "relay")
# The browser's side of the candidate pair the live connection uses.
LOCAL_TYPE = """async () => {
  const pc = (window.__pcs || []).filter((p) => p.connectionState === "connected").pop();
  if (!pc) return null;
  const stats = await pc.getStats();
  const byId = {};
  stats.forEach((s) => { byId[s.id] = s; });
  let type = null;
  stats.forEach((s) => {
    if (s.type === "transport" && s.selectedCandidatePairId) {
      const pair = byId[s.selectedCandidatePairId];
      type = byId[pair.localCandidateId].candidateType;
    }
  });
  return type;
}"""


@contextmanager
def chain(work: Path) -> Iterator[tuple[str, dict[str, Any], Coturn]]:
    """coturn, a backend that hands out its credentials, a sender; yields base URL, show,
    coturn."""
    coturn = Coturn(work / "coturn")
    srt_port = udp_port()
    first, last = free_udp_ports(200)
    # The secret goes to the backend through its environment, never its arguments.
    os.environ["RETURNFEED_TURN_SECRET"] = coturn.secret
    server = send = None
    try:
        server, base = start_cloud(
            work,
            f"sqlite:///{work / 'rf.db'}",
            "--srt-port",
            str(srt_port),
            "--turn-url",
            coturn.url,
            "--webrtc-udp-ports",
            f"{first}-{last}",
        )
        show = new_show(base)
        env = sender_env(show)
        argv = [str(RETURNFEED), "send", "--source", "test:TURN", "--encoder", "libx264"]
        argv += ["--srt-url", f"srt://127.0.0.1:{srt_port}", f"--session={show['session']}"]
        argv += ["--cloud", base]
        log = (work / "send.log").open("wb")
        send = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
        wait_live(base, show)
        yield base, show, coturn
    finally:
        os.environ.pop("RETURNFEED_TURN_SECRET", None)
        if send is not None:
            send.terminate()
            send.wait(10)
        if server is not None:
            server.stop()
        coturn.stop()


def join(browser: Any, base: str, invite: str, mode: str) -> tuple[dict[str, float], str | None]:
    """One fresh page's join: its step times (performance.now() ms) and, once it plays,
    the browser's candidate type in use."""
    context = browser.new_context(viewport={"width": 800, "height": 600})
    context.add_init_script(PICTURE_FIRST)
    context.add_init_script(JOIN_PROBE)
    page = context.new_page()
    query = "?ice=relay" if mode == "relay" else ""
    try:
        page.goto(f"{base}/watch{query}#{invite}")
        deadline = time.monotonic() + 20
        t: dict[str, float] = {}
        while time.monotonic() < deadline:
            t = page.evaluate("window.__join || {}")
            if "shown" in t:
                break
            time.sleep(0.05)
        kind = page.evaluate(LOCAL_TYPE) if "shown" in t else None
        return t, kind
    finally:
        leave(page, base)
        context.close()


def run(browser: Any, base: str, invite: str, joins: int) -> dict[str, Any]:
    totals: dict[str, list[float]] = {m: [] for m in MODES}
    steps: dict[str, dict[str, list[float]]] = {m: {n: [] for n, _, _ in STEPS} for m in MODES}
    failed = dict.fromkeys(MODES, 0)
    not_relayed = 0
    for i in range(joins * len(MODES)):
        mode = MODES[i % len(MODES)]  # alternate, so both see the same load over the run
        t, kind = join(browser, base, invite, mode)
        if "shown" not in t or "created" not in t:
            failed[mode] += 1
        elif mode == "relay" and kind != "relay":
            not_relayed += 1
        else:
            totals[mode].append(t["shown"] - t["created"])
            for name, start, end in STEPS:
                if start in t and end in t:
                    steps[mode][name].append(t[end] - t[start])
        time.sleep(0.7)  # past the gateway's per-layer keyframe request interval
    out: dict[str, Any] = {"joins_each": joins, "not_relayed": not_relayed}
    for mode in MODES:
        out[mode] = {
            "failed": failed[mode],
            **{k: v for k, v in summary(totals[mode]).items()},
            "samples_ms": [round(v, 1) for v in totals[mode]],
            "steps": {n: summary(v) | {"n": len(v)} for n, v in steps[mode].items()},
        }
    if out["direct"]["p50_ms"] is not None and out["relay"]["p50_ms"] is not None:
        out["relay_minus_direct_p50_ms"] = round(
            out["relay"]["p50_ms"] - out["direct"]["p50_ms"], 1
        )
    return out


def plot(out: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for mode in MODES:
        values = out[mode]["samples_ms"]
        left.plot(
            range(1, len(values) + 1), values, "o-", label=f"{mode} p50 {out[mode]['p50_ms']} ms"
        )
    left.set_title("peer connection created to first frame shown")
    left.set_xlabel("join")
    left.set_ylabel("ms")
    left.set_ylim(bottom=0)
    left.legend()
    names = [n for n, _, _ in STEPS if n != "gathering_complete_ms"]
    width = 0.4
    for k, mode in enumerate(MODES):
        p50 = [out[mode]["steps"][n]["p50_ms"] or 0 for n in names]
        right.bar([i + k * width for i in range(len(names))], p50, width, label=mode)
    right.set_xticks([i + width / 2 for i in range(len(names))])
    right.set_xticklabels(
        [n.removesuffix("_ms").replace("_", " ") for n in names], rotation=25, ha="right"
    )
    right.set_ylabel("p50 ms")
    right.set_title("steps of a join")
    right.legend()
    fig.suptitle(
        f"TURN relay vs direct, {out['machine']} ({out['cpus']} CPUs, load {out['loadavg']})"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main() -> None:
    from playwright.sync_api import sync_playwright

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--joins", type=int, default=20, help="joins timed per mode")
    p.add_argument("--plot", action="store_true", help="also write turn_connect.png")
    p.add_argument("--out", type=Path, default=RESULTS / "turn_connect.json")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            with chain(Path(tmp)) as (base, show, _coturn):
                result = run(browser, base, show["invite"], args.joins)
        finally:
            browser.close()
    out = {
        "machine": platform.node(),
        "cpus": os.cpu_count(),
        "loadavg": Path("/proc/loadavg").read_text().split()[:3],
        **result,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    if args.plot:
        plot(out, args.out.with_suffix(".png"))
    brief = json.loads(json.dumps(out))
    for mode in MODES:
        brief[mode]["samples_ms"] = f"{len(brief[mode]['samples_ms'])} values"
    print(json.dumps(brief, indent=2))


if __name__ == "__main__":
    main()
