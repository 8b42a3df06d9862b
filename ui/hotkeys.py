"""Keyboard-first switching: 1-9 and 0 preview sources 1-10 and Q W E R T Y sources 11-16
(the row below, a second bank as on hardware panels; F is taken by FTB), Shift with either
to program; Space CUT, Enter AUTO, F FTB.

An application event filter rather than QShortcuts: Shift+1 arrives as "!" (or whatever
the layout puts there), buttons would swallow Space, and keys typed into a text field
(a login, a message to a camera) must stay text.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)

from app.engine.commands import Auto, Command, Cut, FadeToBlack, SetPreview, SetProgram

from .bridge import Bridge
from .models.switcher import SwitcherModel

Key = Qt.Key
SOURCE_KEYS: dict[int, int] = {int(getattr(Key, f"Key_{n % 10}")): n for n in range(1, 11)}
SOURCE_KEYS |= {int(getattr(Key, f"Key_{k}")): n for n, k in enumerate("QWERTY", start=11)}
# What Shift+1..9, 0 type on a US (and Korean) layout; other layouts send digits with Shift.
# Letters keep their key with Shift.
_SHIFTED_KEYS = (
    Key.Key_Exclam,
    Key.Key_At,
    Key.Key_NumberSign,
    Key.Key_Dollar,
    Key.Key_Percent,
    Key.Key_AsciiCircum,
    Key.Key_Ampersand,
    Key.Key_Asterisk,
    Key.Key_ParenLeft,
    Key.Key_ParenRight,
)
SHIFTED: dict[int, int] = {int(k): n for n, k in enumerate(_SHIFTED_KEYS, start=1)}
TEXT_INPUTS = (QLineEdit, QAbstractSpinBox, QTextEdit, QPlainTextEdit)


def command_for(key: int, modifiers: Qt.KeyboardModifier, model: SwitcherModel) -> Command | None:
    """The command a key press means, or None; pure, so tests can table it."""
    shift = bool(modifiers & Qt.KeyboardModifier.ShiftModifier)
    other = modifiers & (
        Qt.KeyboardModifier.ControlModifier
        | Qt.KeyboardModifier.AltModifier
        | Qt.KeyboardModifier.MetaModifier
    )
    if other:
        return None
    number = SOURCE_KEYS.get(key)
    if number is None and shift:
        number = SHIFTED.get(key)
    if number is not None:
        source = model.source_at(number)
        if source is None:
            return None
        return SetProgram(source.name) if shift else SetPreview(source.name)
    if key == Key.Key_Space and not shift:
        return Cut()
    if key in (Key.Key_Return, Key.Key_Enter) and not shift:
        return Auto()
    if key == Key.Key_F and not shift:
        return FadeToBlack()
    return None


class Hotkeys(QObject):
    def __init__(self, window: QWidget, model: SwitcherModel, bridge: Bridge) -> None:
        super().__init__(window)
        self._window = window
        self._model = model
        self._bridge = bridge
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.KeyPress or not isinstance(watched, QWidget):
            return False
        if watched.window() is not self._window or not isinstance(event, QKeyEvent):
            return False
        focus = QApplication.focusWidget()
        if isinstance(focus, TEXT_INPUTS) or (isinstance(focus, QComboBox) and focus.isEditable()):
            return False
        command = command_for(event.key(), event.modifiers(), self._model)
        if command is None:
            return False
        if not event.isAutoRepeat():  # holding Space must not cut back and forth
            self._bridge.submit(command)
        return True
