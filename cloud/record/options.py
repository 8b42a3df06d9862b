"""The backend's recording options (`returnfeed-cloud --help`, docs/recording.md)."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path
from typing import TypedDict

from cloud.config import env_float, env_value

GB = 1024**3
DAY_S = 24 * 3600


def add_arguments(p: argparse.ArgumentParser, env: Mapping[str, str]) -> None:
    rec = p.add_argument_group("recording, replay and HLS (docs/recording.md)")
    rec.add_argument(
        "--no-recording",
        action="store_true",
        default=env_value(env, "NO_RECORDING") in ("1", "true", "yes"),
        help="keep no recordings (and so serve no replay or HLS)",
    )
    rec.add_argument(
        "--recordings-dir",
        type=Path,
        default=env_value(env, "RECORDINGS_DIR"),
        help="where recordings are written (default: DATA_DIR/recordings)",
    )
    rec.add_argument(
        "--recording-max-gb",
        type=float,
        metavar="GB",
        default=env_float(env, "RECORDING_MAX_GB", 20.0),
        help="the oldest ended recordings go once all of them hold more (default 20)",
    )
    rec.add_argument(
        "--recording-max-age-days",
        type=float,
        metavar="DAYS",
        default=env_float(env, "RECORDING_MAX_AGE_DAYS", 30.0),
        help="ended recordings older than this go (default 30)",
    )


class RecordingSettings(TypedDict):
    recording: bool
    recordings_dir: Path
    recording_max_bytes: int
    recording_max_age_s: float


def settings(args: argparse.Namespace, data_dir: Path) -> RecordingSettings:
    """The Settings fields these arguments set."""
    return {
        "recording": not args.no_recording,
        "recordings_dir": (args.recordings_dir or data_dir / "recordings").expanduser(),
        "recording_max_bytes": int(args.recording_max_gb * GB),
        "recording_max_age_s": args.recording_max_age_days * DAY_S,
    }
