"""Simulcast encoder benchmark: CPU per second of program against Debian's ffmpeg doing the
same job, per-frame encode latency, one encode thread vs one per layer, and the VBV sweep.

Run from the repository root:
    python -m bench.encode [--seconds 5] [--rounds 3] [--plot] [--vbv-sweep]

Content: ffmpeg's testsrc2 with temporal noise (sensor-like, so x264 has real work), 640x360
at 60 fps, generated once. Both sides encode both layers (hi 640x360@60 1 Mbps, lo 320x180@30
0.1 Mbps) with the same libx264 settings (media/encode/codecs.py) and mux MPEG-TS; ours also
scales hi -> lo. Audio is left out on both sides. ffmpeg reads the raw frames from a file,
so neither side pays for a pipe. Rounds alternate ours / ffmpeg; medians are reported.
Prints JSON, writes bench/results/encode.json (and encode.png with --plot).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from media.audio.mixer import AudioMixer
from media.audio.tone import ToneSource
from media.clock import ClockConfig, OutputFrame, ProgramClock
from media.encode.codecs import SOFTWARE, encoder_options
from media.encode.config import HI, LO, EncoderConfig, LayerConfig, to_pts90
from media.encode.simulcast import SimulcastEncoder
from media.encode.video import LayerEncoder
from media.fanout import DropOldestQueue
from media.frames import Frame
from media.send.ts import TsMuxer
from media.sources.base import ThreadedSource
from media.switcher import SwitcherState

RESULTS = Path(__file__).resolve().parent / "results"
TARGET = {"cpu_ratio_max": 1.15, "hi_encode_p99_ms_max": 8.0}
FPS = 60
TB = Fraction(1, FPS)
PRESET = EncoderConfig().preset
CONTENT = "testsrc2=size=640x360:rate=60,noise=alls=8:allf=t"


def make_content(seconds: float, workdir: Path) -> tuple[Path, list[Frame]]:
    path = workdir / "content.yuv"
    subprocess.run(
        [
            *(ffmpeg_binary(), "-v", "error", "-f", "lavfi", "-i", CONTENT, "-t", str(seconds)),
            *("-pix_fmt", "yuv420p", "-f", "rawvideo", "-y", str(path)),
        ],
        check=True,
    )
    raw = np.fromfile(path, np.uint8).reshape(-1, 540, 640)
    return path, [Frame(np.ascontiguousarray(f)) for f in raw]


def ffmpeg_binary() -> str:
    path = shutil.which("ffmpeg")
    if path is None:
        raise SystemExit("ffmpeg not found: apt-get install ffmpeg")
    return path


# -- CPU per second of program: ours vs ffmpeg ---------------------------------------------


def ours_cpu(frames: list[Frame]) -> float:
    """CPU seconds (all threads of this process) per second of program."""
    encoder = SimulcastEncoder(EncoderConfig(encoder=SOFTWARE, audio=None))
    muxers = {name: TsMuxer(audio_channels=None) for name in encoder.layer_names}
    sink = 0
    cpu0 = time.process_time()
    for pts, frame in enumerate(frames):
        units = encoder.encode_tick(OutputFrame(pts, TB, frame, 0.0))
        for name, unit in units.items():
            sink += len(muxers[name].mux(unit))
    return (time.process_time() - cpu0) / (len(frames) / FPS)


def _x264_args(layer: LayerConfig) -> list[str]:
    opts = encoder_options(SOFTWARE, layer, PRESET)
    return [
        *("-c:v", SOFTWARE, "-b:v", str(layer.bitrate), "-g", str(layer.keyint), "-bf", "0"),
        *("-preset", opts["preset"], "-tune", opts["tune"], "-profile:v", opts["profile"]),
        *("-forced-idr", opts["forced-idr"], "-x264-params", opts["x264-params"]),
    ]


def ffmpeg_cpu(path: Path, frames: int) -> float:
    """Debian's ffmpeg CLI: the same frames, split, the lo branch decimated then scaled."""
    graph = "[0:v]split=2[hi][x];[x]fps=30,scale=320:180:flags=area[lo]"
    args = [
        *(ffmpeg_binary(), "-nostdin", "-hide_banner", "-loglevel", "error"),
        *("-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", "640x360", "-r", str(FPS)),
        *("-i", str(path), "-filter_complex", graph),
        *("-map", "[hi]", *_x264_args(HI), "-f", "mpegts", "-y", "/dev/null"),
        *("-map", "[lo]", *_x264_args(LO), "-f", "mpegts", "-y", "/dev/null"),
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(args, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu / (frames / FPS)


# -- per-frame latency, paced like the live clock -------------------------------------------


def _paced(frames: list[Frame], seconds: float, tick: Any) -> tuple[float, float]:
    """Call tick(pts, frame) at 60 Hz on a deadline schedule; (cpu s, wall s)."""
    count = round(seconds * FPS)
    cpu0, t0 = time.process_time(), time.monotonic()
    for pts in range(count):
        delay = t0 + pts / FPS - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        tick(pts, frames[pts % len(frames)])
    return time.process_time() - cpu0, time.monotonic() - t0


def _summary(ms: list[float]) -> dict[str, float]:
    a = np.asarray(ms)
    return {
        "p50": round(float(np.percentile(a, 50)), 3),
        "p99": round(float(np.percentile(a, 99)), 3),
        "max": round(float(a.max()), 3),
        "frames": len(ms),
    }


def latency_one_thread(frames: list[Frame], seconds: float) -> dict[str, Any]:
    """What SimulcastEncoder does: hi then lo on one thread, per tick."""
    encoder = SimulcastEncoder(EncoderConfig(encoder=SOFTWARE, audio=None))
    ms: dict[str, list[float]] = {"hi": [], "lo": []}

    def tick(pts: int, frame: Frame) -> None:
        for name, unit in encoder.encode_tick(OutputFrame(pts, TB, frame, 0.0)).items():
            if unit.video is not None:
                ms[name].append(unit.video.encode_ms)

    cpu, wall = _paced(frames, seconds, tick)
    return {
        "cpu_percent_of_core": round(100 * cpu / wall, 1),
        "encode_ms": {name: _summary(v) for name, v in ms.items()},
        "hi_encode_ms_all": ms["hi"],
    }


def latency_thread_per_layer(frames: list[Frame], seconds: float) -> dict[str, Any]:
    """The alternative: each layer on its own thread, fed by its own bounded queue."""
    encoders = {layer.name: LayerEncoder(layer, SOFTWARE, preset=PRESET) for layer in (HI, LO)}
    queues: dict[str, DropOldestQueue[tuple[int, Frame]]] = {
        name: DropOldestQueue(name, 2) for name in encoders
    }
    ms: dict[str, list[float]] = {"hi": [], "lo": []}

    def work(name: str) -> None:
        encoder, queue = encoders[name], queues[name]
        while (item := queue.get()) is not None:
            pts, frame = item
            for unit in encoder.encode(frame, to_pts90(pts, TB), pts):
                ms[name].append(unit.encode_ms)

    threads = [threading.Thread(target=work, args=(name,)) for name in encoders]
    for thread in threads:
        thread.start()

    def tick(pts: int, frame: Frame) -> None:
        for queue in queues.values():
            queue.put((pts, frame))

    cpu, wall = _paced(frames, seconds, tick)
    for queue in queues.values():
        queue.close()
    for thread in threads:
        thread.join()
    return {
        "cpu_percent_of_core": round(100 * cpu / wall, 1),
        "encode_ms": {name: _summary(v) for name, v in ms.items()},
        "queue_drops": {name: q.dropped for name, q in queues.items()},
        "hi_encode_ms_all": ms["hi"],
    }


class _Playback(ThreadedSource):
    """The benchmark's frames as a live source at 60 fps, looped."""

    def __init__(self, frames: list[Frame]) -> None:
        super().__init__("playback")
        self._frames = frames
        self._t0 = 0.0
        self._index = 0

    def _open(self) -> None:
        self._t0, self._index = time.monotonic(), 0

    def _read(self) -> Frame | None:
        delay = self._t0 + self._index / FPS - time.monotonic()
        if delay > 0 and self._stopping.wait(delay):
            return None
        frame = self._frames[self._index % len(self._frames)]
        self._index += 1
        return frame

    def _close(self) -> None:
        pass


def latency_in_pipeline(frames: list[Frame], seconds: float) -> dict[str, Any]:
    """The whole live path: a source thread, the program clock (with a tone), the encode
    thread with audio, and TS muxing in the sinks, all sharing the GIL."""
    audio = AudioMixer()
    audio.add(ToneSource("tone"))
    clock = ProgramClock(lambda: SwitcherState(program="playback"), ClockConfig(), audio=audio)
    source = _Playback(frames)
    clock.add_source(source)
    encoder = SimulcastEncoder(EncoderConfig(encoder=SOFTWARE))
    muxers = {name: TsMuxer() for name in encoder.layer_names}
    for name, muxer in muxers.items():
        encoder.set_sink(name, muxer.mux)
    queue = clock.subscribe("program", "encoder", maxsize=2)
    source.start()
    clock.start()
    encoder.start(queue)
    time.sleep(0.5)  # warm up
    cpu0, t0, ticks0 = time.process_time(), time.monotonic(), clock.stats.ticks
    time.sleep(seconds)
    cpu, wall = time.process_time() - cpu0, time.monotonic() - t0
    stats, clock_stats = encoder.stats(), clock.stats
    clock.unsubscribe("program", queue)
    encoder.stop()
    clock.stop()
    source.stop()
    return {
        "cpu_percent_of_core": round(100 * cpu / wall, 1),
        "ticks": clock_stats.ticks - ticks0,
        "late_ticks": clock_stats.late_ticks,
        "skipped_ticks": clock_stats.skipped_ticks,
        "encoder_queue_drops": stats.queue_drops,
        "encode_ms": {
            name: {"p50": round(s.encode_ms_p50, 3), "p99": round(s.encode_ms_p99, 3)}
            for name, s in stats.layers.items()
        },
    }


# -- VBV sweep: how big may an IDR be? ------------------------------------------------------


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else 10 * float(np.log10(255**2 / mse))


def vbv_sweep(frames: list[Frame]) -> list[dict[str, Any]]:
    rows = []
    scaler = VideoReformatter()
    for layer in (HI, LO):
        step = round(FPS / layer.rate)
        sources = frames[: 2 * FPS : step]
        refs = []
        for frame in sources:
            picture = frame.to_av()
            if frame.size != layer.size:
                picture = scaler.reformat(
                    picture, width=layer.size.width, height=layer.size.height, interpolation="AREA"
                )
            refs.append(picture.to_ndarray()[: layer.size.height])
        for vbv_s in (1 / 60, 0.1, 0.25, 0.5, 1.0):
            encoder = LayerEncoder(replace(layer, vbv_s=vbv_s), SOFTWARE, preset=PRESET)
            decoder = av.CodecContext.create("h264", "r")
            sizes, psnr = [], []
            for i, frame in enumerate(sources):
                pts = i * step
                for unit in encoder.encode(frame, to_pts90(pts, TB), pts):
                    sizes.append(len(unit.data))
                    for out in decoder.decode(av.Packet(unit.data)):
                        psnr.append(_psnr(out.to_ndarray()[: layer.size.height], refs[i]))
            rows.append(
                {
                    "layer": layer.name,
                    "vbv_s": round(vbv_s, 4),
                    "first_idr_bytes": sizes[0],
                    "max_frame_bytes": max(sizes),
                    "psnr_first_idr_db": round(psnr[0], 1),
                    "psnr_frames_1_9_db": round(float(np.mean(psnr[1:10])), 1),
                    "psnr_mean_db": round(float(np.mean(psnr)), 1),
                    "kbps": round(sum(sizes) * 8 / (len(sizes) / float(layer.rate)) / 1000),
                }
            )
    return rows


# -- report ---------------------------------------------------------------------------------


def _plot(report: dict[str, Any], hi_ms: dict[str, list[float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sweep = report.get("vbv_sweep")
    fig, axes = plt.subplots(1, 3 if sweep else 2, figsize=(15 if sweep else 10, 4))
    cpu = report["cpu"]
    axes[0].bar(["ours", "ffmpeg CLI"], [cpu["ours_median"], cpu["ffmpeg_median"]])
    axes[0].set_title(f"CPU s per s of program (ratio {cpu['ratio']:.2f})")
    for label, values in hi_ms.items():
        values_sorted = np.sort(values)
        axes[1].plot(values_sorted, np.linspace(0, 1, len(values_sorted)), label=label)
    axes[1].axvline(TARGET["hi_encode_p99_ms_max"], color="red", linestyle="--", label="target")
    axes[1].set_title("hi layer: encode time per frame (CDF)")
    axes[1].set_xlabel("ms")
    axes[1].legend()
    if sweep:
        for name in ("hi", "lo"):
            rows = [r for r in sweep if r["layer"] == name]
            axes[2].plot(
                [r["vbv_s"] for r in rows], [r["psnr_first_idr_db"] for r in rows], "o-", label=name
            )
        axes[2].set_xscale("log")
        axes[2].set_title("first IDR PSNR (dB) vs VBV buffer (s)")
        axes[2].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=5.0, help="program seconds per run")
    parser.add_argument("--rounds", type=int, default=3, help="ours/ffmpeg rounds (median)")
    parser.add_argument("--plot", action="store_true", help="also write encode.png")
    parser.add_argument("--vbv-sweep", action="store_true", help="also sweep the VBV buffer")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path, frames = make_content(args.seconds, Path(tmp))
        ours, theirs = [], []
        for _ in range(args.rounds):
            ours.append(ours_cpu(frames))
            theirs.append(ffmpeg_cpu(path, len(frames)))
    one = latency_one_thread(frames, args.seconds)
    per_layer = latency_thread_per_layer(frames, args.seconds)
    pipeline = latency_in_pipeline(frames, args.seconds)
    ours_med, theirs_med = float(np.median(ours)), float(np.median(theirs))
    ratio = ours_med / theirs_med
    hi_p99 = max(one["encode_ms"]["hi"]["p99"], pipeline["encode_ms"]["hi"]["p99"])
    report: dict[str, Any] = {
        "benchmark": "encode",
        "machine": {
            "cpus": os.cpu_count(),
            "load_avg_1m": round(os.getloadavg()[0], 2),  # other work skews CPU and latency
            "python": platform.python_version(),
            "av": av.__version__,
            "ffmpeg_cli": subprocess.run(
                [ffmpeg_binary(), "-version"], capture_output=True, text=True, check=True
            ).stdout.splitlines()[0],
            "platform": platform.platform(),
        },
        "settings": {
            "content": CONTENT,
            "program_seconds": args.seconds,
            "encoder": SOFTWARE,
            "preset": PRESET,
            "layers": {
                layer.name: {
                    "size": str(layer.size),
                    "fps": str(layer.rate),
                    "bitrate": layer.bitrate,
                    "x264": encoder_options(SOFTWARE, layer, PRESET),
                }
                for layer in (HI, LO)
            },
        },
        "target": TARGET,
        "cpu": {
            "ours_cpu_s_per_s": [round(v, 4) for v in ours],
            "ffmpeg_cpu_s_per_s": [round(v, 4) for v in theirs],
            "ours_median": round(ours_med, 4),
            "ffmpeg_median": round(theirs_med, 4),
            "ratio": round(ratio, 3),
        },
        "latency_paced_60fps": {
            "one_thread": {k: v for k, v in one.items() if k != "hi_encode_ms_all"},
            "thread_per_layer": {k: v for k, v in per_layer.items() if k != "hi_encode_ms_all"},
        },
        "latency_in_pipeline": pipeline,
        "meets_target": ratio <= TARGET["cpu_ratio_max"]
        and hi_p99 <= TARGET["hi_encode_p99_ms_max"],
    }
    if args.vbv_sweep:
        report["vbv_sweep"] = vbv_sweep(frames)
    RESULTS.mkdir(exist_ok=True)
    text = json.dumps(report, indent=2)
    (RESULTS / "encode.json").write_text(text + "\n")
    if args.plot:
        hi_ms = {
            "one thread": one["hi_encode_ms_all"],
            "thread per layer": per_layer["hi_encode_ms_all"],
        }
        _plot(report, hi_ms, RESULTS / "encode.png")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
