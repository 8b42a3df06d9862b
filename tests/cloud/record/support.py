"""Shared steps of the recording tests: a recorded show, and ffprobe/ffmpeg as the
independent judge of what the backend wrote."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
from pathlib import Path
from typing import Any

import httpx

from tests.support.api import Director
from tests.support.procs import wait_until

FFPROBE = shutil.which("ffprobe") or "ffprobe"
FFMPEG = shutil.which("ffmpeg") or "ffmpeg"
PASSTHROUGH = ("-fps_mode", "passthrough", "-enc_time_base:v", "-1")  # frames as they are


def recordings(api: httpx.Client, session_id: str, auth: dict[str, str]) -> dict[str, Any]:
    r = api.get(f"/api/sessions/{session_id}/recordings", headers=auth)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def wait_recordings(
    api: httpx.Client, session_id: str, director: Director, count: int, state: str
) -> list[dict[str, Any]]:
    """The session's recordings once `count` of them are in `state`."""
    found: list[dict[str, Any]] = []

    def ready() -> bool:
        nonlocal found
        found = recordings(api, session_id, director.auth)["recordings"]
        return sum(bool(r["state"] == state) for r in found) >= count

    wait_until(ready, 30, f"{count} recording(s) {state}: {found}")
    return found


def probe(path: Path) -> dict[str, Any]:
    out = subprocess.run(
        [FFPROBE, "-v", "error", "-print_format", "json", "-show_format", "-show_streams", path],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def decode_errors(path: Path) -> str:
    """What ffmpeg says decoding every frame of `path` (empty: it decoded cleanly). The
    frames keep their own timestamps: the sender's lo layer (30 fps) has a frame off its
    grid now and then (an IDR asked for between two of its frames), which ffmpeg's default
    constant-rate output would report as two frames at one instant."""
    out = subprocess.run(
        [FFMPEG, "-v", "error", "-xerror", "-i", path, *PASSTHROUGH, "-f", "null", "-"],
        capture_output=True,
        text=True,
    )
    return out.stderr.strip() or ("" if out.returncode == 0 else f"exit {out.returncode}")


def top_boxes(data: bytes) -> list[str]:
    """The top-level box types of an MP4, in file order."""
    kinds = []
    at = 0
    while at + 8 <= len(data):
        size, kind = struct.unpack_from(">I4s", data, at)
        if size == 1:
            (size,) = struct.unpack_from(">Q", data, at + 8)
        kinds.append(kind.decode("latin-1"))
        if size < 8:
            break
        at += size
    return kinds


def fetch(api: httpx.Client, url: str, auth: dict[str, str], out: Path) -> Path:
    r = api.get(url, headers=auth, timeout=60)
    assert r.status_code == 200, r.text
    out.write_bytes(r.content)
    return out
