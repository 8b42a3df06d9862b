"""Layer rates: what each simulcast layer really sends, with hard content and real sound.

Run from the repository root:
    python -m bench.layer_rates [--seconds 10] [--plot]

Picture: bench/encode.py's noisy 360p content (ffmpeg's testsrc2, which moves, with temporal
noise, so x264 has real work every frame), 640x360 at 60 fps. Sound (`program_sound`, not a
sine): a music-like voice (12 harmonics whose pitch glides between about 110 and 440 Hz with
vibrato, under a 4 Hz syllable envelope), speech-like fricatives (bursts of high-passed white
noise, ~3 a second at random), and a pink-noise floor ~25 dB under the voice; left and
right differ (other delays and pans), so stereo is not mono twice. Both go through the real
SimulcastEncoder (libx264, the configured layers, each with its own Opus) and each layer's
real TsMuxer. Rates come from the pts (bits over program seconds), not the wall clock.

Reported per layer, for the configuration now and for the one before per-layer Opus (64
kbps stereo Opus in both layers, libopus's unconstrained VBR, lo's picture at 100 kbps):
payload kbps of video, audio and both (what the seed's 1 Mbps / 0.1 Mbps budget counts), TS
kbps (what the sender writes to SRT), an estimate of the wire (TS + 44 bytes of SRT, UDP and
IPv4 header per SRT message; no retransmissions, no ACKs), the worst one-second window of the
payload, and the Opus encoder's CPU (thread time) per layer: inside the run, and alone on the
same sound (median of --rounds, as x264's threads share the cores in the run).
Prints JSON, writes bench/results/layer_rates.json (and layer_rates.png with --plot).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from bench.encode import CONTENT, make_content
from media.audio.frames import SAMPLE_RATE, AudioFrame
from media.clock import OutputFrame
from media.encode.audio import OpusEncoder
from media.encode.codecs import SOFTWARE
from media.encode.config import (
    HI,
    LO,
    LO_BUDGET,
    PTS_HZ,
    AudioConfig,
    EncoderConfig,
)
from media.encode.simulcast import SimulcastEncoder
from media.encode.units import LayerUnit
from media.frames import Frame
from media.send.ts import TsMuxer

RESULTS = Path(__file__).resolve().parent / "results"
FPS = 60
TB = Fraction(1, FPS)
SEED_KBPS = {"hi": 1000, "lo": 100}  # the seed's layer budgets
SRT_MESSAGE = 1316  # the sender's SRT payload: 7 TS packets
SRT_UDP_IP = 16 + 8 + 20  # SRT data header + UDP + IPv4, per message
BEFORE = EncoderConfig(
    layers=(
        replace(HI, audio=AudioConfig(64_000, 2, vbr="on")),
        replace(LO, bitrate=100_000, audio=AudioConfig(64_000, 2, vbr="on")),
    ),
    encoder=SOFTWARE,
)
NOW = EncoderConfig(encoder=SOFTWARE)
SOUND = (
    "music-like voice (12 harmonics, pitch gliding 110-440 Hz, vibrato, 4 Hz syllable "
    "envelope) + fricative-like high-passed noise bursts + a pink-noise floor ~25 dB "
    "under the voice; "
    "left and right decorrelated; peak about -6 dBFS"
)


# -- content ------------------------------------------------------------------------------


def _pink(n: int, rng: np.random.Generator) -> np.ndarray:
    spectrum = np.fft.rfft(rng.standard_normal(n))
    spectrum /= np.sqrt(np.maximum(np.arange(spectrum.size), 1))  # 1/f power
    pink = np.fft.irfft(spectrum, n)
    return np.asarray(pink / np.max(np.abs(pink)))


def _channel(t: np.ndarray, rng: np.random.Generator, delay_s: float, pan: float) -> np.ndarray:
    n = t.size
    # The voice: pitch gliding over two octaves (slow LFO) with a 5.5 Hz vibrato.
    f0 = (
        220
        * 2 ** np.sin(2 * np.pi * 0.11 * (t + delay_s))
        * (1 + 0.012 * np.sin(2 * np.pi * 5.5 * t))
    )
    phase = 2 * np.pi * np.cumsum(f0) / SAMPLE_RATE
    voice = sum(np.sin(k * phase + k * pan) / k for k in range(1, 13))
    syllables = 0.35 + 0.65 * np.abs(np.sin(2 * np.pi * 2 * (t + delay_s))) ** 2
    # Fricatives: ~80 ms bursts of high-passed noise, about three a second.
    bursts = np.zeros(n)
    for start in rng.integers(0, max(1, n - 4000), size=max(1, int(3 * n / SAMPLE_RATE))):
        bursts[start : start + 3840] = np.hanning(3840)[: n - start]
    hiss = np.diff(rng.standard_normal(n + 1))
    floor = _pink(n, rng)
    out = (0.16 + 0.06 * pan) * voice * syllables + 0.12 * hiss * bursts + 0.03 * floor
    return np.asarray(out)


def program_sound(seconds: float, seed: int = 7) -> np.ndarray:
    """`seconds` of the benchmark's sound: (samples, 2) float32 at 48 kHz (see the module)."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    left = _channel(t, rng, 0.0, 0.3)
    right = _channel(t, rng, 0.37, -0.3)
    stereo = np.stack([left, right], axis=1)
    stereo *= 0.5 / np.max(np.abs(stereo))  # peak -6 dBFS
    return np.ascontiguousarray(stereo, np.float32)


