"""What this machine can take in: NDI sources, cameras and audio inputs, each with notes.

Never raises for a missing device or library: an empty list and a note instead,
so a director can always see why something is absent.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from media.audio.capture import AudioDevice, list_audio_devices
from media.errors import MediaError
from media.sources.camera import CameraDevice, list_cameras
from media.sources.ndi import NdiConfig, NdiSourceInfo, list_ndi_sources


@dataclass(frozen=True, slots=True)
class Inventory:
    ndi: list[NdiSourceInfo] = field(default_factory=list)
    cameras: list[CameraDevice] = field(default_factory=list)
    audio: list[AudioDevice] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def take_inventory(ndi: NdiConfig | None = None, timeout: float = 1.0) -> Inventory:
    notes: list[str] = []
    ndi_sources: list[NdiSourceInfo] = []
    cameras: list[CameraDevice] = []
    audio: list[AudioDevice] = []
    config = ndi or NdiConfig()
    try:
        ndi_sources = list_ndi_sources(config, timeout)
        if not ndi_sources:
            how = ["mDNS"]
            if config.extra_ips:
                how.append("extra IPs " + ",".join(config.extra_ips))
            if config.discovery_server:
                how.append(f"discovery server {config.discovery_server}")
            notes.append(f"no NDI sources found in {timeout:g} s via {', '.join(how)}")
    except MediaError as exc:
        notes.append(f"NDI unavailable: {exc}")
    try:
        cameras = list_cameras()
        if not cameras:
            notes.append("no cameras found")
    except (MediaError, OSError) as exc:
        notes.append(f"cameras unavailable: {exc}")
    try:
        audio = list_audio_devices()
        if not audio:
            notes.append("PortAudio found no audio input device")
    except MediaError as exc:
        notes.append(str(exc))
    return Inventory(ndi_sources, cameras, audio, notes)
