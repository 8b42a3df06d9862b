"""What a source is in the show's configuration, and how it becomes a media source.

A spec is the text a director types or a settings file keeps: `kind:target[=Label]`,
e.g. `test:Bars`, `file:/clips/intro.mp4=Intro`, `camera:/dev/video0`, `ndi:STUDIO (Cam 1)`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from media.audio.capture import CaptureSource
from media.audio.source import AudioSource
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
    """An audio input of its own (the sound of video sources comes with them).

    Text: `DEVICE` or `input:DEVICE` (a PortAudio device: part of its name, or its index;
    empty for the default), `tone:NAME` (a 1 kHz line-up tone), each with `=Label`.
    """

    kind: str  # one of AUDIO_KINDS
    target: str
    label: str = ""

    def __post_init__(self) -> None:
        if self.kind not in AUDIO_KINDS:
            raise BadSourceSpec(f"unknown audio kind {self.kind!r}; use one of {AUDIO_KINDS}")

    @classmethod
    def parse(cls, text: str) -> AudioSpec:
        text = text.strip()
        kind, sep, rest = text.partition(":")
        if not sep or kind not in AUDIO_KINDS:
            kind, rest = "input", text  # a device name may hold a colon ("hw:1,0")
        target, _, label = rest.rpartition("=") if "=" in rest else (rest, "", "")
        return cls(kind, target.strip(), label.strip())

    @property
    def name(self) -> str:
        return _slug(self.label or self.target or self.kind) or self.kind

    def __str__(self) -> str:
        return f"{self.kind}:{self.target}" + (f"={self.label}" if self.label else "")


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
    info: SourceInfo, spec: SourceSpec, size: Size, ndi: NdiConfig, fps: Fraction, position: int
) -> Source:
    if spec.kind == "test":
        # A pitch per position (A4, A5, E6, ...): which test source is on air, by ear.
        return TestPatternSource(info.name, size=size, fps=fps, tone_hz=440.0 * position)
    if spec.kind == "file":
        return FileSource(info.name, spec.target, size=size)
    if spec.kind == "camera":
        return CameraSource(info.name, spec.target, size=size)
    return NdiSource(info.name, spec.target, config=ndi, size=size)


def source_audio(source: Source) -> AudioSource | None:
    """The sound a video source carries (NDI, a file, a test tone), if any."""
    audio = getattr(source, "audio", None)
    return audio if isinstance(audio, AudioSource) else None


def build_audio(spec: AudioSpec, name: str) -> AudioSource:
    if spec.kind == "tone":
        return ToneSource(name, level_dbfs=-20.0)
    device: int | str | None = spec.target or None
    if isinstance(device, str) and device.isdigit():
        device = int(device)
    return CaptureSource(name, device)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:32]


def _short(spec: SourceSpec) -> str:
    if spec.kind in ("file", "camera"):
        return spec.target.replace("\\", "/").rsplit("/", 1)[-1] or spec.target
    return spec.target
