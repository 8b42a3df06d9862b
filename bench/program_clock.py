"""Program clock benchmark: tick jitter, CPU per output frame, late and dropped frames.

Run from the repository root:
    python -m bench.program_clock [--seconds 5] [--sources 4,8] [--plot]
N test-pattern sources at the working size feed the clock; the switcher runs a
30-frame mix every 60 frames (half the ticks blend, the worst common case); an
"encoder" consumer drains program and a "monitor" drains preview.
Prints JSON, writes bench/results/program_clock.json (and .png with --plot).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np

from media.clock import ClockConfig, OutputFrame, ProgramClock
from media.fanout import DropOldestQueue
from media.frames import Size
from media.sources.testpattern import TestPatternSource
from media.switcher import SwitcherState, Transition, TransitionKind

RESULTS = Path(__file__).resolve().parent / "results"
TARGET = {"sources": 8, "size": "640x360", "p99_jitter_ms": 2.0, "cpu_percent_of_core": 25.0}


@dataclass(frozen=True)
class Case:
    sources: int
    size: Size
    fps: int = 60


class MixingShow:
    """A state provider: CAM 1 and CAM 2 mix back and forth, 30 of every 60 frames."""

    def __init__(self, clock_pts: Any) -> None:
        self._pts = clock_pts

    def __call__(self) -> SwitcherState:
        pts = self._pts()
        cycle, phase = divmod(pts, 60)
        a, b = ("CAM 1", "CAM 2") if cycle % 2 == 0 else ("CAM 2", "CAM 1")
        if phase < 30:
            return SwitcherState(program=a, preview=b)
        mix = Transition(TransitionKind.MIX, b, start_pts=cycle * 60 + 30, duration=30)
        return SwitcherState(program=a, preview=b, transition=mix)


def _drain(queue: DropOldestQueue[OutputFrame]) -> None:
    while queue.get(timeout=1.0) is not None:
        pass


def run_case(case: Case, seconds: float, warmup: float = 1.0) -> dict[str, Any]:
    sources = [
        TestPatternSource(f"CAM {i + 1}", size=case.size, fps=case.fps) for i in range(case.sources)
    ]
    holder: dict[str, ProgramClock] = {}
    show = MixingShow(lambda: holder["clock"].pts_at(time.monotonic()))
    clock = ProgramClock(show, ClockConfig(size=case.size))
    holder["clock"] = clock
    for source in sources:
        source.start()
        clock.add_source(source)
    consumers = [clock.subscribe("program", "encoder", 4), clock.subscribe("preview", "monitor", 2)]
    readers = [threading.Thread(target=_drain, args=(q,), daemon=True) for q in consumers]
    for reader in readers:
        reader.start()
    clock.start()
    time.sleep(warmup)
    before = clock.stats
    cpu0, wall0 = time.process_time(), time.monotonic()
    time.sleep(seconds)
    cpu1, wall1 = time.process_time(), time.monotonic()
    after = clock.stats
    ticks = after.ticks - before.ticks
    times = clock.tick_times()[-ticks:]
    clock.stop()
    for source in sources:
        source.stop()
    for reader in readers:
        reader.join(2)
    intervals = np.diff(times) * 1000
    jitter = np.abs(intervals - 1000 / case.fps)
    cpu = cpu1 - cpu0
    return {
        "sources": case.sources,
        "size": str(case.size),
        "fps": case.fps,
        "seconds": round(wall1 - wall0, 3),
        "ticks": ticks,
        "jitter_ms": {
            "p50": round(float(np.percentile(jitter, 50)), 4),
            "p99": round(float(np.percentile(jitter, 99)), 4),
            "max": round(float(jitter.max()), 4),
        },
        "cpu_ms_per_frame": round(1000 * cpu / max(1, ticks), 3),
        "cpu_percent_of_core": round(100 * cpu / (wall1 - wall0), 2),
        "late_ticks": after.late_ticks - before.late_ticks,
        "skipped_ticks": after.skipped_ticks - before.skipped_ticks,
        "drops": {k: v - before.drops.get(k, 0) for k, v in after.drops.items()},
        # Other work on the machine shows up as jitter; keep the load with the numbers.
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "intervals_ms": [round(float(x), 4) for x in intervals],
    }


def _plot(results: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{r['sources']} src\n{r['size']}" for r in results]
    fig, (left, mid, right) = plt.subplots(1, 3, figsize=(14, 4))
    left.bar(labels, [r["jitter_ms"]["p99"] for r in results], color="tab:blue")
    left.axhline(TARGET["p99_jitter_ms"], color="red", linestyle="--", label="target")
    left.set_title("p99 tick jitter (ms)")
    left.legend()
    mid.bar(labels, [r["cpu_percent_of_core"] for r in results], color="tab:orange")
    mid.axhline(TARGET["cpu_percent_of_core"], color="red", linestyle="--", label="target")
    mid.set_title("CPU, % of one core")
    mid.legend()
    for r, label in zip(results, labels, strict=True):
        right.hist(r["intervals_ms"], bins=60, histtype="step", label=label.replace("\n", " "))
    right.set_title("tick interval (ms)")
    right.set_yscale("log")
    right.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def _counts(text: str) -> tuple[int, ...]:
    try:
        counts = tuple(int(n) for n in text.split(","))
    except ValueError:
        counts = ()
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(f"not a list of source counts like 4,8: {text!r}")
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=5.0, help="measured time per case")
    parser.add_argument("--plot", action="store_true", help="also write program_clock.png")
    parser.add_argument(
        "--sources",
        type=_counts,
        default=(4, 8),
        help="source counts to run, comma-separated (default 4,8; the target is for 8)",
    )
    args = parser.parse_args(argv)
    cases = [Case(n, Size(w, h)) for w, h in ((640, 360), (1280, 720)) for n in args.sources]
    results = [run_case(case, args.seconds) for case in cases]
    target = next((r for r in results if r["sources"] == 8 and r["size"] == "640x360"), None)
    report = {
        "benchmark": "program_clock",
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "av": av.__version__,
            "platform": platform.platform(),
        },
        "target": TARGET,
        "meets_target": target is not None
        and target["jitter_ms"]["p99"] <= TARGET["p99_jitter_ms"]
        and target["cpu_percent_of_core"] <= TARGET["cpu_percent_of_core"],
        "cases": [{k: v for k, v in r.items() if k != "intervals_ms"} for r in results],
    }
    RESULTS.mkdir(exist_ok=True)
    text = json.dumps(report, indent=2)
    (RESULTS / "program_clock.json").write_text(text + "\n")
    if args.plot:
        _plot(results, RESULTS / "program_clock.png")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
