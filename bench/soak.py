"""Soak: a long compressed show with outages at random moments; recovery time of every link.

Run from the repository root:
    python -m bench.soak [--outages 20] [--seed 1] [--sqlite] [--json PATH] [--plot [PATH]]

The loop of tests/faults/test_soak.py (tests/faults/soak.py, shared, not copied) with a long
schedule: the real backend with tokens that live seconds, the app's core live with its
control API, a phone page and a viewer page in Debian's Chromium. Outages, planned from
--seed: kill -9 of the backend, the SRT path dropped, Redis down, the database restarted
and a kill -9 that outlasts the access token, 1-5 s each (a restart's start-up on top).
After each the director cuts; recovery is the time from the outage's end until the app's
relay link is up, the cut shows on the phone, both SRT layers flow into the gateway, the
viewer presents a new frame, and the app's health board is empty.

PostgreSQL and Redis by default (every kind of outage); --sqlite runs on SQLite without
Redis (no Redis outages; a database restart is a backend restart).
Prints JSON (p50/p95/max per link overall and per kind of outage, and everything lost or
later than its bound) and writes bench/results/soak.json (and soak.png with --plot).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from tests.faults.soak import (
    ACCESS_TTL_S,
    INVITE_TTL_S,
    LINKS,
    PARTICIPANT_TTL_S,
    SRT_TOKEN_TTL_S,
    TARGET_P95_S,
    Recovery,
    databases,
    kinds_for,
    plan,
    run_outage,
    soak_rig,
    summary,
)
from tests.support.browser import webrtc_chromium

RESULTS = Path(__file__).with_name("results")


def loadavg() -> list[float]:
    return [float(v) for v in Path("/proc/loadavg").read_text().split()[:3]]


def soak(outages: int, seed: int, sqlite: bool) -> dict[str, Any]:
    recoveries: list[Recovery] = []
    loads: list[float] = []
    started = time.monotonic()
    load_before = loadavg()
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="rf-soak-")))
        browser = stack.enter_context(webrtc_chromium())
        pg, redis = databases(stack, work, sqlite=sqlite)
        (work / "show").mkdir()
        rig = stack.enter_context(soak_rig(work / "show", browser, pg, redis, seed))
        for outage in plan(seed, outages, kinds_for(redis is not None)):
            recovery = run_outage(rig, outage)
            recoveries.append(recovery)
            loads.append(loadavg()[0])
            print(recovery.line(), file=sys.stderr, flush=True)
    return {
        "machine": platform.node(),
        "cpus": os.cpu_count(),
        "loadavg_before": load_before,
        "loadavg_after": loadavg(),
        "load1_during": {
            "min": min(loads, default=None),
            "mean": round(sum(loads) / len(loads), 2) if loads else None,
            "max": max(loads, default=None),
        },
        "seconds": round(time.monotonic() - started, 1),
        "seed": seed,
        "database": "sqlite" if sqlite else "postgresql",
        "redis": not sqlite,
        "token_ttl_s": {
            "access": ACCESS_TTL_S,
            "srt_publish": SRT_TOKEN_TTL_S,
            "participant": PARTICIPANT_TTL_S,
            "invite": INVITE_TTL_S,
        },
        "target_p95_s": TARGET_P95_S,
        **summary(recoveries),
        "runs": [r.as_dict() for r in recoveries],
    }


def plot(out: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = out["runs"]
    kinds = sorted({r["kind"] for r in runs})
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.5))
    for i, link in enumerate(LINKS):
        xs = [r["number"] + (i - 2) * 0.12 for r in runs if r["back_s"][link] is not None]
        ys = [r["back_s"][link] for r in runs if r["back_s"][link] is not None]
        left.plot(xs, ys, "o", label=link, markersize=4)
        lost = [r["number"] for r in runs if r["back_s"][link] is None]
        if lost:
            left.plot(lost, [0] * len(lost), "x", color="red", label=f"{link} lost")
    left.axhline(out["target_p95_s"], color="grey", linestyle="--", linewidth=1)
    left.set_xticks([r["number"] for r in runs], [r["kind"] for r in runs], rotation=60)
    left.set_ylabel("back after the outage ended (s)")
    left.set_title(f"each outage (seed {out['seed']})")
    left.legend(fontsize=7)
    width = 0.8 / len(LINKS)
    for i, link in enumerate(LINKS):
        p95 = [out["by_kind"][k][link]["p95_s"] or 0 for k in kinds]
        right.bar([k + i * width for k in range(len(kinds))], p95, width, label=link)
    right.axhline(out["target_p95_s"], color="grey", linestyle="--", linewidth=1)
    right.set_xticks([k + 0.4 - width / 2 for k in range(len(kinds))], kinds)
    right.set_ylabel("p95 (s)")
    right.set_title("p95 by kind of outage")
    right.legend(fontsize=7)
    fig.suptitle(
        f"{out['outages']} outages, {out['database']}"
        f"{' + Redis' if out['redis'] else ''}; {out['machine']} ({out['cpus']} CPUs, "
        f"load {out['load1_during']['mean']})"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main() -> None:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--outages", type=int, default=20, help="how many outages (default 20)")
    p.add_argument("--seed", type=int, default=1, help="the schedule's seed (default 1)")
    p.add_argument("--sqlite", action="store_true", help="SQLite, no Redis")
    p.add_argument("--json", type=Path, default=RESULTS / "soak.json", help="where to write")
    p.add_argument(
        "--plot",
        type=Path,
        nargs="?",
        const=RESULTS / "soak.png",
        help="also draw the recoveries (default bench/results/soak.png)",
    )
    args = p.parse_args()
    if args.outages < 1:
        p.error("--outages must be at least 1")
    out = soak(args.outages, args.seed, args.sqlite)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, indent=2) + "\n")
    if args.plot is not None:
        plot(out, args.plot)
    brief = {k: v for k, v in out.items() if k != "runs"}
    print(json.dumps(brief, indent=2))


if __name__ == "__main__":
    main()
