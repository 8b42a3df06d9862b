"""The media side of a show: sources, the program clock and the audio mixer.

MediaShow owns them and follows the engine: it never decides anything, it applies
events (audio settings to the mixer, tally to NDI senders). The clock reads the engine's
switcher snapshot itself, once per tick, through the provider it was given.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction

from media.audio.mixer import AudioMixer
from media.clock import ClockConfig, ProgramClock
from media.frames import Size
from media.sources.base import Source
from media.sources.ndi import NdiConfig, NdiSource
from media.switcher import SwitcherState

from .events import AudioChanged, Event, TallyChanged
from .sources import AudioSpec, SourceSpec, build_audio, build_source, source_names
from .state import SourceInfo

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class MediaConfig:
    size: Size = field(default_factory=lambda: Size(640, 360))
    fps: Fraction = Fraction(60)
    ndi: NdiConfig = field(default_factory=NdiConfig)


class MediaShow:
    def __init__(
        self,
        provider: Callable[[], SwitcherState],
        config: MediaConfig,
        specs: tuple[SourceSpec, ...],
        audio: tuple[AudioSpec, ...] = (),
    ) -> None:
        self.config = config
        self.mixer = AudioMixer()
        for spec in audio:
            self.mixer.add(build_audio(spec))
        self.clock = ProgramClock(provider, ClockConfig(config.size, config.fps), audio=self.mixer)
        self._sources: dict[str, Source] = {}
        self._specs: dict[str, SourceSpec] = {}
        self.infos: tuple[SourceInfo, ...] = ()
        self._add(specs)

    @property
    def sources(self) -> dict[str, Source]:
        """By name; replaced whole on a change, so any thread may read it."""
        return self._sources

    def audio_channels(self) -> tuple[str, ...]:
        return tuple(self.mixer.settings())

    def start(self) -> None:
        for source in self._sources.values():
            source.start()
        self.mixer.start()
        self.clock.start()

    def stop(self) -> None:
        self.clock.stop()
        self.mixer.stop()
        for source in self._sources.values():
            source.stop()

    def replace_sources(self, specs: tuple[SourceSpec, ...]) -> tuple[SourceInfo, ...]:
        """Swap in a new source list; a source whose name and spec are unchanged keeps running."""
        old = self._sources
        self._add(specs)
        for name, source in old.items():
            if self._sources.get(name) is not source:
                source.stop()
        for source in self._sources.values():
            if source not in old.values():
                source.start()
        return self.infos

    def on_event(self, event: Event) -> None:
        """Follow the engine; called on the runtime loop, so nothing here may block."""
        if isinstance(event, AudioChanged):
            for name, settings in event.channels.items():
                if name in self.mixer.settings():
                    self.mixer.configure(name, settings)
        elif isinstance(event, TallyChanged):
            for name, source in self._sources.items():
                if isinstance(source, NdiSource):
                    source.set_tally(name in event.bus.program, name in event.bus.preview)

    def _add(self, specs: tuple[SourceSpec, ...]) -> None:
        infos = source_names(specs)
        sources: dict[str, Source] = {}
        for info, spec in zip(infos, specs, strict=True):
            existing = self._sources.get(info.name)
            if existing is not None and self._specs.get(info.name) == spec:
                sources[info.name] = existing
            else:
                config = self.config
                sources[info.name] = build_source(info, spec, config.size, config.ndi, config.fps)
        for name in self._sources:
            if name not in sources:
                self.clock.remove_source(name)
        for source in sources.values():
            self.clock.add_source(source)  # replaces a same-named source that changed
        self._sources = sources
        self._specs = {info.name: spec for info, spec in zip(infos, specs, strict=True)}
        self.infos = infos
