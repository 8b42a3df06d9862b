"""The recording segmenter's CPU per session, as % of one core.

Run from the repository root:

    python -m bench.segmenter_cpu [--seconds 30] [--plot]

Encodes `--seconds` of the hi layer as the director's app sends it (media/encode/config.py
HI: 640x360 at 60 fps, 1 Mbit/s, IDR every 2 s; moving noise so the bitrate is really
spent) and 20 ms Opus packets, then feeds every unit to a real Segmenter (cloud/record/)
writing into a temporary folder, as fast as it takes them. The segmenter thread's own CPU
time (time.thread_time) over the media's duration is its share of a core for one live
session; encoding is not counted. Prints JSON and writes bench/results/segmenter_cpu.json
(and .png with --plot).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from cloud.gateway.units import Unit
from cloud.record.segmenter import Segmenter, SegmenterHooks
from cloud.record.store import RecordingStore
from media.encode.config import HI
from media.encode.nal import has_idr

RESULTS = Path(__file__).with_name("results")


def hi_units(seconds: float) -> list[Unit]:
    enc = av.CodecContext.create("libx264", "w")
    enc.width, enc.height, enc.pix_fmt = HI.size.width, HI.size.height, "yuv420p"
    enc.time_base = Fraction(1, 90000)
    enc.framerate = Fraction(HI.fps)
    enc.bit_rate = HI.bitrate
    enc.gop_size = HI.keyint
    enc.max_b_frames = 0
    enc.options = {"preset": "ultrafast", "tune": "zerolatency", "annexb": "1"}
    rng = np.random.default_rng(1)
    noise = rng.integers(0, 255, (HI.size.height, HI.size.width, 3), dtype=np.uint8)
    frames = round(seconds * HI.fps)
    tick = round(90000 / HI.fps)
    units: list[Unit] = []
    for i in range(frames):
        img = np.roll(noise, i * 3, axis=1)
        frame = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format="yuv420p")
        frame.pts = i * tick
        for packet in enc.encode(frame):
            data = bytes(packet)
            units.append(Unit("video", "hi", int(packet.pts), data, idr=has_idr(data)))
    opus = bytes([0xFC]) + bytes(159)  # a stereo 20 ms CELT packet's TOC, 160 bytes (64 kbps)
    units += [Unit("audio", "hi", i * 1800, opus) for i in range(round(seconds * 50))]
    units.sort(key=lambda u: (u.pts, u.kind == "video"))
    return units


def run(units: list[Unit], seconds: float) -> dict[str, Any]:
    written = [0]
    with tempfile.TemporaryDirectory() as tmp:
        store = RecordingStore(Path(tmp), 10**12, 1e9)
        hooks = SegmenterHooks(lambda n: written.__setitem__(0, written[0] + n), print, print)
        segmenter = Segmenter(store, "bench", hooks, queue_units=len(units) + 1)
        wall = time.perf_counter()
        for unit in units:
            segmenter.offer(unit)
        segmenter.stop("bench")
        segmenter.join()
        wall = time.perf_counter() - wall
        segments = segmenter.recording.segments if segmenter.recording else 0
    return {
        "media_s": seconds,
        "units": len(units),
        "segments": segments,
        "bytes_written": written[0],
        "thread_cpu_s": round(segmenter.cpu_s, 3),
        "wall_s": round(wall, 3),
        "core_percent_per_session": round(100 * segmenter.cpu_s / seconds, 2),
        "dropped": segmenter.dropped,
    }


def plot(out: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 4))
    ax.bar(["segmenter"], [out["core_percent_per_session"]])
    ax.set_ylabel("% of one core per live session")
    ax.set_title(f"{out['media_s']} s of hi (640x360p60, 1 Mbit/s) + Opus")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seconds", type=float, default=30.0, help="media to record")
    p.add_argument("--plot", action="store_true", help="also write segmenter_cpu.png")
    p.add_argument("--out", type=Path, default=RESULTS / "segmenter_cpu.json")
    args = p.parse_args()
    units = hi_units(args.seconds)
    out = {
        "machine": platform.node(),
        "cpus": os.cpu_count(),
        "loadavg": Path("/proc/loadavg").read_text().split()[:3],
        **run(units, args.seconds),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    if args.plot:
        plot(out, args.out.with_suffix(".png"))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
