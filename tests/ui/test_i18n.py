"""Every tr() literal in ui/ has Korean, and installing Korean really changes the labels."""

from __future__ import annotations

import ast
import re
import time
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QComboBox,
    QLabel,
    QLineEdit,
    QSpinBox,
    QTableView,
    QTabWidget,
    QWidget,
)
from pytestqt.qtbot import QtBot

from app.golive import StreamLayer
from app.runtime import Runtime
from app.session_link import events as ev
from media.send.link import describe_reject
from media.srt import RejectReason
from ui.core_text import core_text
from ui.i18n import install
from ui.main_window import MainWindow
from ui.models.cameras import HEADERS
from ui.models.recordings import HEADERS as RECORDING_HEADERS
from ui.settings import Settings
from ui.strings_core_ko import CORE_KO
from ui.strings_ko import KO
from ui.widgets.settings_dialog import SOURCES_HELP
from ui.widgets.transition import KIND_NAMES

UI = Path(__file__).resolve().parents[2] / "ui"


def tr_literals() -> set[str]:
    found: set[str] = set()
    for path in UI.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "tr"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                found.add(node.args[0].value)
    return found


def test_every_string_has_korean() -> None:
    wanted = tr_literals() | set(HEADERS) | set(KIND_NAMES.values()) | {SOURCES_HELP}
    wanted |= set(RECORDING_HEADERS)
    wanted |= {"PROGRAM", "PREVIEW", "OFF"}  # lamp names, translated at run time
    missing = sorted(wanted - set(KO))
    assert not missing, f"no Korean for: {missing}"
    assert len(wanted) > 80


def test_the_window_speaks_korean(qtbot: QtBot, runtime: Runtime) -> None:
    app = QApplication.instance()
    assert app is not None
    translator = install(app, "ko")
    try:
        win = MainWindow(runtime, Settings())
        qtbot.addWidget(win)
        assert win.go_live.login.text() == "로그인"
        assert win.tabs.tabText(0) == "송출"
        assert win.transition.kind.itemText(0) == "믹스"
        win.close()
    finally:
        assert translator is not None
        app.removeTranslator(translator)


# --- the Korean window shows no English, the core's words included ------------------------

# Words a Korean broadcast UI keeps as they are: units, protocols, the switcher's panel
# labels (as on hardware switchers sold in Korea), key names, product names.
ALLOWED = frozenset({
    "NDI", "SRT", "RTT", "FEC", "LUFS", "dBFS", "dB", "Hz", "kHz", "ms", "fps", "kbps",
    "HTTP", "HTTPS", "HLS", "URL", "API", "QR", "ID", "IP", "LAN", "WAN", "ReturnFeed", "Companion",
    "CUT", "AUTO", "FTB", "PGM", "PVW", "AFV", "Space", "Enter", "Esc", "Ctrl", "PortAudio",
    "libx264", "x264", "FFmpeg", "NVENC", "QSV", "VAAPI", "VideoToolbox",
})  # fmt: skip
URL_OR_EMAIL = re.compile(r"\S+://\S+|\S+@\S+|--[a-z-]+")
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_]+")
SRT_CODE_NAMES = frozenset(reason.name for reason in RejectReason)


def english_in(text: str, names: frozenset[str] = frozenset()) -> list[str]:
    """The Latin words in `text` that are not allowed: names, URLs and units aside."""
    for name in sorted(names, key=len, reverse=True):
        text = text.replace(name, " ")
    text = URL_OR_EMAIL.sub(" ", text)
    words = LATIN_WORD.findall(text)
    return [w for w in words if w not in ALLOWED and w not in SRT_CODE_NAMES]


def widget_texts(win: QWidget) -> list[tuple[str, str]]:
    """Every text the window can show: labels, buttons, tooltips, placeholders, combo
    items, tab names, table headers, menus and actions, hidden tabs included."""
    found: list[tuple[str, str]] = [("window", win.windowTitle())]
    for w in win.findChildren(QWidget):
        where = f"{type(w).__name__} {w.objectName()}"
        found.append((where, w.toolTip()))
        if isinstance(w, QLabel | QAbstractButton | QLineEdit):
            found.append((where, w.text()))
        if isinstance(w, QLineEdit):
            found.append((where, w.placeholderText()))
        if isinstance(w, QSpinBox):
            found += [(where, w.prefix()), (where, w.suffix())]
        if isinstance(w, QComboBox):
            found += [(where, w.itemText(i)) for i in range(w.count())]
        if isinstance(w, QTabWidget):
            found += [(where, w.tabText(i)) for i in range(w.count())]
        if isinstance(w, QTableView):
            model = w.model()
            header = Qt.Orientation.Horizontal
            found += [(where, str(model.headerData(i, header))) for i in range(model.columnCount())]
    for action in win.findChildren(QAction):
        found += [("action", action.text()), ("action", action.toolTip())]
    return [(where, text) for where, text in found if text]


