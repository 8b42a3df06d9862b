"""Run every benchmark, then write docs/BENCHMARKS.md from what they measured.

Run from the repository root (outside CI: the whole run takes 15-25 minutes):
    bench/report [--only NAME,...] [--skip NAME,...] [--from-results]

Each benchmark runs as its own process with --plot, one after another so they do not
compete for the two cores, and writes bench/results/NAME.json (+ NAME.png). A benchmark
that fails is reported as failed in the page with the tail of its output; the others
still run. --from-results skips the runs and rewrites the page from the JSON already in
bench/results (the page then says so, with each file's date).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.report_page import Outcome, write_page

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PAGE = ROOT / "docs" / "BENCHMARKS.md"


@dataclass(frozen=True)
class Bench:
    name: str
    args: tuple[str, ...]
    timeout_s: float
    stdout_json: bool = False  # the benchmark prints its JSON instead of writing the file


BENCHES = (
    Bench("glass_to_glass", ("--plot",), 900),
    Bench("viewers", ("--plot",), 900),
    Bench("tally_latency", ("--clients", "100,500,1000,2000", "--redis", "--plot"), 900),
    Bench("encode", ("--seconds", "5", "--rounds", "3", "--plot"), 600),
    Bench("program_clock", ("--seconds", "5", "--plot"), 300),
    Bench("ui_pacing", ("--seconds", "8", "--plot"), 300),
    Bench("soak", ("--outages", "20", "--plot"), 1800),
    Bench("layer_rates", ("--plot",), 600),
    Bench("av_sync", ("--seconds", "30", "--plot"), 600),
    Bench("audio_mix", ("--seconds", "20", "--plot"), 300),
    Bench("turn_connect", ("--joins", "20", "--plot"), 600),
    Bench("wan_latency", ("--seconds", "12", "--plot"), 900),
    Bench("hls_latency", ("--seconds", "20", "--scrubs", "10", "--plot"), 300),
    Bench("segmenter_cpu", ("--seconds", "30", "--plot"), 300),
)


def run_one(bench: Bench) -> Outcome:
    argv = [sys.executable, "-m", f"bench.{bench.name}", *bench.args]
    started = time.monotonic()
    try:
        done = subprocess.run(
            argv, cwd=ROOT, capture_output=True, text=True, timeout=bench.timeout_s
        )
    except subprocess.TimeoutExpired as exc:
        tail = (exc.stdout or b"")[-2000:]
        text = tail.decode(errors="replace") if isinstance(tail, bytes) else tail
        return Outcome(bench.name, None, time.monotonic() - started, f"timed out\n{text}")
    seconds = time.monotonic() - started
    if done.returncode != 0:
        tail = (done.stdout + done.stderr)[-2000:]
        return Outcome(bench.name, None, seconds, f"exit {done.returncode}\n{tail}")
    return Outcome(bench.name, read_result(bench.name), seconds, None)


def read_result(name: str) -> dict[str, Any] | None:
    path = RESULTS / f"{name}.json"
    if not path.exists():
        return None
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    names = [b.name for b in BENCHES]
    parser.add_argument("--only", default=",".join(names), help="benchmarks to run")
    parser.add_argument("--skip", default="", help="benchmarks to leave out")
    parser.add_argument("--from-results", action="store_true", help="only rewrite the page")
    parser.add_argument("--page", type=Path, default=PAGE, help="where to write the page")
    args = parser.parse_args(argv)
    chosen = set(args.only.split(",")) - set(args.skip.split(","))
    unknown = chosen - set(names) - {""}
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    outcomes: list[Outcome] = []
    for bench in BENCHES:
        if bench.name not in chosen:
            outcomes.append(Outcome(bench.name, read_result(bench.name), None, None))
            continue
        if args.from_results:
            outcomes.append(Outcome(bench.name, read_result(bench.name), None, None))
            continue
        print(f"report: running {bench.name} ...", file=sys.stderr, flush=True)
        outcome = run_one(bench)
        state = "failed" if outcome.error else f"{outcome.seconds:.0f} s"
        print(f"report: {bench.name} {state}", file=sys.stderr, flush=True)
        outcomes.append(outcome)
    write_page(args.page, outcomes, RESULTS)
    summary = {o.name: ("failed" if o.error else "ok" if o.result else "missing") for o in outcomes}
    print(json.dumps({"page": str(args.page), "benchmarks": summary}, indent=2))
    return 1 if any(o.error for o in outcomes) else 0


if __name__ == "__main__":
    raise SystemExit(main())
