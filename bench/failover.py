"""Failover of a session's SRT ingest between two backend processes: time back on air.

Run from the repository root:

    python -m bench.failover [--runs 3] [--plot]

Two real `returnfeed-cloud` processes with `--redis-url` (one SQLite file, one Redis:
tests/cloud/scale/pair.py), the session owned by one (A), `returnfeed send --cloud` at the
other (B) publishing to A, and an aiortc viewer on B (an edge) before the kill. Then
kill -9 of A, and from that moment:

- lease_moved_s: B holds the session's lease (B's /api/health, polled every 50 ms);
- director_back_s: the director's hi layer publishes to B (B's log says so);
- new_viewer_video_s: a viewer that offers on B once the director is back has its first
  decoded frame (the offer's own time to first frame added to director_back_s).

What sets them: the director's SRT link notices A is gone after its peer idle timeout
(5 s), the app reads the target again after a layer has not connected for 2 s
(app/srt_renewal.py), and A's lease expires 6 s after its last renewal at most
(cloud/scale/owner.py). Prints JSON, writes bench/results/failover.json (and failover.png
with --plot). The machine is shared: numbers come with the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.cloud.gateway.helpers import live, new_show, publisher, run_async, watch_with_aiortc
from tests.cloud.scale.pair import health, two_processes
from tests.support.api import register
from tests.support.procs import wait_until

RESULTS = Path(__file__).with_name("results")
POLL_S = 0.05


def one_run(work: Path) -> dict[str, float]:
    work.mkdir()
    with two_processes(work) as (_, a, b):
        with a.client() as api:
            director = register(api)
            show = new_show(api, director)  # read at A: A owns the session
        assert a.srt_port is not None and a.proc is not None
        cloud = (b.base_url, director.access)
        with publisher(show, a.srt_port, work / "send.log", cloud=cloud) as sender:
            with a.client() as api:
                wait_until(lambda: live(api, show), 30, f"on air\n{sender.tail()}")
            edge = run_async(watch_with_aiortc(b.base_url, show.session_id, show.viewer_token, 2))
            assert edge.video_frames > 0, edge
            line = f"SRT publisher {show.session_id}/hi from"
            seen = b.log_text().count(line)  # the edge's own pull counts once
            killed = time.monotonic()
            a.proc.stop(signal.SIGKILL)
            moved = back = None
            while back is None:
                now = time.monotonic() - killed
                if now > 60:
                    raise TimeoutError(f"not back on air in 60 s\n{sender.tail()}")
                if moved is None and show.session_id in health(b)[1]["scale"]["owns"]:
                    moved = now
                if b.log_text().count(line) > seen:
                    back = now
                time.sleep(POLL_S)
            asked = time.monotonic() - killed
            token = show.viewer_token
            viewer = run_async(watch_with_aiortc(b.base_url, show.session_id, token, 2))
            assert viewer.first_frame_s is not None, viewer
    return {
        "lease_moved_s": round(moved if moved is not None else back, 2),
        "director_back_s": round(back, 2),
        "new_viewer_video_s": round(asked + viewer.first_frame_s, 2),
    }


def plot(out: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = ("lease_moved_s", "director_back_s", "new_viewer_video_s")
    fig, ax = plt.subplots(figsize=(7, 4))
    for i, run in enumerate(out["runs"]):
        ax.scatter(range(len(keys)), [run[k] for k in keys], label=f"run {i + 1}")
    ax.set_xticks(range(len(keys)), [k.removesuffix("_s").replace("_", " ") for k in keys])
    ax.set_ylabel("seconds after kill -9 of the owner")
    ax.set_title("Ingest failover between two backend processes")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--plot", action="store_true", help="also write failover.png")
    p.add_argument("--out", type=Path, default=RESULTS / "failover.json")
    args = p.parse_args()
    runs = []
    with tempfile.TemporaryDirectory(prefix="rf-failover-") as tmp:
        for i in range(args.runs):
            runs.append(one_run(Path(tmp) / f"run{i}"))
    out: dict[str, Any] = {
        "machine": platform.node(),
        "cpus": os.cpu_count(),
        "load_avg": [round(x, 2) for x in os.getloadavg()],
        "runs": runs,
        "median": {k: statistics.median(r[k] for r in runs) for k in runs[0]},
    }
    args.out.parent.mkdir(exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    if args.plot:
        plot(out, args.out.with_suffix(".png"))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
