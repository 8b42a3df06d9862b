"""Go live: backend and login, session choice, the Go Live button, and link health.

Every button only asks the core (bridge.call); answers come back as link events. A login
that hangs on a dead network shows "Working…" with a Cancel, and the window stays live.
"""

from __future__ import annotations

import concurrent.futures
import time
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.golive import StreamLayer
from media.encode.detect import AUTO_HARDWARE, AUTO_SOFTWARE, FELL_BACK, EncoderChoice

from ..bridge import Bridge
from ..core_text import core_text
from ..models.link import LinkModel
from .common import muted, panel, title
from .recordings import RecordingLine

DEFAULT_BACKEND = "http://127.0.0.1:8000"
MIN_PASSWORD = 8  # the backend's rule, said before the round trip


class GoLivePanel(QWidget):
    def __init__(
        self,
        model: LinkModel,
        bridge: Bridge,
        backend: str = DEFAULT_BACKEND,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._model = model
        self._bridge = bridge
        self._pending: concurrent.futures.Future[Any] | None = None
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(8)
        column.addWidget(self._account(backend))
        column.addWidget(self._session())
        column.addWidget(self._live())
        column.addStretch(1)
        for signal in (
            model.loginChanged,
            model.providersChanged,
            model.busyChanged,
            model.sessionsChanged,
            model.sessionChanged,
            model.liveChanged,
            model.phonesChanged,
        ):
            signal.connect(self._refresh)
        model.failed.connect(self._failed)
        self._refresh()

    # --- building ---------------------------------------------------------------------

    def _account(self, backend: str) -> QWidget:
        frame, layout = panel()
        layout.addWidget(title(self.tr("Cloud account")))
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.backend = QLineEdit(backend)
        self.email = QLineEdit()
        self.email.setPlaceholderText("director@example.com")
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.returnPressed.connect(self.log_in)
        form.addRow(self.tr("Backend"), self.backend)
        form.addRow(self.tr("Email"), self.email)
        form.addRow(self.tr("Password"), self.password)
        self.display_name = QLineEdit()
        self.display_name.setPlaceholderText(self.tr("Only for a new account"))
        self.display_name.setMaxLength(64)
        form.addRow(self.tr("Your name"), self.display_name)
        layout.addLayout(form)
        row = QHBoxLayout()
        self.login = QPushButton(self.tr("Log in"))
        self.login.clicked.connect(self.log_in)
        self.register = QPushButton(self.tr("Create account"))
        self.register.setToolTip(self.tr("A new account on this backend, with this email"))
        self.register.clicked.connect(self.create_account)
        self.cancel = QPushButton(self.tr("Cancel"))
        self.cancel.clicked.connect(self._cancel)
        self.logout = QPushButton(self.tr("Log out"))
        self.logout.clicked.connect(lambda: self._start(lambda link: link.logout()))
        for button in (self.login, self.register, self.cancel, self.logout):
            row.addWidget(button)
        layout.addLayout(row)
        layout.addWidget(self._providers())
        self.account_status = muted()
        layout.addWidget(self.account_status)
        return frame

    def _providers(self) -> QWidget:
        """Sign-in through the backend's OpenID Connect providers; shown when it has any."""
        self.providers_row = QWidget()
        row = QHBoxLayout(self.providers_row)
        row.setContentsMargins(0, 0, 0, 0)
        self.provider = QComboBox()
        self.sign_in_with = QPushButton(self.tr("Sign in in the browser"))
        self.sign_in_with.setToolTip(
            self.tr("Opens your web browser to sign in with the chosen provider")
        )
        self.sign_in_with.clicked.connect(self.sign_in_with_provider)
        row.addWidget(self.provider, 1)
        row.addWidget(self.sign_in_with)
        self.backend.editingFinished.connect(self._ask_providers)
        self._ask_providers()
        return self.providers_row

    def _session(self) -> QWidget:
        frame, layout = panel()
        layout.addWidget(title(self.tr("Session")))
        row = QHBoxLayout()
        self.sessions = QComboBox()
        self.sessions.setMinimumContentsLength(16)
        self.sessions.activated.connect(self._session_picked)
        self.reload = QPushButton("↻")
        self.reload.setToolTip(self.tr("Reload sessions"))
        self.reload.clicked.connect(lambda: self._start(lambda link: link.list_sessions()))
        row.addWidget(self.sessions, 1)
        row.addWidget(self.reload)
        layout.addLayout(row)
        row = QHBoxLayout()
        self.new_name = QLineEdit()
        self.new_name.setPlaceholderText(self.tr("New session name"))
        self.new_cameras = QSpinBox()
        self.new_cameras.setRange(1, 99)
        self.new_cameras.setValue(4)
        self.new_cameras.setSuffix(self.tr(" cams"))
        self.create_session = QPushButton(self.tr("Create"))
        self.create_session.clicked.connect(self._create)
        row.addWidget(self.new_name, 1)
        row.addWidget(self.new_cameras)
        row.addWidget(self.create_session)
        layout.addLayout(row)
        self.session_status = muted()
        layout.addWidget(self.session_status)
        return frame

    def _live(self) -> QWidget:
        frame, layout = panel()
        layout.addWidget(title(self.tr("On air")))
        self.go_live = QPushButton(self.tr("GO LIVE"))
        self.go_live.setObjectName("goLive")
        self.go_live.setCheckable(True)
        self.go_live.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.go_live.clicked.connect(self._toggle_live)
        layout.addWidget(self.go_live)
        grid = QFormLayout()
        self.relay = QLabel("—")
        self.phones = QLabel("—")
        self.encoder = QLabel(self.tr("off"))
        self.encoder.setObjectName("muted")
        self.encoder.setWordWrap(True)
        grid.addRow(self.tr("Tally relay"), self.relay)
        grid.addRow(self.tr("Phones"), self.phones)
        grid.addRow(self.tr("Stream"), self.encoder)
        self.recording = RecordingLine(self._model, self._bridge)
        grid.addRow(self.tr("Recording"), self.recording)
        layout.addLayout(grid)
        # What is down and since when: every degraded link the core reports, one a line.
        self.problems = QLabel()
        self.problems.setObjectName("error")
        self.problems.setWordWrap(True)
        self.problems.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(self.problems)
        row = QHBoxLayout()
        self.take_over = QPushButton(self.tr("Take over"))
        self.take_over.setToolTip(
            self.tr("Make this switcher the only director and program sender of the session")
        )
        self.take_over.clicked.connect(lambda: self._start(lambda link: link.take_over()))
        self.retry = QPushButton(self.tr("Retry now"))
        self.retry.clicked.connect(lambda: self._bridge.call(lambda link: link.reconnect_now()))
        row.addWidget(self.take_over)
        row.addWidget(self.retry)
        row.addStretch(1)
        layout.addLayout(row)
        self.error = QLabel()
        self.error.setObjectName("error")
        self.error.setWordWrap(True)
        layout.addWidget(self.error)
        return frame

    # --- actions ----------------------------------------------------------------------

    def log_in(self) -> None:
        backend = self.backend.text().strip()
        email, password = self.email.text().strip(), self.password.text()
        if not backend or not email or not password:
            self._failed("login", self.tr("Enter the backend address, your email and password."))
            return
        self.password.clear()
        self._start(lambda link: link.login(backend, email, password))

    def create_account(self) -> None:
        backend = self.backend.text().strip()
        email, password = self.email.text().strip(), self.password.text()
        name = self.display_name.text().strip()
        if not backend or not email or not name:
            message = self.tr("Enter the backend address, your email, a password and your name.")
            self._failed("login", message)
            return
        if len(password) < MIN_PASSWORD:
            message = self.tr("A new password has at least {0} characters.").format(MIN_PASSWORD)
            self._failed("login", message)
            return
        self.password.clear()
        self._start(lambda link: link.register(backend, email, password, name))

    def sign_in_with_provider(self) -> None:
        backend, provider = self.backend.text().strip(), self.provider.currentText()
        if not backend or not provider:
            self._failed("login", self.tr("Enter the backend address, then choose a provider."))
            return
        self._start(lambda link: link.login_with_provider(backend, provider))

    def _ask_providers(self) -> None:
        backend = self.backend.text().strip()
        if backend:
            self._bridge.call(lambda link: link.offer_providers(backend))

    def _start(self, work: Any) -> None:
        self.error.clear()
        self._pending = self._bridge.call(work)

    def _cancel(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
        self._pending = None
        self._model.busy.clear()
        self._refresh()

    def _session_picked(self, index: int) -> None:
        session_id = self.sessions.itemData(index)
        if isinstance(session_id, str):
            self._start(lambda link: link.choose_session(session_id))

    def _create(self) -> None:
        name = self.new_name.text().strip() or self.tr("Show")
        cameras = self.new_cameras.value()
        self._start(lambda link: link.create_session(name, cameras))

    def _toggle_live(self) -> None:
        self.go_live.setChecked(self._model.live)  # lit by the link's answer, not the click
        if self._model.live:
            self._start(lambda link: link.stop_live())
        else:
            self._start(lambda link: link.go_live())

    # --- showing ------------------------------------------------------------------------

    def _failed(self, action: str, message: str) -> None:
        self.error.setText(core_text(message))

    def _refresh(self) -> None:
        m = self._model
        busy = bool(m.busy)
        logged_in = m.email is not None
        self.login.setEnabled(not busy and not logged_in)
        self.register.setEnabled(not busy and not logged_in)
        self.cancel.setVisible(busy)
        self.logout.setEnabled(logged_in and not busy)
        for field in (self.backend, self.email, self.password, self.display_name):
            field.setEnabled(not logged_in and not busy)
        if tuple(self.provider.itemText(i) for i in range(self.provider.count())) != m.providers:
            self.provider.clear()
            self.provider.addItems(list(m.providers))
        self.providers_row.setVisible(bool(m.providers) and not logged_in)
        self.sign_in_with.setEnabled(not busy)
        if "login" in m.busy:
            self.account_status.setText(self.tr("Working…"))
        elif logged_in:
            self.account_status.setText(self.tr("Logged in as {0}").format(m.email))
        else:
            self.account_status.setText(self.tr("Not logged in"))
        self._fill_sessions()
        session_widgets: tuple[QWidget, ...] = (
            self.sessions,
            self.reload,
            self.new_name,
            self.new_cameras,
            self.create_session,
        )
        for widget in session_widgets:
            widget.setEnabled(logged_in and not busy)
        if m.session is not None:
            cameras = len(m.session.cameras)
            self.session_status.setText(
                self.tr("{0} · {1} cameras · SRT credentials ready").format(m.session.name, cameras)
            )
        else:
            self.session_status.setText(self.tr("No session chosen"))
        self.go_live.setEnabled(m.session is not None and not busy)
        self.go_live.setChecked(m.live)
        self.go_live.setText(self.tr("STOP") if m.live else self.tr("GO LIVE"))
        self._show_live()

    def _fill_sessions(self) -> None:
        m = self._model
        self.sessions.blockSignals(True)
        self.sessions.clear()
        self.sessions.addItem(self.tr("— choose a session —"), None)
        for session in m.sessions:
            self.sessions.addItem(session.name, session.id)
        if m.session is not None:
            index = self.sessions.findData(m.session.id)
            self.sessions.setCurrentIndex(max(0, index))
        self.sessions.blockSignals(False)

    def _show_live(self) -> None:
        m = self._model
        if not m.live:
            self.relay.setText(self.tr("off"))
            self.relay.setObjectName("muted")
        elif m.relay_connected:
            rtt = f" · {m.rtt_ms:.0f} ms" if m.rtt_ms is not None else ""
            self.relay.setText(self.tr("connected") + rtt)
            self.relay.setObjectName("ok")
        else:
            self.relay.setText(core_text(m.detail) or self.tr("connecting…"))
            self.relay.setObjectName("error")
        self.relay.style().unpolish(self.relay)
        self.relay.style().polish(self.relay)
        self.phones.setText(self.tr("{0} joined · {1} viewers").format(m.phones, m.viewers))
        self._show_stream()
        self._show_problems()

    def _show_problems(self) -> None:
        m = self._model
        names = {
            "relay": self.tr("Tally relay"),
            "login": self.tr("Login"),
            "phones": self.tr("Phones"),
            "invites": self.tr("Invite links"),
            "directors": self.tr("Directors"),
            "program stream": self.tr("Stream"),
            "relay events": self.tr("Tally relay"),
            "credentials": self.tr("SRT credentials"),
            "wake watch": self.tr("Wake watch"),
        }
        lines = []
        for item in m.degraded:
            since = time.strftime("%H:%M:%S", time.localtime(item.since))
            layer = item.link.removeprefix("stream ")
            name = names.get(item.link) or (
                f"{self.tr('Stream')} {layer}" if layer != item.link else item.link
            )
            detail = core_text(item.detail)
            lines.append(self.tr("{0}: {1} (since {2})").format(name, detail, since))
        self.problems.setText("\n".join(lines))
        self.problems.setVisible(bool(lines))
        actions = {item.action for item in m.degraded}
        self.take_over.setVisible(m.live and "take_over" in actions)
        self.retry.setVisible(m.live and bool(m.degraded))

    def encoder_text(self, choice: EncoderChoice) -> str:
        """Which H.264 encoder is in use, and why, in the director's language."""
        if choice.reason == AUTO_HARDWARE:
            why = self.tr("auto: the first hardware encoder that opens here")
        elif choice.reason == AUTO_SOFTWARE:
            tried = ", ".join(choice.tried) or "—"
            why = self.tr("auto: no hardware encoder opens here (tried {0})").format(tried)
        elif choice.reason == FELL_BACK:
            why = self.tr("{0} failed during the show; libx264 took over").format(choice.failed)
        else:
            why = self.tr("as set in Settings")
        return self.tr("Encoder {0} ({1})").format(choice.name, why)

    def layer_text(self, layer: StreamLayer) -> str:
        """One stream layer's line (StreamLayer.line's facts) in the director's language."""
        if not layer.connected:
            return f"{layer.name}: {core_text(layer.state)}"
        text = self.tr("{0}: {1:.0f} fps · {2:.0f} kbps").format(layer.name, layer.fps, layer.kbps)
        if layer.rtt_ms is not None:
            text += self.tr(" · RTT {0:.0f} ms · loss {1:.1f}%").format(
                layer.rtt_ms, layer.loss_pct or 0.0
            )
        if layer.latency:
            text += self.tr(" · latency {0}").format(core_text(layer.latency))
        return text

    def _show_stream(self) -> None:
        m = self._model
        if m.stream_sending and m.stream_layers:
            lines = [self.layer_text(layer) for layer in m.stream_layers]
            if m.stream_encoder is not None:
                lines.insert(0, self.encoder_text(m.stream_encoder))
            self.encoder.setText("\n".join(lines))
            ok = all(layer.connected for layer in m.stream_layers)
            self.encoder.setObjectName("ok" if ok else "error")
        elif m.stream_detail:
            self.encoder.setText(core_text(m.stream_detail))
            self.encoder.setObjectName("error")
        elif m.live:
            self.encoder.setText(self.tr("connecting…"))
            self.encoder.setObjectName("muted")
        else:
            self.encoder.setText(self.tr("off"))
            self.encoder.setObjectName("muted")
        self.encoder.style().unpolish(self.encoder)
        self.encoder.style().polish(self.encoder)
