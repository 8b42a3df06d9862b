"""Recordings on disk, one folder each, written so that a crash leaves nothing corrupt.

    <root>/<session id>/<recording id>/init.mp4             ftyp + moov
    <root>/<session id>/<recording id>/<seq>-<ms>.m4s       moof + mdat, <ms> long
    <root>/<session id>/<recording id>/state.json           recording / ended, and why
    <root>/<session id>/<recording id>/lo/...               the lo layer's copy, the same files

The lo copy lives inside its recording's folder, so it goes with it (delete, retention)
and is counted in its size; a recording lists and downloads as its hi files.

Every file is written under a temporary name and renamed when complete (rename is
atomic), so after kill -9 the folder holds whole segments only; a leftover ``*.tmp`` is
ignored and removed. Names are checked against fixed patterns before any path is built,
so an id can never climb out of the root.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

SESSION_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")
RECORDING_ID = re.compile(r"\d{8}T\d{6}Z-[0-9a-f]{6}")
SEGMENT = re.compile(r"(\d{6})-(\d{1,7})\.m4s")
INIT = "init.mp4"
STATE = "state.json"
LAYERS = ("hi", "lo")  # hi is the recording's own folder, lo its subfolder of that name


class BadId(ValueError):
    """A session, recording or segment id that is not one of ours (or a path trick)."""


class NoRecording(LookupError):
    """No such recording (never made, or deleted)."""


class NoLayer(NoRecording):
    """The recording exists but has no copy of that layer (its publisher sent hi only, or
    lo never reached an IDR before the recording ended)."""


@dataclass(frozen=True, slots=True)
class Segment:
    seq: int
    duration_s: float
    path: Path


@dataclass(frozen=True, slots=True)
class RecordingInfo:
    id: str
    session_id: str
    started_at: float  # time.time()
    state: str  # recording | ended
    reason: str | None  # why it ended: publisher_left, disk_full, write_error, ...
    segments: int
    duration_s: float
    bytes: int  # the hi files
    lo_bytes: int | None  # the lo copy's files; None: there is none


def check(pattern: re.Pattern[str], value: str, what: str) -> str:
    if not pattern.fullmatch(value):
        raise BadId(f"{what} {value[:40]!r} is not valid")
    return value


def _layer_path(base: Path, layer: str) -> Path:
    if layer not in LAYERS:
        raise BadId(f"layer {layer[:10]!r} is not valid")
    return base if layer == "hi" else base / layer


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


class RecordingDir:
    """One recording being written (owned by its segmenter's thread)."""

    def __init__(self, path: Path, session_id: str, recording_id: str) -> None:
        self.path = path
        self.session_id = session_id
        self.id = recording_id
        self.bytes = 0
        self.segments = 0

    def write_init(self, data: bytes) -> None:
        _write_atomic(self.path / INIT, data)
        self.bytes += len(data)

    def write_segment(self, seq: int, duration_s: float, data: bytes) -> None:
        ms = min(9_999_999, max(1, round(duration_s * 1000)))
        _write_atomic(self.path / f"{seq:06d}-{ms}.m4s", data)
        self.bytes += len(data)
        self.segments += 1

    def set_state(self, state: str, reason: str | None = None) -> None:
        _write_atomic(
            self.path / STATE,
            json.dumps({"state": state, "reason": reason, "at": time.time()}).encode(),
        )


class RecordingStore:
    def __init__(self, root: Path, max_bytes: int, max_age_s: float) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self.max_age_s = max_age_s
        self._lock = threading.Lock()  # retention and deletes, from any thread

    @staticmethod
    def new_id() -> str:
        """A fresh recording id; its hi and lo segmenters both write under it."""
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        return f"{stamp}-{secrets.token_hex(3)}"

    def create(
        self, session_id: str, recording_id: str | None = None, layer: str = "hi"
    ) -> RecordingDir:
        """The folder of a recording's `layer`; either layer may come first (lo's first IDR
        can precede hi's), so the recording's folder may exist already."""
        check(SESSION_ID, session_id, "session id")
        recording_id = check(RECORDING_ID, recording_id or self.new_id(), "recording id")
        base = self.root / session_id / recording_id
        base.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        base.mkdir(exist_ok=True, mode=0o700)
        path = _layer_path(base, layer)
        path.mkdir(exist_ok=True, mode=0o700)
        rec = RecordingDir(path, session_id, recording_id)
        rec.set_state("recording")
        return rec

    def folder(self, session_id: str, recording_id: str, layer: str = "hi") -> Path:
        check(SESSION_ID, session_id, "session id")
        check(RECORDING_ID, recording_id, "recording id")
        base = self.root / session_id / recording_id
        path = _layer_path(base, layer)
        if not (path / INIT).is_file():
            # A lo copy is only asked for of a recording that exists: say which is missing.
            raise NoLayer(layer) if (base / INIT).is_file() else NoRecording(recording_id)
        return path

    def segments(self, session_id: str, recording_id: str, layer: str = "hi") -> list[Segment]:
        path = self.folder(session_id, recording_id, layer)
        found: list[Segment] = []
        for entry in os.scandir(path):
            match = SEGMENT.fullmatch(entry.name)
            if match:
                found.append(Segment(int(match[1]), int(match[2]) / 1000, Path(entry.path)))
        return sorted(found, key=lambda s: s.seq)

    def segment(self, session_id: str, recording_id: str, name: str, layer: str = "hi") -> Path:
        check(SEGMENT, name, "segment")
        path = self.folder(session_id, recording_id, layer) / name
        if not path.is_file():
            raise NoRecording(name)
        return path

    def info(self, session_id: str, recording_id: str) -> RecordingInfo:
        path = self.folder(session_id, recording_id)
        segments = self.segments(session_id, recording_id)
        try:
            state = json.loads((path / STATE).read_text())
        except (OSError, ValueError):
            state = {"state": "recording", "reason": None}
        size = sum(f.stat().st_size for f in path.iterdir() if f.is_file())
        lo = path / "lo"
        lo_bytes = _size(lo, clean=False) if (lo / INIT).is_file() else None
        return RecordingInfo(
            id=recording_id,
            session_id=session_id,
            started_at=(path / INIT).stat().st_mtime,
            state=str(state.get("state", "recording")),
            reason=state.get("reason"),
            segments=len(segments),
            duration_s=round(sum(s.duration_s for s in segments), 3),
            bytes=size,
            lo_bytes=lo_bytes,
        )

    def recordings(self, session_id: str) -> list[RecordingInfo]:
        check(SESSION_ID, session_id, "session id")
        folder = self.root / session_id
        if not folder.is_dir():
            return []
        out = []
        for entry in sorted(os.listdir(folder)):
            if RECORDING_ID.fullmatch(entry):
                try:
                    out.append(self.info(session_id, entry))
                except (NoRecording, FileNotFoundError):
                    continue  # being made, or deleted as we looked
        return out

    def delete(self, session_id: str, recording_id: str) -> None:
        path = self.folder(session_id, recording_id)
        with self._lock:
            shutil.rmtree(path, ignore_errors=True)

    def enforce(self, active: set[Path]) -> list[Path]:
        """Remove ended recordings past the age limit, then the oldest until the store
        fits its size limit (the ones being written are kept); returns what went."""
        with self._lock:
            folders = sorted(
                (p for p in self.root.glob("*/*") if RECORDING_ID.fullmatch(p.name)),
                key=lambda p: p.name,
            )
            sizes = {p: _size(p, clean=p not in active) for p in folders}
            total = sum(sizes.values())
            now = time.time()
            removed = []
            for path in folders:
                if path in active:
                    continue
                old = now - _mtime(path) > self.max_age_s
                if old or total > self.max_bytes:
                    shutil.rmtree(path, ignore_errors=True)
                    total -= sizes[path]
                    removed.append(path)
            for path in removed:
                log.info("recording %s removed by retention", path.name)
            return removed


def _size(path: Path, clean: bool) -> int:
    """The bytes of a recording's files, its lo copy's included."""
    total = 0
    for f in path.iterdir():
        if f.is_dir():
            total += _size(f, clean)
        elif clean and f.name.endswith(".tmp"):
            f.unlink(missing_ok=True)  # a crash's unfinished segment
        else:
            total += f.stat().st_size
    return total


def _mtime(path: Path) -> float:
    """The newest write to a recording, its lo copy's included."""
    newest = path.stat().st_mtime
    for f in path.iterdir():
        newest = max(newest, _mtime(f) if f.is_dir() else f.stat().st_mtime)
    return newest
