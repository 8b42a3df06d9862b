"""CUT, AUTO, FTB, the transition style and rate, and the T-bar."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QWidget,
)

from app.engine.commands import (
    MAX_DURATION_FRAMES,
    Auto,
    Cut,
    FadeToBlack,
    SetFtbDuration,
    SetTransition,
    TBar,
)
from media.switcher import TransitionKind

from ..bridge import Bridge
from ..models.switcher import SwitcherModel
from .common import title

TBAR_STEPS = 1000
KINDS = (TransitionKind.MIX, TransitionKind.DIP, TransitionKind.CUT)
KIND_NAMES = {TransitionKind.MIX: "Mix", TransitionKind.DIP: "Dip", TransitionKind.CUT: "Cut"}


class TransitionPanel(QWidget):
    def __init__(
        self, model: SwitcherModel, bridge: Bridge, fps: float, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._model = model
        self._bridge = bridge
        self._fps = fps
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(6)

        self.cut = self._button("CUT", "cut", self.tr("Cut (Space)"))
        self.auto = self._button("AUTO", "auto", self.tr("Auto transition (Enter)"))
        self.ftb = self._button("FTB", "ftb", self.tr("Fade to black (F)"))
        self.ftb.setCheckable(True)
        self.cut.clicked.connect(lambda: bridge.submit(Cut()))
        self.auto.clicked.connect(lambda: bridge.submit(Auto()))
        self.ftb.clicked.connect(self._ftb_pressed)

        self.kind = QComboBox()
        for kind in KINDS:
            self.kind.addItem(self.tr(KIND_NAMES[kind]), kind)
        self.duration = self._frames_box()
        self.ftb_duration = self._frames_box()
        self.rate = QLabel()
        self.rate.setObjectName("muted")
        self.kind.activated.connect(self._settings_edited)
        self.duration.editingFinished.connect(self._settings_edited)
        self.ftb_duration.editingFinished.connect(
            lambda: bridge.submit(SetFtbDuration(self.ftb_duration.value()))
        )

        self.tbar = QSlider(Qt.Orientation.Vertical)
        self.tbar.setObjectName("tbar")
        self.tbar.setRange(0, TBAR_STEPS)
        self.tbar.setInvertedAppearance(True)  # like a hardware bar: pushed away from you
        self.tbar.setMinimumHeight(120)
        self.tbar.setToolTip(self.tr("T-bar: a manual mix"))
        self.tbar.valueChanged.connect(self._bar_moved)

        grid.addWidget(title(self.tr("Transition")), 0, 0, 1, 3)
        grid.addWidget(self.cut, 1, 0)
        grid.addWidget(self.auto, 1, 1)
        grid.addWidget(self.ftb, 1, 2)
        grid.addWidget(QLabel(self.tr("Style")), 2, 0)
        grid.addWidget(self.kind, 2, 1, 1, 2)
        grid.addWidget(QLabel(self.tr("Rate")), 3, 0)
        grid.addWidget(self.duration, 3, 1)
        grid.addWidget(self.rate, 3, 2)
        grid.addWidget(QLabel(self.tr("FTB rate")), 4, 0)
        grid.addWidget(self.ftb_duration, 4, 1)
        grid.addWidget(self.tbar, 0, 3, 5, 1, Qt.AlignmentFlag.AlignHCenter)

        model.settingsChanged.connect(self._show_settings)
        model.transitionChanged.connect(self._show_running)
        model.tbarChanged.connect(self._show_bar)
        model.ftbChanged.connect(self.ftb.setChecked)
        self._show_settings()
        self._show_running()
        self._show_bar(model.tbar)

    def _button(self, text: str, name: str, tip: str) -> QPushButton:
        button = QPushButton(text)
        button.setObjectName(name)
        button.setToolTip(tip)
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Space and Enter belong to the hotkeys
        return button

    def _frames_box(self) -> QSpinBox:
        box = QSpinBox()
        box.setRange(0, MAX_DURATION_FRAMES)
        box.setSuffix(self.tr(" fr"))
        box.setKeyboardTracking(False)
        return box

    def _ftb_pressed(self) -> None:
        self.ftb.setChecked(self._model.ftb)  # the engine decides; the event lights it
        self._bridge.submit(FadeToBlack())

    def _settings_edited(self) -> None:
        kind = self.kind.currentData()
        if isinstance(kind, TransitionKind):
            self._bridge.submit(SetTransition(kind, self.duration.value()))

    def _bar_moved(self, value: int) -> None:
        self._bridge.submit(TBar(value / TBAR_STEPS))

    def _show_settings(self) -> None:
        settings = self._model.settings
        self.kind.setCurrentIndex(KINDS.index(settings.kind))
        self.duration.setValue(settings.duration)
        self.ftb_duration.setValue(self._model.ftb_duration)
        self.rate.setText(f"{settings.duration / self._fps:.2f} s")

    def _show_running(self) -> None:
        running = self._model.running is not None and not self._model.manual
        self.auto.setProperty("running", running)
        self.auto.style().unpolish(self.auto)
        self.auto.style().polish(self.auto)

    def _show_bar(self, position: float) -> None:
        if self.tbar.isSliderDown():
            return  # the hand on the bar wins over an echo of where it was a moment ago
        self.tbar.blockSignals(True)
        self.tbar.setValue(round(position * TBAR_STEPS))
        self.tbar.blockSignals(False)
