"""What a source is in the show's configuration, and how it becomes a media source.

A spec is the text a director types or a settings file keeps: `kind:target[=Label]`,
e.g. `test:Bars`, `file:/clips/intro.mp4=Intro`, `camera:/dev/video0`, `ndi:STUDIO (Cam 1)`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from media.audio.capture import CaptureSource
from media.audio.mixer import AudioSource
from media.audio.tone import ToneSource
from media.frames import Size
from media.sources.base import Source
from media.sources.camera import CameraSource
from media.sources.file import FileSource
from media.sources.ndi import NdiConfig, NdiSource
from media.sources.testpattern import TestPatternSource

from .state import SOURCE_KINDS, SourceInfo

AUDIO_KINDS = ("tone", "input")


class BadSourceSpec(ValueError):
    """A source spec that cannot be read; the message says what is wrong."""


@dataclass(frozen=True, slots=True)
class SourceSpec:
    kind: str  # one of SOURCE_KINDS
    target: str  # test: the pattern's name; file: path; camera: device; ndi: NDI name
    label: str = ""

    def __post_init__(self) -> None:
        if self.kind not in SOURCE_KINDS:
            raise BadSourceSpec(f"unknown source kind {self.kind!r}; use one of {SOURCE_KINDS}")
        if not self.target.strip():
            raise BadSourceSpec(f"a {self.kind} source needs a target")

    @classmethod
    def parse(cls, text: str) -> SourceSpec:
        kind, sep, rest = text.strip().partition(":")
        if not sep:
            raise BadSourceSpec(f"{text!r} is not kind:target (e.g. test:Bars, file:/a.mp4)")
        target, _, label = rest.rpartition("=") if "=" in rest else (rest, "", "")
        return cls(kind.strip().lower(), target.strip(), label.strip())

    def __str__(self) -> str:
        return f"{self.kind}:{self.target}" + (f"={self.label}" if self.label else "")


@dataclass(frozen=True, slots=True)
class AudioSpec:
    kind: str  # "tone" or "input"
    target: str  # tone: its name; input: a PortAudio device name or index ("" = default)
    label: str = ""

    @classmethod
    def parse(cls, text: str) -> AudioSpec:
        kind, _, rest = text.strip().partition(":")
        if kind not in AUDIO_KINDS:
            raise BadSourceSpec(f"unknown audio kind {kind!r}; use one of {AUDIO_KINDS}")
        target, _, label = rest.rpartition("=") if "=" in rest else (rest, "", "")
        return cls(kind, target.strip(), label.strip())

    @property
    def name(self) -> str:
        return self.label or (self.target if self.kind == "tone" and self.target else self.kind)


def default_specs(count: int = 4) -> tuple[SourceSpec, ...]:
    """Test patterns, so a fresh install shows a working switcher before anything is set up."""
    return tuple(SourceSpec("test", f"Test {n}") for n in range(1, count + 1))


def source_names(specs: tuple[SourceSpec, ...]) -> tuple[SourceInfo, ...]:
    """Each spec's switcher id: short, unique and stable across restarts (its position)."""
    infos: list[SourceInfo] = []
    used: set[str] = set()
    for index, spec in enumerate(specs, start=1):
        base = _slug(spec.label or spec.target) or f"src{index}"
        name, n = base, 2
        while name in used:
            name, n = f"{base}-{n}", n + 1
        used.add(name)
        infos.append(SourceInfo(name, spec.label or _short(spec), spec.kind))
    return tuple(infos)


def build_source(
    info: SourceInfo, spec: SourceSpec, size: Size, ndi: NdiConfig, fps: Fraction
) -> Source:
    if spec.kind == "test":
        return TestPatternSource(info.name, size=size, fps=fps)
    if spec.kind == "file":
        return FileSource(info.name, spec.target, size=size)
    if spec.kind == "camera":
        return CameraSource(info.name, spec.target, size=size)
    return NdiSource(info.name, spec.target, config=ndi, size=size)


def build_audio(spec: AudioSpec) -> AudioSource:
    if spec.kind == "tone":
        return ToneSource(spec.name, level_dbfs=-20.0)
    device: int | str | None = spec.target or None
    if isinstance(device, str) and device.isdigit():
        device = int(device)
    return CaptureSource(spec.name, device)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:32]


def _short(spec: SourceSpec) -> str:
    if spec.kind in ("file", "camera"):
        return spec.target.replace("\\", "/").rsplit("/", 1)[-1] or spec.target
    return spec.target
