"""Choosing the program's audio inputs: the "Add input…" menu and the list sent to the core.

A device that cannot be opened is not an error here: the core runs it as a LOST channel
and keeps trying, and the strip shows that. Only a refused change reaches `failed`.
"""

from __future__ import annotations

import concurrent.futures
from typing import Protocol

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QMenu, QToolButton, QWidget

from app.engine.sources import AudioSpec
from media.audio.capture import list_audio_devices
from media.errors import NoAudioDevice

from ..core_text import core_text


class InputsCore(Protocol):
    """What the input list needs of app.runtime.Runtime."""

    @property
    def audio_specs(self) -> tuple[AudioSpec, ...]: ...

    @property
    def audio_inputs(self) -> dict[str, AudioSpec]: ...

    def replace_audio(self, specs: tuple[AudioSpec, ...]) -> concurrent.futures.Future[None]: ...


class AudioInputs(QObject):
    """The director's inputs. Changes go to the core one at a time (each replaces the whole
    list, so two at once could race); one asked for meanwhile waits for the running one."""

    changed = Signal(object)  # tuple[AudioSpec, ...]: the core runs this list now; save it
    failed = Signal(str)
    _finished = Signal(object, str)  # (the list sent, "" or why it failed), from the core

    def __init__(self, core: InputsCore, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._core = core
        self._wanted: tuple[AudioSpec, ...] | None = None  # asked for, not yet confirmed
        self._sending = False
        self._finished.connect(self._done, Qt.ConnectionType.QueuedConnection)

    @property
    def specs(self) -> tuple[AudioSpec, ...]:
        return self._wanted if self._wanted is not None else self._core.audio_specs

    def add(self, spec: AudioSpec) -> None:
        self.request((*self.specs, spec))

    def remove(self, spec: AudioSpec) -> None:
        specs = list(self.specs)
        if spec in specs:
            specs.remove(spec)
            self.request(tuple(specs))

    def request(self, specs: tuple[AudioSpec, ...]) -> None:
        self._wanted = specs
        if not self._sending:
            self._send(specs)

    def _send(self, specs: tuple[AudioSpec, ...]) -> None:
        self._sending = True
        future = self._core.replace_audio(specs)
        future.add_done_callback(lambda f: self._finished.emit(specs, _why(f)))

    def _done(self, specs: tuple[AudioSpec, ...], error: str) -> None:
        self._sending = False
        if error:
            message = self.tr("Could not change the audio inputs: {0}")
            self.failed.emit(message.format(core_text(error)))
        else:
            self.changed.emit(specs)
        if self._wanted is not None and self._wanted != specs:
            self._send(self._wanted)
        else:
            self._wanted = None


def _why(future: concurrent.futures.Future[None]) -> str:
    error = future.exception()
    return "" if error is None else str(error) or type(error).__name__


class AddInputButton(QToolButton):
    """A menu of the test tone and every capture device, listed afresh on each opening."""

    chosen = Signal(object)  # AudioSpec

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("addInput")
        self.setText(self.tr("Add input…"))
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self)
        menu.aboutToShow.connect(lambda: self.fill(menu))
        self.setMenu(menu)

    def fill(self, menu: QMenu) -> None:
        menu.clear()
        tone = AudioSpec("tone", "tone", self.tr("Test tone"))
        menu.addAction(self.tr("Test tone")).triggered.connect(lambda: self.chosen.emit(tone))
        menu.addSeparator()
        try:
            devices = list_audio_devices()
        except NoAudioDevice as exc:
            note = menu.addAction(self.tr("Audio devices unavailable: {0}").format(exc))
            note.setEnabled(False)
            return
        if not devices:
            menu.addAction(self.tr("No audio input devices found")).setEnabled(False)
        for device in devices:
            # The whole name finds the device again after a restart; an index may not.
            spec = AudioSpec("input", device.name, device.name.replace("=", "-"))
            action = menu.addAction(f"{device.name} ({device.host_api})")
            action.triggered.connect(lambda _=False, s=spec: self.chosen.emit(s))
