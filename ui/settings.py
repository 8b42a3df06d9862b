"""The director's settings, kept with QSettings: sources, audio inputs, NDI, encoder, SRT,
backend, language, multiview layout.

No secrets here (QSettings is a plain file): logins and the control token live in the
keyring (app/session_link/vault.py).

A file from an older version or with a bad value is read with the default for that value
and a note saying so (`load_with_notes`); it never stops the app.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import QCoreApplication, QSettings

from app.desktop import SavedSettings
from app.engine.sources import AudioSpec, BadSourceSpec, SourceSpec, default_specs
from media.encode.codecs import HARDWARE, SOFTWARE
from media.sources.ndi import NdiConfig

from .i18n import LANGUAGES
from .video.grid import DEFAULT_LAYOUT, LAYOUTS

VERSION = 2  # 1 (no version key): encoder "nvenc"/"qsv"/..., latency always 120
AUTO = "auto"
ENCODERS = (AUTO, SOFTWARE, *HARDWARE)
"""What the encoder setting may hold; the dialog offers those that open on this machine."""
LEGACY_ENCODERS = {
    "nvenc": "h264_nvenc",
    "qsv": "h264_qsv",
    "videotoolbox": "h264_videotoolbox",
    "vaapi": "h264_vaapi",
    "x264": SOFTWARE,
}
NDI_BANDWIDTHS = ("proxy", "full")
LATENCY_MIN, LATENCY_MAX = 20, 2000
OLD_DEFAULT_LATENCY = 120  # what version 1 saved without being asked; it never applied

# Notes for the director (translated through ui/strings_ko.py).
NOTE_SOURCES = "Saved sources could not be read ({0}); test patterns are used instead."
NOTE_AUDIO = "A saved audio input could not be read and was left out: {0}"
NOTE_ENCODER_RENAMED = "The encoder setting {0} is now called {1}."
NOTE_ENCODER = "Unknown encoder {0} in the settings; auto is used."
NOTE_LATENCY = "SRT latency {0} in the settings is not usable; it follows the link."
NOTE_LATENCY_RANGE = "SRT latency {0} ms is outside {1}-{2} ms; {3} ms is used."
NOTE_BANDWIDTH = "Unknown NDI bandwidth {0} in the settings; proxy is used."
NOTE_LANGUAGE = "Unknown language {0} in the settings; the system's is used."
NOTE_LAYOUT = "Multiview layout {0} in the settings is not 4, 9 or 16; {1} is used."
NOTES = (
    NOTE_SOURCES,
    NOTE_AUDIO,
    NOTE_ENCODER_RENAMED,
    NOTE_ENCODER,
    NOTE_LATENCY,
    NOTE_LATENCY_RANGE,
    NOTE_BANDWIDTH,
    NOTE_LANGUAGE,
    NOTE_LAYOUT,
)


@dataclass(frozen=True, slots=True)
class Settings:
    sources: tuple[SourceSpec, ...] = field(default_factory=default_specs)
    audio: tuple[AudioSpec, ...] = ()  # inputs of their own; video sources bring their sound
    ndi_extra_ips: tuple[str, ...] = ()
    ndi_discovery: str = ""  # "host" or "host:port", comma-separated; "" = none
    ndi_bandwidth: str = "proxy"  # or "full"
    encoder: str = AUTO  # or an FFmpeg encoder name
    srt_latency_ms: int | None = None  # fixed; None follows the measured link
    backend: str = "http://127.0.0.1:8000"
    language: str = ""  # "" = follow the system
    email: str = ""
    multiview_layout: int = DEFAULT_LAYOUT  # tiles: one of ui.video.grid.LAYOUTS

    @property
    def ndi(self) -> NdiConfig:
        return NdiConfig(
            extra_ips=self.ndi_extra_ips,
            discovery_server=self.ndi_discovery or None,
            highest_bandwidth=self.ndi_bandwidth == "full",
        )

    def saved(self) -> SavedSettings:
        """What the core runs on (app/desktop.py runtime_config)."""
        return SavedSettings(self.sources, self.audio, self.ndi, self.encoder, self.srt_latency_ms)


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


def parse_audio(lines: list[str], notes: list[str] | None = None) -> tuple[AudioSpec, ...]:
    """Saved audio inputs; one that no longer reads is left out, not the whole list."""
    specs = []
    for line in lines:
        try:
            specs.append(AudioSpec.parse(line))
        except BadSourceSpec:
            if notes is not None:
                notes.append(_tr(NOTE_AUDIO).format(line))
    return tuple(specs)


def parse_ips(text: str) -> tuple[str, ...]:
    """ "a, b; c" -> ("a", "b", "c")."""
    return tuple(ip.strip() for ip in text.replace(";", ",").split(",") if ip.strip())


def _tr(text: str) -> str:
    return QCoreApplication.translate("Settings", text)


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, list):
        return [str(v) for v in value]
    return []


def _latency(value: object, version: int, notes: list[str]) -> int | None:
    text = str(value).strip().lower()
    if value is None or text in ("", AUTO):
        return None
    try:
        latency = int(text)
    except ValueError:
        notes.append(_tr(NOTE_LATENCY).format(value))
        return None
    if version < 2 and latency == OLD_DEFAULT_LATENCY:
        return None  # version 1 saved its default whatever the director did
    clamped = min(LATENCY_MAX, max(LATENCY_MIN, latency))
    if clamped != latency:
        notes.append(_tr(NOTE_LATENCY_RANGE).format(latency, LATENCY_MIN, LATENCY_MAX, clamped))
    return clamped


def _encoder(value: str, notes: list[str]) -> str:
    if value in ENCODERS:
        return value
    if value in LEGACY_ENCODERS:
        notes.append(_tr(NOTE_ENCODER_RENAMED).format(value, LEGACY_ENCODERS[value]))
        return LEGACY_ENCODERS[value]
    notes.append(_tr(NOTE_ENCODER).format(value))
    return AUTO


def _layout(value: object, notes: list[str]) -> int:
    try:
        layout = int(str(value))
    except ValueError:
        layout = 0
    if layout not in LAYOUTS:
        notes.append(_tr(NOTE_LAYOUT).format(value, DEFAULT_LAYOUT))
        return DEFAULT_LAYOUT
    return layout


def load_with_notes(store: QSettings) -> tuple[Settings, tuple[str, ...]]:
    """What is saved, and a note for each value that was unreadable and so defaulted."""
    default = Settings()
    notes: list[str] = []
    try:
        version = int(str(store.value("settings/version", 1)))
    except ValueError:
        version = 1
    try:
        sources = parse_sources(_strings(store.value("sources/specs"))) or default.sources
    except BadSourceSpec as exc:
        notes.append(_tr(NOTE_SOURCES).format(exc))
        sources = default.sources
    bandwidth = str(store.value("ndi/bandwidth", default.ndi_bandwidth))
    if bandwidth not in NDI_BANDWIDTHS:
        notes.append(_tr(NOTE_BANDWIDTH).format(bandwidth))
        bandwidth = default.ndi_bandwidth
    language = str(store.value("ui/language", ""))
    if language and language not in LANGUAGES:
        notes.append(_tr(NOTE_LANGUAGE).format(language))
        language = ""
    settings = Settings(
        sources=sources,
        audio=parse_audio(_strings(store.value("audio/specs")), notes),
        ndi_extra_ips=tuple(
            ip for item in _strings(store.value("ndi/extra_ips")) for ip in parse_ips(item)
        ),
        ndi_discovery=str(store.value("ndi/discovery", "")).strip(),
        ndi_bandwidth=bandwidth,
        encoder=_encoder(str(store.value("encoder/name", default.encoder)), notes),
        srt_latency_ms=_latency(store.value("srt/latency_ms"), version, notes),
        backend=str(store.value("cloud/backend", default.backend)),
        language=language,
        email=str(store.value("cloud/email", "")),
        multiview_layout=_layout(store.value("multiview/layout", default.multiview_layout), notes),
    )
    return settings, tuple(notes)


def load(store: QSettings) -> Settings:
    """What is saved; anything unreadable falls back to its default rather than failing."""
    return load_with_notes(store)[0]


def save(store: QSettings, settings: Settings) -> None:
    store.setValue("settings/version", VERSION)
    store.setValue("sources/specs", [str(s) for s in settings.sources])
    store.setValue("audio/specs", [str(s) for s in settings.audio])
    store.setValue("ndi/extra_ips", list(settings.ndi_extra_ips))
    store.setValue("ndi/discovery", settings.ndi_discovery)
    store.setValue("ndi/bandwidth", settings.ndi_bandwidth)
    store.setValue("encoder/name", settings.encoder)
    latency = settings.srt_latency_ms
    store.setValue("srt/latency_ms", AUTO if latency is None else latency)
    store.setValue("cloud/backend", settings.backend)
    store.setValue("ui/language", settings.language)
    store.setValue("cloud/email", settings.email)
    store.setValue("multiview/layout", settings.multiview_layout)
    store.sync()
