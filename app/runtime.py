"""The core at run time: one asyncio loop on a worker thread owning engine, media and links.

Other threads (the Qt UI, a headless main) never touch the core's objects directly. They
`submit` commands and `call` coroutines, both thread-safe and answered by futures they
need not wait on; they `subscribe` to events, which are delivered on the loop thread (the
UI bridge re-emits them as queued Qt signals). Video never passes through here: monitors
read `clock.latest_program` and each source's slot themselves.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import threading
import webbrowser
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from media.audio.meter import MeterReading
from media.audio.source import AudioStatus
from media.clock import ProgramClock
from media.encode.config import EncoderConfig
from media.send.output import SimulcastOutput
from media.send.target import SrtTarget
from media.sources.base import Source
from media.sources.ndi import NdiConfig
from media.switcher import SwitcherState

from .control.server import ControlApi, ControlServer
from .control.token import control_token
from .engine.commands import Command, SetSources
from .engine.engine import Engine
from .engine.events import Event
from .engine.media import MediaConfig, MediaShow
from .engine.sources import AudioSpec, SourceSpec, default_specs
from .engine.state import ShowState
from .engine.tally import TallyOut
from .engine.timebase import ClockTimebase, seconds_until
from .relay_client import RelayClient, TokenSource
from .session_link.events import LinkEvent
from .session_link.link import SessionLink
from .session_link.vault import Vault, open_vault

log = logging.getLogger(__name__)

T = TypeVar("T")
AnyEvent = Event | LinkEvent
Listener = Callable[[AnyEvent], None]
DEFAULT_CONTROL_PORT = 8765


class CoreStartError(Exception):
    """The core could not start (a busy control port, a bad source list); says why."""


@dataclass(frozen=True, slots=True)
class RuntimeConfig:
    sources: tuple[SourceSpec, ...] = field(default_factory=default_specs)
    # Inputs of their own (microphones, line ins); video sources bring their own sound.
    audio: tuple[AudioSpec, ...] = ()
    media: MediaConfig = field(default_factory=MediaConfig)
    control: bool = True
    control_host: str = "127.0.0.1"
    control_port: int = DEFAULT_CONTROL_PORT
    control_token: str | None = field(
        default_factory=lambda: os.environ.get("RETURNFEED_CONTROL_TOKEN") or None
    )
    relay_factory: Callable[[str, TokenSource], RelayClient] = RelayClient
    # The program stream sent on Go Live; None sends tally only.
    encoder: EncoderConfig | None = field(default_factory=EncoderConfig)
    # A fixed SRT latency for Go Live's layers; None follows the measured link.
    srt_latency_ms: int | None = None
    # Where provider sign-in opens its page (app/session_link/oidc_login.py).
    open_browser: Callable[[str], object] = webbrowser.open


class _Core:
    """Everything that lives on the loop. Built and used on the loop thread only."""

    def __init__(
        self,
        config: RuntimeConfig,
        vault: Vault,
        emit: Listener,
        current: Callable[[], RuntimeConfig] | None = None,
    ) -> None:
        self.loop = asyncio.get_running_loop()
        # The encoder and SRT latency are read at each Go Live, so a change in Settings
        # applies to the next one (Runtime.set_stream).
        self._current = current or (lambda: config)

        def provider() -> SwitcherState:
            return self.engine.switcher_state()

        self.show = MediaShow(provider, config.media, config.sources, config.audio)
        self.engine = Engine(ClockTimebase(self.show.clock))
        self.tally = TallyOut()
        self.engine.subscribe(self.show.on_event)
        self.engine.subscribe(self.tally.on_event)
        self.engine.subscribe(emit)
        self.link = SessionLink(
            vault,
            self.tally,
            lambda: self.engine.state,
            self.execute,
            emit,
            relay_factory=config.relay_factory,
            output_factory=self._output_factory(config.encoder),
            srt_latency=lambda: self._current().srt_latency_ms,
            open_browser=config.open_browser,
        )
        self._settle_at: asyncio.TimerHandle | None = None

    def _output_factory(
        self, encoder: EncoderConfig | None
    ) -> Callable[[Mapping[str, SrtTarget]], SimulcastOutput] | None:
        """Go Live's program out: the same clock -> SimulcastOutput as `returnfeed send`."""
        if encoder is None:
            return None
        clock = self.show.clock

        def make(targets: Mapping[str, SrtTarget]) -> SimulcastOutput:
            return SimulcastOutput(clock, targets, self._current().encoder or encoder)

        return make

    # The control API's Switcher protocol:
    @property
    def state(self) -> ShowState:
        return self.engine.state

    def subscribe(self, subscriber: Callable[[Event], None]) -> Callable[[], None]:
        return self.engine.subscribe(subscriber)

    def audio_levels(self) -> tuple[dict[str, MeterReading], dict[str, AudioStatus]]:
        return self.show.mixer.meters(), self.show.mixer.statuses()

    def execute(self, command: Command) -> tuple[Event, ...]:
        try:
            return self.engine.execute(command)
        finally:
            self._schedule_settle()

    def settle(self) -> None:
        self._settle_at = None
        self.engine.settle()
        self._schedule_settle()

    def _schedule_settle(self) -> None:
        """Wake when a transition or fade ends, to fold it in (tally drops the old source)."""
        if self._settle_at is not None:
            self._settle_at.cancel()
            self._settle_at = None
        due = self.engine.next_settle_pts()
        if due is not None:
            half_frame = 0.5 / float(self.engine.timebase.fps)
            delay = seconds_until(self.engine.timebase, due) + half_frame
            self._settle_at = self.loop.call_later(delay, self.settle)


