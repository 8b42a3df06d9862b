"""The director's settings, kept with QSettings: sources, audio inputs, NDI, encoder, SRT,
backend, language.

No secrets here (QSettings is a plain file): logins and the control token live in the
keyring (app/session_link/vault.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import QSettings

from app.engine.sources import AudioSpec, BadSourceSpec, SourceSpec, default_specs

ENCODERS = ("auto", "libx264", "nvenc", "qsv", "videotoolbox")


@dataclass(frozen=True, slots=True)
class Settings:
    sources: tuple[SourceSpec, ...] = field(default_factory=default_specs)
    audio: tuple[AudioSpec, ...] = ()  # inputs of their own; video sources bring their sound
    ndi_extra_ips: tuple[str, ...] = ()
    encoder: str = "auto"
    srt_latency_ms: int = 120
    backend: str = "http://127.0.0.1:8000"
    language: str = ""  # "" = follow the system
    email: str = ""


def parse_sources(lines: list[str]) -> tuple[SourceSpec, ...]:
    """One spec per line; BadSourceSpec names the line that is wrong."""
    specs = []
    for number, line in enumerate(lines, start=1):
        if line.strip() and not line.lstrip().startswith("#"):
            try:
                specs.append(SourceSpec.parse(line))
            except BadSourceSpec as exc:
                raise BadSourceSpec(f"line {number}: {exc}") from exc
    return tuple(specs)


def parse_audio(lines: list[str]) -> tuple[AudioSpec, ...]:
    """Saved audio inputs; one that no longer reads is left out, not the whole list."""
    specs = []
    for line in lines:
        try:
            specs.append(AudioSpec.parse(line))
        except BadSourceSpec:
            continue
    return tuple(specs)


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, list):
        return [str(v) for v in value]
    return []


def load(store: QSettings) -> Settings:
    """What is saved; anything unreadable falls back to its default rather than failing."""
    default = Settings()
    try:
        sources = parse_sources(_strings(store.value("sources/specs"))) or default.sources
    except BadSourceSpec:
        sources = default.sources
    try:
        latency = int(str(store.value("srt/latency_ms", default.srt_latency_ms)))
    except ValueError:
        latency = default.srt_latency_ms
    encoder = str(store.value("encoder/name", default.encoder))
    return Settings(
        sources=sources,
        audio=parse_audio(_strings(store.value("audio/specs"))),
        ndi_extra_ips=tuple(_strings(store.value("ndi/extra_ips"))),
        encoder=encoder if encoder in ENCODERS else default.encoder,
        srt_latency_ms=min(2000, max(20, latency)),
        backend=str(store.value("cloud/backend", default.backend)),
        language=str(store.value("ui/language", "")),
        email=str(store.value("cloud/email", "")),
    )


def save(store: QSettings, settings: Settings) -> None:
    store.setValue("sources/specs", [str(s) for s in settings.sources])
    store.setValue("audio/specs", [str(s) for s in settings.audio])
    store.setValue("ndi/extra_ips", list(settings.ndi_extra_ips))
    store.setValue("encoder/name", settings.encoder)
    store.setValue("srt/latency_ms", settings.srt_latency_ms)
    store.setValue("cloud/backend", settings.backend)
    store.setValue("ui/language", settings.language)
    store.setValue("cloud/email", settings.email)
    store.sync()
