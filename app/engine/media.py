"""The media side of a show: sources, the program clock and the audio mixer.

MediaShow owns them and follows the engine: it never decides anything, it applies
events (audio settings to the mixer, tally to NDI senders). The clock reads the engine's
switcher snapshot itself, once per tick, through the provider it was given.

The mixer has two kinds of channel. A video source that carries sound (NDI, a file, a
test tone) gets a channel of the same name that follows it by default, so a cut to a
camera puts its sound on air. An audio input of its own (a microphone, a line in) gets a
channel named after its spec, always live by default, the way a presenter's mic is.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from fractions import Fraction

from media.audio.mixer import AudioMixer, ChannelSettings
from media.audio.source import AudioSource
from media.clock import ClockConfig, ProgramClock
from media.frames import Size
from media.sources.base import Source
from media.sources.ndi import NdiConfig, NdiSource
from media.switcher import SwitcherState

from .commands import SetAudioChannels
from .events import AudioChanged, Event, TallyChanged
from .sources import (
    AudioSpec,
    SourceSpec,
    build_audio,
    build_source,
    source_audio,
    source_names,
)
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
        self.clock = ProgramClock(provider, ClockConfig(config.size, config.fps), audio=self.mixer)
        self._sources: dict[str, Source] = {}
        self._specs: dict[str, SourceSpec] = {}
        self._inputs: dict[str, AudioSpec] = {}  # channel name -> the input's spec
        self._started = False
        self._applied: dict[str, ChannelSettings] = {}  # the engine's, as last told
        self.infos: tuple[SourceInfo, ...] = ()
        self._add(specs)
        self._set_inputs(audio)

    @property
    def sources(self) -> dict[str, Source]:
        """By name; replaced whole on a change, so any thread may read it."""
        return self._sources

    @property
    def audio_inputs(self) -> dict[str, AudioSpec]:
        """Each input's channel name and spec, in order; replaced whole on a change."""
        return self._inputs

    def audio_channels(self) -> SetAudioChannels:
        """The command that tells the engine which channels there are, and their defaults."""
        names = tuple(self.mixer.settings())
        follow = tuple((n, n) for n in names if n in self._sources)
        return SetAudioChannels(names, follow)

    def start(self) -> None:
        for source in self._sources.values():
            source.start()
        self.mixer.start()
        self.clock.start()
        self._started = True

    def stop(self) -> None:
        self._started = False
        self.clock.stop()
        self.mixer.stop()
        for source in self._sources.values():
            source.stop()

    def replace_sources(
        self, specs: tuple[SourceSpec, ...], ndi: NdiConfig | None = None
    ) -> tuple[SourceInfo, ...]:
        """Swap in a new source list; a source whose name and spec are unchanged keeps running,
        except NDI sources when `ndi` changes their settings (rebuilt with the new ones)."""
        old = self._sources
        rebuild = ndi is not None and ndi != self.config.ndi
        if ndi is not None:
            self.config = replace(self.config, ndi=ndi)
        self._add(specs, rebuild=("ndi",) if rebuild else ())
        for name, source in old.items():
            if self._sources.get(name) is not source:
                source.stop()
        if self._started:  # a show not yet started starts them all in start()
            for source in self._sources.values():
                if source not in old.values():
                    source.start()
        return self.infos

    def replace_audio(self, specs: tuple[AudioSpec, ...]) -> None:
        """Swap in a new list of audio inputs; an input whose spec is unchanged keeps running."""
        self._set_inputs(specs)

    def on_event(self, event: Event) -> None:
        """Follow the engine; called on the runtime loop, so nothing here may block."""
        if isinstance(event, AudioChanged):
            self._applied = dict(event.channels)
            for name, settings in event.channels.items():
                if name in self.mixer.settings():
                    self.mixer.configure(name, settings)
        elif isinstance(event, TallyChanged):
            for name, source in self._sources.items():
                if isinstance(source, NdiSource):
                    source.set_tally(name in event.bus.program, name in event.bus.preview)

    def _add(self, specs: tuple[SourceSpec, ...], rebuild: tuple[str, ...] = ()) -> None:
        infos = source_names(specs)
        sources: dict[str, Source] = {}
        for position, (info, spec) in enumerate(zip(infos, specs, strict=True), start=1):
            existing = self._sources.get(info.name)
            if (
                existing is not None
                and self._specs.get(info.name) == spec
                and spec.kind not in rebuild
            ):
                sources[info.name] = existing
            else:
                c = self.config
                sources[info.name] = build_source(info, spec, c.size, c.ndi, c.fps, position)
        for name in self._sources:
            if name not in sources:
                self.clock.remove_source(name)
        for source in sources.values():
            self.clock.add_source(source)  # replaces a same-named source that changed
        # Source 1 is the genlock reference, as a house's first camera often is.
        self.clock.follow(infos[0].name if infos else None)
        old = self._sources
        self._sources = sources
        self._specs = {info.name: spec for info, spec in zip(infos, specs, strict=True)}
        self.infos = infos
        for name, source in old.items():
            if sources.get(name) is not source and source_audio(source) is not None:
                self.mixer.remove(name)
        # An input named like a new video source would take its sound's channel: rename the
        # input first (its old channel goes), then the source's sound gets the name.
        if any(name in sources for name in self._inputs):
            self._set_inputs(tuple(self._inputs.values()))
        for name, source in sources.items():
            audio = source_audio(source)
            if audio is not None and self.mixer.source(name) is not audio:
                self._replace_channel(name, audio, ChannelSettings(follow_video=name))

    def _set_inputs(self, specs: tuple[AudioSpec, ...]) -> None:
        wanted: dict[str, AudioSpec] = {}
        for spec in specs:
            name, n = spec.name, 2
            while name in wanted or name in self._sources:
                name, n = f"{spec.name}-{n}", n + 1
            wanted[name] = spec
        for name, spec in self._inputs.items():
            if wanted.get(name) != spec:
                self._stop(self.mixer.remove(name))
        for name, spec in wanted.items():
            if self._inputs.get(name) != spec:
                self._replace_channel(name, build_audio(spec, name), ChannelSettings())
        self._inputs = wanted

    def _replace_channel(self, name: str, audio: AudioSource, default: ChannelSettings) -> None:
        # A channel rebuilt under a name the engine knows keeps the director's settings.
        self.mixer.add(audio, self._applied.get(name, default))
        if self._started:
            audio.start()

    @staticmethod
    def _stop(audio: AudioSource | None) -> None:
        if audio is not None:
            audio.stop()
