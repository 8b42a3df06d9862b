"""The settings dialog: edits a Settings value and says what is wrong before accepting."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.engine.sources import BadSourceSpec

from ..i18n import LANGUAGES
from ..settings import ENCODERS, Settings, parse_sources

SOURCES_HELP = (
    "One per line: test:NAME, file:PATH, camera:DEVICE or ndi:NDI NAME; add =Label to name it."
)


class SettingsDialog(QDialog):
    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Settings"))
        self.setMinimumWidth(560)
        self.result_settings = settings
        self._initial = settings
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.sources = QPlainTextEdit("\n".join(str(s) for s in settings.sources))
        self.sources.setMinimumHeight(140)
        self.ndi_ips = QLineEdit(", ".join(settings.ndi_extra_ips))
        self.ndi_ips.setPlaceholderText("192.168.1.20, 192.168.1.21")
        self.encoder = QComboBox()
        for name in ENCODERS:
            self.encoder.addItem(name, name)
        self.encoder.setCurrentIndex(ENCODERS.index(settings.encoder))
        self.latency = QSpinBox()
        self.latency.setRange(20, 2000)
        self.latency.setSuffix(" ms")
        self.latency.setValue(settings.srt_latency_ms)
        self.language = QComboBox()
        self.language.addItem(self.tr("System"), "")
        for code, name in LANGUAGES.items():
            self.language.addItem(name, code)
        self.language.setCurrentIndex(max(0, self.language.findData(settings.language)))
        help_label = QLabel(self.tr(SOURCES_HELP))
        help_label.setObjectName("muted")
        help_label.setWordWrap(True)
        form.addRow(self.tr("Sources"), self.sources)
        form.addRow("", help_label)
        form.addRow(self.tr("NDI extra IPs"), self.ndi_ips)
        form.addRow(self.tr("Encoder"), self.encoder)
        form.addRow(self.tr("SRT latency"), self.latency)
        form.addRow(self.tr("Language"), self.language)
        layout.addLayout(form)
        self.error = QLabel()
        self.error.setObjectName("error")
        self.error.setWordWrap(True)
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def accept(self) -> None:
        try:
            sources = parse_sources(self.sources.toPlainText().splitlines())
        except BadSourceSpec as exc:
            self.error.setText(str(exc))
            return
        if not sources:
            self.error.setText(self.tr("Add at least one source."))
            return
        ips = tuple(
            ip.strip() for ip in self.ndi_ips.text().replace(";", ",").split(",") if ip.strip()
        )
        self.result_settings = replace(
            self._initial,
            sources=sources,
            ndi_extra_ips=ips,
            encoder=str(self.encoder.currentData()),
            srt_latency_ms=self.latency.value(),
            language=str(self.language.currentData() or ""),
        )
        super().accept()