class Runtime:
    def __init__(self, config: RuntimeConfig | None = None, vault: Vault | None = None) -> None:
        self.config = config or RuntimeConfig()
        self._vault = vault
        self.vault_note: str | None = None
        self._listeners: tuple[Listener, ...] = ()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._core: _Core | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._failed: BaseException | None = None
        self._stopped: asyncio.Event | None = None
        self.control: ControlServer | None = None
        self.control_token = ""

    # --- life -----------------------------------------------------------------------------

    def start(self, timeout: float = 20.0) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._main, name="returnfeed-core", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise CoreStartError("the core did not start in time")
        if self._failed is not None:
            self._thread.join(5)
            self._thread = None
            raise CoreStartError(str(self._failed)) from self._failed

    def stop(self, timeout: float = 10.0) -> None:
        thread, loop, stopped = self._thread, self._loop, self._stopped
        if thread is None or loop is None or stopped is None:
            return
        loop.call_soon_threadsafe(stopped.set)
        thread.join(timeout)
        self._thread = None

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported to start()'s caller
            self._failed = exc
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopped = asyncio.Event()
        if self._vault is None:
            self._vault, self.vault_note = open_vault()
        core = _Core(self.config, self._vault, self._emit, lambda: self.config)
        core.show.start()
        try:
            core.execute(SetSources(core.show.infos))
            core.execute(core.show.audio_channels())
            if self.config.control:
                self.control_token = control_token(self._vault, self.config.control_token)
                self.control = ControlServer(
                    ControlApi(
                        core,
                        self.control_token,
                        core.link.crew,
                        core.link,
                        core.link.recordings,
                        core.link.audience,
                    ),
                    self.config.control_host,
                    self.config.control_port,
                )
                try:
                    await self.control.start()
                except OSError as exc:
                    raise CoreStartError(
                        f"the control API cannot listen on {self.config.control_host}:"
                        f"{self.config.control_port}: {exc.strerror or exc}"
                    ) from exc
            self._core = core
            self._ready.set()
            await self._stopped.wait()
        finally:
            self._core = None
            if self.control is not None:
                await self.control.stop()
            await core.link.close()
            await asyncio.to_thread(core.show.stop)

    # --- thread-safe entry points --------------------------------------------------------

    def submit(self, command: Command) -> concurrent.futures.Future[tuple[Event, ...]]:
        """Run `command` on the engine; the future holds its events or CommandRejected."""
        return self.call_soon(lambda core: core.execute(command))

    def call_soon(self, fn: Callable[[_Core], T]) -> concurrent.futures.Future[T]:
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        loop, core = self._loop, self._core
        if loop is None or core is None:
            future.set_exception(CoreStartError("the core is not running"))
            return future

        def run() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(fn(core))
            except BaseException as exc:  # handed to whoever holds the future
                future.set_exception(exc)

        loop.call_soon_threadsafe(run)
        return future

    def call(self, work: Callable[[SessionLink], Awaitable[T]]) -> concurrent.futures.Future[T]:
        """Run a session-link coroutine on the loop; cancelling the future cancels it."""
        loop, core = self._loop, self._core
        if loop is None or core is None:
            future: concurrent.futures.Future[T] = concurrent.futures.Future()
            future.set_exception(CoreStartError("the core is not running"))
            return future

        async def run() -> T:
            return await work(core.link)

        return asyncio.run_coroutine_threadsafe(run(), loop)

    def set_stream(self, encoder: str, srt_latency_ms: int | None) -> None:
        """The encoder ("auto" or an FFmpeg name) and fixed SRT latency (None: follow the
        link) for the next Go Live; a stream on air keeps what it started with. Any thread."""
        if self.config.encoder is not None:
            self.config = replace(
                self.config,
                encoder=replace(self.config.encoder, encoder=encoder),
                srt_latency_ms=srt_latency_ms,
            )

    def replace_sources(
        self, specs: tuple[SourceSpec, ...], ndi: NdiConfig | None = None
    ) -> concurrent.futures.Future[None]:
        """Swap in a new source list; with `ndi`, NDI sources are rebuilt with those
        settings (discovery, bandwidth) even where their spec did not change."""

        async def run(core: _Core) -> None:
            # Stopping a source joins its thread: off the loop, so tally and API stay live.
            infos = await asyncio.to_thread(core.show.replace_sources, specs, ndi)
            core.execute(SetSources(infos))
            core.execute(core.show.audio_channels())

        return self._on_loop(run)

    def _on_loop(
        self, work: Callable[[_Core], Coroutine[Any, Any, None]]
    ) -> concurrent.futures.Future[None]:
        loop, core = self._loop, self._core
        if loop is None or core is None:
            future: concurrent.futures.Future[None] = concurrent.futures.Future()
            future.set_exception(CoreStartError("the core is not running"))
            return future
        return asyncio.run_coroutine_threadsafe(work(core), loop)

    def replace_audio(self, specs: tuple[AudioSpec, ...]) -> concurrent.futures.Future[None]:
        """Swap the audio inputs (microphones, line ins); the rest of the mix goes on."""

        async def run(core: _Core) -> None:
            # Opening or closing a device can take a while: off the loop.
            await asyncio.to_thread(core.show.replace_audio, specs)
            core.execute(core.show.audio_channels())

        return self._on_loop(run)

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Engine and link events, in order, on the loop thread; keep the listener quick."""
        self._listeners = (*self._listeners, listener)

        def unsubscribe() -> None:
            self._listeners = tuple(x for x in self._listeners if x is not listener)

        return unsubscribe

    def _emit(self, event: AnyEvent) -> None:
        for listener in self._listeners:
            try:
                listener(event)
            except Exception:
                log.exception("listener %r failed on %s", listener, event)

    # --- read-only views for any thread ---------------------------------------------------

    @property
    def running(self) -> bool:
        return self._core is not None

    @property
    def state(self) -> ShowState:
        core = self._core
        return core.engine.state if core is not None else ShowState()

    @property
    def clock(self) -> ProgramClock | None:
        core = self._core
        return core.show.clock if core is not None else None

    @property
    def sources(self) -> dict[str, Source]:
        core = self._core
        return core.show.sources if core is not None else {}

    def meters(self) -> dict[str, MeterReading]:
        """Peak, RMS and loudness per channel and of the program (key "program"); any thread."""
        core = self._core
        return core.show.mixer.meters() if core is not None else {}

    def audio_statuses(self) -> dict[str, AudioStatus]:
        """Each channel's state (live, silent, lost, no audio ...); any thread."""
        core = self._core
        return core.show.mixer.statuses() if core is not None else {}

    @property
    def audio_inputs(self) -> dict[str, AudioSpec]:
        """Each audio input's channel name and spec, as the mixer runs them; any thread."""
        core = self._core
        return dict(core.show.audio_inputs) if core is not None else {}

    @property
    def audio_specs(self) -> tuple[AudioSpec, ...]:
        core = self._core
        return tuple(core.show.audio_inputs.values()) if core is not None else self.config.audio

    def limiter_reduction_db(self) -> float:
        """How far the program limiter is pulling the mix down now (0: not at all)."""
        core = self._core
        return core.show.mixer.limiter.reduction_db if core is not None else 0.0

    @property
    def control_url(self) -> str | None:
        return self.control.url if self.control is not None and self.control.port else None
