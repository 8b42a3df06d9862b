"""Audio path CPU: the program mixer with N channels at 48 kHz, as % of one core.

Run from the repository root:  python -m bench.audio_mix [--seconds 20] [--plot]

Each channel is what a real input is: a capture thread's blocks (10 ms, as PortAudio
delivers them) converted to 48 kHz stereo (half the channels arrive at 44.1 kHz, so
libswresample runs for them) and pushed into the channel's AudioRing; the mixer reads
one tick (800 samples at 60 fps) from every ring, applies gain and audio-follow-video
(two channels follow a source that cuts every second, so gain ramps run), sums, limits
and meters every channel and the program (peak, RMS, short-term loudness). The input is
noise with an envelope (hard for nothing here, but not a constant). Rendered as fast as
the CPU allows: CPU seconds / seconds of audio = share of one core in a live show.
Left out: PortAudio's own callback thread and the Opus encoders (bench/layer_rates.py).
Prints JSON, writes bench/results/audio_mix.json (and .png with --plot).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np

from media.audio.convert import ToProgram
from media.audio.frames import F32, SAMPLE_RATE
from media.audio.mixer import AudioMixer, ChannelSettings
from media.audio.ring import AudioRing
from media.audio.source import AudioState, AudioStatus

RESULTS = Path(__file__).resolve().parent / "results"
TICK = SAMPLE_RATE // 60


class RingInput:
    """A capture input without the device: blocks at `rate`, converted, into a ring."""

    def __init__(self, name: str, rate: int, seed: int) -> None:
        self.name = name
        self.ring = AudioRing(max_s=0.5)
        self._convert = ToProgram(rate)
        self._block = rate // 100
        # Noise made up front: the bench measures the audio path, not the random generator.
        rng = np.random.default_rng(seed)
        self._noise = rng.standard_normal((64, self._block, 2)).astype(np.float32)
        self._t = 0

    @property
    def status(self) -> AudioStatus:
        return AudioStatus(AudioState.LIVE)

    def start(self) -> None:
        """Nothing to open."""

    def stop(self) -> None:
        """Nothing to close."""

    def capture(self) -> None:
        """One 10 ms block from the 'device', as the callback would push it."""
        envelope = np.float32(0.2 * (1 + np.sin(self._t / 50.0)))
        noise = self._noise[self._t % self._noise.shape[0]]
        self._t += 1
        self.ring.push(self._convert(noise * envelope))

    def read(self, sample_pts: int, count: int) -> F32:
        return self.ring.read(count)


def measure(channels: int, seconds: float) -> dict[str, Any]:
    mixer = AudioMixer()
    inputs = [RingInput(f"in{n}", 44_100 if n % 2 else 48_000, n) for n in range(channels)]
    for n, source in enumerate(inputs):
        follow = ("cam1", "cam2")[n] if n < 2 else None
        mixer.add(source, ChannelSettings(follow_video=follow))
    ticks = int(seconds * 60)
    captured_ms = 0.0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for tick in range(ticks):
        # Capture keeps 10 ms blocks coming at the pace of the ticks: 100 blocks a second.
        while captured_ms < (tick + 1) * 1000 / 60:
            for source in inputs:
                source.capture()
            captured_ms += 10.0
        on_air = {"cam1": 1.0} if (tick // 60) % 2 == 0 else {"cam2": 1.0}
        mixer.render(tick * TICK, TICK, on_air)
        if tick % 3 == 0:  # the UI's 20 Hz meter poll
            mixer.meters()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    underflows = sum(s.ring.underflows for s in inputs)
    return {
        "channels": channels,
        "audio_s": ticks / 60,
        "cpu_s": round(cpu, 3),
        "wall_s": round(wall, 3),
        "cpu_percent_of_core": round(100 * cpu / (ticks / 60), 2),
        "per_tick_us": round(1e6 * cpu / ticks, 1),
        "underflow_samples": underflows,
    }


def plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = result["runs"]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot([r["channels"] for r in runs], [r["cpu_percent_of_core"] for r in runs], "o-")
    ax.set_xlabel("mixer channels (48 kHz stereo, half resampled from 44.1 kHz)")
    ax.set_ylabel("% of one core")
    ax.set_ylim(bottom=0)
    ax.set_title("Program audio mix: CPU")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="audio per case")
    parser.add_argument("--channels", default="1,2,4,8", help="cases, comma-separated")
    parser.add_argument("--plot", action="store_true")
    args = parser.parse_args(argv)
    runs = [measure(int(n), args.seconds) for n in args.channels.split(",")]
    result = {
        "bench": "audio_mix",
        "machine": platform.machine(),
        "load_avg_1m": float(Path("/proc/loadavg").read_text().split()[0]),
        "runs": runs,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "audio_mix.json").write_text(json.dumps(result, indent=2) + "\n")
    if args.plot:
        plot(result, RESULTS / "audio_mix.png")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