def test_the_core_catalogue_is_all_korean() -> None:
    for english, korean in CORE_KO.items():
        fields = sorted(re.findall(r"\{\d+\}", english))
        assert sorted(re.findall(r"\{\d+\}", korean)) == fields, english
        assert not english_in(korean), (english, korean)


CORE_SITES = {
    # the session link and Go Live (app/session_link, app/golive.py)
    "LinkFailed", "CrewRefused", "Notice", "LiveChanged", "StreamChanged", "Degraded", "down",
    "RecordingRefused",
    "_end", "CloudError", "CloudUnreachable", "NotLoggedIn", "CoreStartError", "OidcLoginError",
    # the engine's refusals a window action can meet (bad values come from the control API)
    "NotNow", "UnknownSource", "UnknownChannel", "UnknownCamera",
    # a stream layer's state, its SRT latency and why; sound and its errors
    "LinkState", "_wait", "LatencyChoice", "AudioStatus", "NoAudioDevice",
}  # fmt: skip


# The core's modules that write to a terminal, never to the window (`--cloud` go live).
TERMINAL_ONLY = {"cloud_live.py"}


def core_messages() -> list[tuple[str, str]]:
    """Every text literal the core hands to the window at the sites above, each value of an
    f-string read as 7 (a number, which needs no words), with where it was found."""
    found = []
    for root in ("app", "media"):
        for path in (UI.parent / root).rglob("*.py"):
            if path.name in TERMINAL_ONLY:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call):
                    continue
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                if name not in CORE_SITES:
                    continue
                for arg in [*node.args, *(k.value for k in node.keywords)]:
                    text = _sample(arg)
                    if text and LATIN_WORD.search(text):
                        found.append((f"{path.relative_to(UI.parent)}:{node.lineno}", text))
    return found


def _sample(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(
            part.value if isinstance(part, ast.Constant) else "7" for part in node.values
        )
    return None


# Arguments at those sites that are names, not words: link names the panel maps itself.
NOT_SHOWN = {"relay", "login", "phones", "directors", "invites", "credentials", "live",
             "message", "log_in", "take_over", "go_live", "crew", "session", "stream 7",
             "no_session", "not_logged_in", "not_live", "unknown_phone", "no_invite",
             "unknown_camera", "timeout", "unreachable", "program stream",
             "no_browser", "unknown_recording", "write_failed", "bad_request"}  # fmt: skip


def test_every_core_message_reads_korean(qapp: QApplication) -> None:
    messages = core_messages()
    assert len(messages) > 40, messages  # the scan finds the sites
    translator = install(qapp, "ko")
    try:
        english = [
            (where, text, core_text(text))
            for where, text in messages
            if text not in NOT_SHOWN and english_in(core_text(text))
        ]
        rejects = [describe_reject(code) for code in RejectReason]
        english += [("reject", t, core_text(t)) for t in rejects if english_in(core_text(t))]
    finally:
        assert translator is not None
        qapp.removeTranslator(translator)
    assert not english, "\n".join(f"{w}: {t!r} -> {k!r}" for w, t, k in english)


def test_the_korean_window_shows_no_english(qtbot: QtBot, runtime: Runtime) -> None:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    translator = install(app, "ko")
    try:
        win = MainWindow(runtime, Settings())
        qtbot.addWidget(win)
        win.show()
        # The core's words as the window shows them: a show whose links are down.
        since = time.time()
        for event in (
            ev.LiveChanged(True, False, "reconnecting in 1.5 s (connection lost)"),
            ev.HealthChanged((
                ev.Degraded("relay", "reconnecting in 1.5 s (connection lost)", since),
                ev.Degraded("stream hi", "rejected: wrong passphrase (retry in 8.0 s)", since),
                ev.Degraded("phones", "phone list not updated: no such session", since),
            )),
            ev.StreamChanged(True, (
                StreamLayer("hi", "connected", True, 60, 4000, 31, 1.0, None,
                            "70 ms: RTT 31 ms + 20, 2 repair chances (loss 1.0 %)"),
                StreamLayer("lo", "retrying: no answer from 10.0.0.2:9000 (retry in 2.0 s)",
                            False, 0, 0, None, None),
            )),
            ev.LinkFailed("live", "Choose or create a session first."),
        ):  # fmt: skip
            win.link.apply(event)
        names = frozenset(s.title for s in runtime.state.sources) | {"hi", "lo"}
        english = [
            (where, text)
            for where, text in [*widget_texts(win), ("status", win.statusBar().currentMessage())]
            if english_in(text, names)
        ]
        assert not english, "\n".join(f"{w}: {t!r}" for w, t in english)
        assert "다시 연결" in win.go_live.problems.text()
        win.close()
    finally:
        assert translator is not None
        app.removeTranslator(translator)