def program(frames: list[Frame], sound: np.ndarray) -> list[OutputFrame]:
    """Program ticks at 60 fps: a picture and its 800 samples each, as the clock makes them."""
    per_tick = SAMPLE_RATE // FPS
    ticks = min(len(frames), sound.shape[0] // per_tick)
    return [
        OutputFrame(
            pts,
            TB,
            frames[pts],
            0.0,
            AudioFrame(sound[pts * per_tick : (pts + 1) * per_tick], pts * per_tick),
        )
        for pts in range(ticks)
    ]


# -- measuring ------------------------------------------------------------------------------


@dataclass
class LayerBytes:
    video: int = 0
    audio: int = 0
    ts: int = 0
    messages: int = 0  # SRT messages the sender would make
    audio_packets: int = 0
    channels: set[int] = field(default_factory=set)  # from each Opus packet's TOC byte
    per_second: dict[int, int] = field(default_factory=lambda: defaultdict(int))  # payload

    def add(self, unit: LayerUnit, muxed: bytes) -> None:
        if unit.video is not None:
            self.video += len(unit.video.data)
            self.per_second[unit.video.pts90 // PTS_HZ] += len(unit.video.data)
        for packet in unit.audio:
            self.audio += len(packet.data)
            self.audio_packets += 1
            self.channels.add(2 if packet.data[0] & 0x04 else 1)
            self.per_second[packet.pts90 // PTS_HZ] += len(packet.data)
        self.ts += len(muxed)
        self.messages += -(-len(muxed) // SRT_MESSAGE)


def encode(ticks: list[OutputFrame], config: EncoderConfig) -> dict[str, Any]:
    encoder = SimulcastEncoder(config)
    muxers = {
        name: TsMuxer(audio_channels=config.audio_channels(name)) for name in encoder.layer_names
    }
    counts = {name: LayerBytes() for name in encoder.layer_names}

    def sink(name: str) -> Any:
        def put(unit: LayerUnit) -> None:
            counts[name].add(unit, muxers[name].mux(unit))

        return put

    for name in encoder.layer_names:
        encoder.set_sink(name, sink(name))
    for tick in ticks:
        encoder.encode_tick(tick)
    seconds = len(ticks) / FPS
    stats = encoder.stats()
    out: dict[str, Any] = {}
    for name, c in counts.items():
        layer = config.layer(name)
        audio = config.layer_audio(name)

        def kbps(nbytes: float) -> float:
            return round(nbytes * 8 / seconds / 1000, 1)

        # Each whole program second's payload (the last may be partial: left out).
        windows = [round(c.per_second[s] * 8 / 1000, 1) for s in range(int(seconds))]
        opus_cpu = stats.layers[name].audio_cpu_s
        out[name] = {
            "video_target_kbps": layer.bitrate / 1000,
            "opus": None
            if audio is None
            else {"kbps": audio.bitrate / 1000, "channels": audio.channels, "vbr": audio.vbr},
            "video_kbps": kbps(c.video),
            "audio_kbps": kbps(c.audio),
            "payload_kbps": kbps(c.video + c.audio),
            "payload_max_1s_kbps": max(windows, default=0.0),
            "ts_kbps": kbps(c.ts),
            "wire_kbps_est": kbps(c.ts + c.messages * SRT_UDP_IP),
            "ts_overhead_kbps": kbps(c.ts - c.video - c.audio),
            "seed_kbps": SEED_KBPS.get(name),
            "audio_packets": c.audio_packets,
            "opus_channels_seen": sorted(c.channels),
            "opus_cpu_percent_of_core": round(100 * opus_cpu / seconds, 2),
            "opus_cpu_us_per_packet": round(1e6 * opus_cpu / max(1, c.audio_packets), 1),
            "payload_per_second_kbps": windows,
        }
    return out


def opus_cpu(ticks: list[OutputFrame], config: EncoderConfig, rounds: int) -> dict[str, Any]:
    """Each layer's Opus encoder alone on the same sound, `rounds` times: CPU (thread time)
    per packet and per second of program, the median round. Apart from the x264 run, whose
    threads compete for the same cores."""
    out: dict[str, Any] = {}
    seconds = len(ticks) / FPS
    for name in (layer.name for layer in config.layers):
        audio = config.layer_audio(name)
        if audio is None:
            continue
        per_round = []
        for _ in range(rounds):
            opus = OpusEncoder(audio)
            packets = sum(len(opus.encode(t.audio)) for t in ticks if t.audio is not None)
            per_round.append((opus.cpu_s, packets))
        cpu_s, packets = sorted(per_round)[len(per_round) // 2]
        out[name] = {
            "cpu_us_per_packet": round(1e6 * cpu_s / packets, 1),
            "cpu_percent_of_core": round(100 * cpu_s / seconds, 2),
            "rounds_cpu_s": [round(c, 4) for c, _ in per_round],
        }
    return out


# -- report ---------------------------------------------------------------------------------


def _plot(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(16, 4.5))
    for ax, name in zip(axes[:2], ("hi", "lo"), strict=True):
        labels, video, audio, wire = [], [], [], []
        for run in ("before", "now"):
            row = report["runs"][run][name]
            labels.append(run)
            video.append(row["video_kbps"])
            audio.append(row["audio_kbps"])
            wire.append(row["wire_kbps_est"])
        x = np.arange(len(labels))
        ax.bar(x - 0.2, video, 0.4, label="video payload")
        ax.bar(x - 0.2, audio, 0.4, bottom=video, label="Opus payload")
        ax.bar(x + 0.2, wire, 0.4, label="on the wire (TS+SRT/UDP/IP)", color="grey")
        ax.axhline(SEED_KBPS[name], color="red", linestyle="--", label=f"seed {SEED_KBPS[name]}")
        ax.set_xticks(x, labels)
        ax.set_ylabel("kbps")
        ax.set_title(f"{name}: payload vs wire")
        ax.legend(fontsize=8, loc="lower center")
    for run in ("before", "now"):
        series = report["runs"][run]["lo"]["payload_per_second_kbps"]
        axes[2].plot(range(len(series)), series, "o-", label=f"lo {run}")
    axes[2].axhline(LO_BUDGET / 1000, color="red", linestyle="--", label="0.1 Mbps")
    axes[2].set_title("lo payload (video + Opus) per second")
    axes[2].set_xlabel("program second")
    axes[2].set_ylabel("kbps")
    axes[2].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=10.0, help="program seconds")
    parser.add_argument("--plot", action="store_true", help="also write layer_rates.png")
    parser.add_argument("--rounds", type=int, default=5, help="Opus CPU rounds (median)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        _, frames = make_content(args.seconds, Path(tmp))
    ticks = program(frames, program_sound(args.seconds))
    runs = {"before": encode(ticks, BEFORE), "now": encode(ticks, NOW)}
    cpu = opus_cpu(ticks, NOW, args.rounds)
    lo = runs["now"]["lo"]
    report: dict[str, Any] = {
        "benchmark": "layer_rates",
        "machine": {
            "cpus": os.cpu_count(),
            "load_avg_1m": round(os.getloadavg()[0], 2),
            "python": platform.python_version(),
            "av": av.__version__,
            "platform": platform.platform(),
        },
        "settings": {
            "picture": CONTENT,
            "sound": SOUND,
            "program_seconds": len(ticks) / FPS,
            "encoder": SOFTWARE,
            "rates_from": "pts (bits over program seconds), not the wall clock",
            "wire_estimate": f"TS + {SRT_UDP_IP} B per SRT message of <= {SRT_MESSAGE} B",
        },
        "target": {"lo_payload_kbps_max": LO_BUDGET / 1000},
        "runs": runs,
        "opus_cpu_alone": cpu,
        "meets_target": lo["payload_kbps"] <= LO_BUDGET / 1000,
    }
    RESULTS.mkdir(exist_ok=True)
    text = json.dumps(report, indent=2)
    (RESULTS / "layer_rates.json").write_text(text + "\n")
    if args.plot:
        _plot(report, RESULTS / "layer_rates.png")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
