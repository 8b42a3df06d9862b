"""The settings dialog: edits a Settings value and says what is wrong before accepting.

Every field reaches the core (ui/main_window.py open_settings): sources, NDI and the
multiview layout at once, the encoder and SRT latency at the next Go Live, the language and
an NDI discovery server at the next start; the dialog says which.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.engine.sources import BadSourceSpec
from media.encode.detect import EncoderChoice, available_encoders, choose_encoder

from ..i18n import LANGUAGES
from ..settings import AUTO, LATENCY_MAX, LATENCY_MIN, Settings, parse_ips, parse_sources
from ..video.grid import LAYOUTS

SOURCES_HELP = (
    "One per line: test:NAME, file:PATH, camera:DEVICE or ndi:NDI NAME; add =Label to name it."
)
WHEN_HELP = (
    "Sources, NDI and the multiview layout apply at once. "
    "Encoder and SRT latency apply at the next Go Live; "
    "language and an NDI discovery server at the next start."
)
FOLLOW_LINK_LATENCY = 120  # what the spin box shows while the latency follows the link


class SettingsDialog(QDialog):
    def __init__(
        self,
        settings: Settings,
        parent: QWidget | None = None,
        *,
        encoders: tuple[str, ...] | None = None,
        auto: EncoderChoice | None = None,
    ) -> None:
        """`encoders`: those that open here (default: trial-opened now, cached); `auto`:
        what auto picks here (default: asked now)."""
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
        self.ndi_discovery = QLineEdit(settings.ndi_discovery)
        self.ndi_discovery.setPlaceholderText("192.168.1.10:5959")
        self.ndi_bandwidth = QComboBox()
        self.ndi_bandwidth.addItem(self.tr("Proxy (less network, lower resolution)"), "proxy")
        self.ndi_bandwidth.addItem(self.tr("Full (the sender's full stream)"), "full")
        self.ndi_bandwidth.setCurrentIndex(
            max(0, self.ndi_bandwidth.findData(settings.ndi_bandwidth))
        )
        self.encoder = self._encoders(settings.encoder, encoders)
        auto = auto or choose_encoder(AUTO)
        self.auto_note = QLabel(self.tr("Auto uses {0} on this machine.").format(auto.name))
        self.auto_note.setObjectName("muted")
        self.follow_link = QCheckBox(self.tr("Follow the link"))
        self.follow_link.setToolTip(
            self.tr("The latency is derived from the measured round trip and loss")
        )
        self.follow_link.setChecked(settings.srt_latency_ms is None)
        self.latency = QSpinBox()
        self.latency.setRange(LATENCY_MIN, LATENCY_MAX)
        self.latency.setSuffix(" ms")
        self.latency.setValue(settings.srt_latency_ms or FOLLOW_LINK_LATENCY)
        self.latency.setEnabled(settings.srt_latency_ms is not None)
        self.follow_link.toggled.connect(lambda on: self.latency.setEnabled(not on))
        latency_row = QHBoxLayout()
        latency_row.addWidget(self.follow_link)
        latency_row.addWidget(self.latency)
        latency_row.addStretch(1)
        self.language = QComboBox()
        self.language.addItem(self.tr("System"), "")
        for code, name in LANGUAGES.items():
            self.language.addItem(name, code)
        self.language.setCurrentIndex(max(0, self.language.findData(settings.language)))
        self.layout_box = QComboBox()
        for count in LAYOUTS:
            self.layout_box.addItem(self.tr("{0} sources").format(count), count)
        self.layout_box.setCurrentIndex(max(0, self.layout_box.findData(settings.multiview_layout)))
        help_label = QLabel(self.tr(SOURCES_HELP))
        help_label.setObjectName("muted")
        help_label.setWordWrap(True)
        form.addRow(self.tr("Sources"), self.sources)
        form.addRow("", help_label)
        form.addRow(self.tr("Multiview"), self.layout_box)
        form.addRow(self.tr("NDI extra IPs"), self.ndi_ips)
        form.addRow(self.tr("NDI discovery server"), self.ndi_discovery)
        form.addRow(self.tr("NDI bandwidth"), self.ndi_bandwidth)
        form.addRow(self.tr("Encoder"), self.encoder)
        form.addRow("", self.auto_note)
        form.addRow(self.tr("SRT latency"), latency_row)
        form.addRow(self.tr("Language"), self.language)
        layout.addLayout(form)
        when = QLabel(self.tr(WHEN_HELP))
        when.setObjectName("muted")
        when.setWordWrap(True)
        layout.addWidget(when)
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

    def _encoders(self, current: str, offered: tuple[str, ...] | None) -> QComboBox:
        """auto, then the FFmpeg encoders that open here; a saved one that does not open
        here is kept in the list, marked, so opening the dialog never changes it."""
        box = QComboBox()
        box.addItem(self.tr("auto (hardware if one opens, else libx264)"), AUTO)
        names = available_encoders() if offered is None else offered
        for name in names:
            box.addItem(name, name)
        if current != AUTO and current not in names:
            box.addItem(self.tr("{0} (does not open here)").format(current), current)
        box.setCurrentIndex(max(0, box.findData(current)))
        return box

    def accept(self) -> None:
        try:
            sources = parse_sources(self.sources.toPlainText().splitlines())
        except BadSourceSpec as exc:
            self.error.setText(str(exc))
            return
        if not sources:
            self.error.setText(self.tr("Add at least one source."))
            return
        discovery = self.ndi_discovery.text().strip()
        if any(" " in part.strip() for part in discovery.split(",")):
            self.error.setText(self.tr("NDI discovery server: host or host:port, comma-separated."))
            return
        self.result_settings = replace(
            self._initial,
            sources=sources,
            ndi_extra_ips=parse_ips(self.ndi_ips.text()),
            ndi_discovery=discovery,
            ndi_bandwidth=str(self.ndi_bandwidth.currentData()),
            encoder=str(self.encoder.currentData()),
            srt_latency_ms=None if self.follow_link.isChecked() else self.latency.value(),
            language=str(self.language.currentData() or ""),
            multiview_layout=int(self.layout_box.currentData()),
        )
        super().accept()
