"""Starting the window: Qt application, theme and language, the core, the main window.

Errors reach the director as dialogs or status messages, never as tracebacks: a failure
to start says what to change, and an unexpected exception in a slot is logged and shown.
"""

from __future__ import annotations

import logging
import signal
import sys
import traceback
from types import TracebackType

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QMessageBox

from app.cloud_live import CloudLive
from app.desktop import DesktopOptions, runtime_config
from app.runtime import CoreStartError, Runtime
from app.session_link.vault import open_vault

from .core_text import core_text
from .i18n import install, pick_language
from .main_window import MainWindow
from .resources import stylesheet
from .settings import load_with_notes

log = logging.getLogger(__name__)


def _application() -> QApplication:
    app = QApplication.instance()
    if isinstance(app, QApplication):
        return app
    app = QApplication(sys.argv[:1])
    app.setApplicationName("ReturnFeed")
    app.setOrganizationName("ReturnFeed")
    app.setOrganizationDomain("returnfeed.app")
    return app


def _excepthook(window: MainWindow) -> None:
    def hook(kind: type[BaseException], error: BaseException, tb: TracebackType | None) -> None:
        log.error("unexpected error:\n%s", "".join(traceback.format_exception(kind, error, tb)))
        window.show_error(f"Unexpected error: {error}")

    sys.excepthook = hook


def run_window(options: DesktopOptions) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    app = _application()
    store = QSettings()
    settings, notes = load_with_notes(store)
    translator = install(app, pick_language(options.lang or settings.language))
    app.setStyleSheet(stylesheet())
    runtime = Runtime(runtime_config(options, settings.saved()))
    try:
        runtime.start()
    except CoreStartError as exc:
        QMessageBox.critical(
            None,
            "ReturnFeed",
            app.tr("ReturnFeed could not start:\n{0}").format(core_text(str(exc))),
        )
        return 1
    window = MainWindow(runtime, settings, store)
    _excepthook(window)
    window.show()
    if runtime.vault_note:
        window.show_message(runtime.vault_note)
    for note in notes:  # a settings file from an older version, or a bad value in it
        log.warning("settings: %s", note)
    if notes:
        window.show_message(" ".join(notes))
    if options.cloud is not None:  # --cloud/--demo: the Go Live panel follows the link's events
        CloudLive(runtime, options.cloud, open_vault()[0], sys.stdout).start()
    # Ctrl+C or a TERM (scripts/run.sh) closes like the window does, so the core stops
    # cleanly; the handler runs at the next Python slot, and the monitors' timers run often.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: app.quit())
    try:
        return app.exec()
    finally:
        runtime.stop()
        del translator
