"""Every tr() literal in ui/ has Korean, and installing Korean really changes the labels."""

from __future__ import annotations

import ast
from pathlib import Path

from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app.runtime import Runtime
from ui.i18n import install
from ui.main_window import MainWindow
from ui.models.cameras import HEADERS
from ui.settings import Settings
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
