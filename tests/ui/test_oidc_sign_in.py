"""Sign in through a provider from the Go Live panel: the backend's providers offered once
its address is entered, the system browser (Debian's Chromium) opened, an unverified email
refused in Korean, then the director logged in. Real backend and oidc-provider."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app.runtime import Runtime
from app.session_link.vault import MemoryVault
from tests.app.core_config import light_config
from tests.support.oidc import backend_with_provider
from tests.support.oidc.browser import SystemBrowser
from ui.i18n import install
from ui.main_window import MainWindow
from ui.settings import Settings

WAIT_MS = 30000


@pytest.fixture
def browser() -> SystemBrowser:
    return SystemBrowser("unverified.yun@example.com")


@pytest.fixture
def runtime(browser: SystemBrowser) -> Iterator[Runtime]:
    rt = Runtime(replace(light_config(), open_browser=browser), vault=MemoryVault())
    rt.start()
    yield rt
    rt.stop()


def test_sign_in_through_a_provider_from_the_window(
    qtbot: QtBot, qapp: QApplication, runtime: Runtime, browser: SystemBrowser, tmp_path: Path
) -> None:
    with backend_with_provider(tmp_path) as server:
        win = MainWindow(runtime, Settings())
        qtbot.addWidget(win)
        go, link = win.go_live, win.link
        go.backend.setText(server.base_url)
        go.backend.editingFinished.emit()
        qtbot.waitUntil(lambda: go.provider.count() == 1, timeout=WAIT_MS)
        assert go.provider.currentText() == "loop" and not go.providers_row.isHidden()

        translator = install(qapp, "ko")
        try:
            go.sign_in_with.click()
            qtbot.waitUntil(lambda: bool(go.error.text()) and not link.busy, timeout=WAIT_MS)
        finally:
            assert translator is not None
            qapp.removeTranslator(translator)
        assert "이메일 주소를 확인하지 않았습니다" in go.error.text()
        assert link.email is None

        browser.email = "yun@example.com"
        go.sign_in_with.click()
        # Logged in, then the sessions listed: the status says who once both are done.
        qtbot.waitUntil(lambda: link.email == "yun@example.com" and not link.busy, timeout=WAIT_MS)
        assert browser.finished.wait(60)
        assert "Signed in." in browser.last_page
        assert go.providers_row.isHidden() and not go.error.text()
        assert "yun@example.com" in go.account_status.text()
