"""A recording as one MP4: its segments remuxed (not re-encoded) with faststart, so a
browser or player can start before the whole file is there (moov before mdat)."""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path

import av

from cloud.record.store import INIT, Segment

PROGRAM = "program.mp4"  # an ended recording's MP4, made once


def remux(init: Path, segments: list[Segment], out: Path) -> None:
    """Write `out` (through a temporary name) from the fragmented init and segments."""
    joined = out.with_name(f".{secrets.token_hex(4)}.fmp4.tmp")
    tmp = out.with_name(f".{secrets.token_hex(4)}.mp4.tmp")
    try:
        with open(joined, "wb") as w:
            for part in [init, *(s.path for s in segments)]:
                with open(part, "rb") as r:
                    shutil.copyfileobj(r, w)
        with (
            av.open(str(joined)) as src,
            av.open(str(tmp), "w", format="mp4", options={"movflags": "+faststart"}) as dst,
        ):
            streams = {s.index: dst.add_stream_from_template(s) for s in src.streams}
            for packet in src.demux():
                if packet.dts is None:
                    continue  # the demuxer's flush packet
                packet.stream = streams[packet.stream.index]
                dst.mux(packet)
        os.replace(tmp, out)
    finally:
        joined.unlink(missing_ok=True)
        tmp.unlink(missing_ok=True)


def program_mp4(folder: Path, segments: list[Segment], ended: bool, scratch: Path) -> Path:
    """The recording's MP4: kept beside it once it ended, else a fresh copy in `scratch`
    for this one answer (the caller removes it)."""
    if ended:
        cached = folder / PROGRAM
        if not cached.is_file():
            remux(folder / INIT, segments, cached)
        return cached
    scratch.mkdir(parents=True, exist_ok=True)
    out = scratch / f"{secrets.token_hex(8)}.mp4"
    remux(folder / INIT, segments, out)
    return out
