"""The director's account, session, links and SRT credentials from the window, against the
real backend: a new account, a session made, renamed and ended, the viewers' link shown,
copied, re-issued and revoked, the SRT credentials rotated only when confirmed, and a
viewer who joined listed in the crew."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from app.runtime import Runtime
from tests.app.conftest import sqlite_backend
from tests.support.api import Director, redeem
from tests.support.cloud import CloudServer
from ui.main_window import MainWindow
from ui.models.crew import COL_CAMERA, COL_NAME
from ui.settings import Settings

WAIT_MS = 15000


@pytest.fixture
def server(tmp_path: Path) -> Iterator[CloudServer]:
    with sqlite_backend(tmp_path) as server:
        yield server


class Answers:
    """The director's answers to the confirmations, and what they were asked."""

    def __init__(self) -> None:
        self.yes = True
        self.asked: list[str] = []

    def __call__(self, parent: QWidget, heading: str, text: str) -> bool:
        self.asked.append(text)
        return self.yes


def backend_session(server: CloudServer, director: Director, session_id: str) -> dict[str, str]:
    with server.client() as http:
        session = http.get(f"/api/sessions/{session_id}", headers=director.auth).json()
        srt = http.get(f"/api/sessions/{session_id}/srt", headers=director.auth)
        return {"state": session["state"], "name": session["name"], "srt": srt.text}


def join(server: CloudServer, url: str, name: str) -> int:
    with server.client() as http:
        return redeem(http, url.split("#", 1)[1], display_name=name).status_code


def test_account_session_links_and_srt_from_the_window(
    qtbot: QtBot, runtime: Runtime, server: CloudServer
) -> None:
    win = MainWindow(runtime, Settings())
    qtbot.addWidget(win)
    answers = Answers()
    go, panel, link = win.go_live, win.session_panel, win.link
    panel._confirm = answers
    email, password = f"dir-{secrets.token_hex(4)}@example.com", "a-good-password"

    go.backend.setText(server.base_url)
    go.email.setText(email)
    go.password.setText("short")
    go.display_name.setText("Park")
    go.register.click()
    assert "8" in go.error.text() and link.email is None  # refused before any round trip
    go.password.setText(password)
    go.register.click()
    qtbot.waitUntil(lambda: link.email == email and not link.busy, timeout=WAIT_MS)
    with server.client() as http:
        r = http.post("/api/auth/login", json={"email": email, "password": password})
        director = Director(email, password, r.json()["access_token"], "")

    assert not panel.rename_button.isEnabled()  # no session yet
    go.new_name.setText("Morning")
    go.new_cameras.setValue(2)
    go.create_session.click()
    qtbot.waitUntil(lambda: link.session is not None and not link.busy, timeout=WAIT_MS)
    assert link.session is not None
    session_id = link.session.id
    assert [panel.which.itemData(i) for i in range(panel.which.count())] == [0, 1, 2]

    panel.name.setText("Evening")
    panel.rename_button.click()
    qtbot.waitUntil(lambda: go.sessions.findText("Evening") >= 0, timeout=WAIT_MS)
    assert link.session is not None and link.session.name == "Evening"
    assert backend_session(server, director, session_id)["name"] == "Evening"

    panel.pick(None)  # the viewers' link: shown, as a QR code, copied
    old = panel.current()
    assert old is not None and old.role == "viewer" and panel.url.text() == old.url
    assert not panel.qr.pixmap().isNull()
    panel.copy_button.click()
    assert QGuiApplication.clipboard().text() == old.url
    panel.reissue_button.click()
    qtbot.waitUntil(lambda: (panel.current() or old).url != old.url, timeout=WAIT_MS)
    new = panel.current()
    assert new is not None and panel.url.text() == new.url
    assert 400 <= join(server, old.url, "Late") < 500
    assert join(server, new.url, "Guest") == 201

    win.tabs.setCurrentWidget(win.crew_panel)
    win.crew_panel.refresh_button.click()
    qtbot.waitUntil(lambda: win.crew.rowCount() == 1, timeout=WAIT_MS)
    cells = (COL_CAMERA, COL_NAME)
    shown = [win.crew.data(win.crew.index(0, c), Qt.ItemDataRole.DisplayRole) for c in cells]
    assert shown == ["Viewer", "Guest"]

    panel.revoke_button.click()
    qtbot.waitUntil(lambda: panel.current() is None, timeout=WAIT_MS)
    assert panel.url.text() == "No link yet" and not panel.revoke_button.isEnabled()
    assert 400 <= join(server, new.url, "Again") < 500

    before = backend_session(server, director, session_id)["srt"]
    qtbot.waitUntil(lambda: not link.busy, timeout=WAIT_MS)  # buttons wait for the last answer
    answers.yes = False
    panel.rotate_button.click()
    assert answers.asked and backend_session(server, director, session_id)["srt"] == before
    answers.yes = True
    panel.rotate_button.click()
    qtbot.waitUntil(lambda: bool(panel.srt_status.text()), timeout=WAIT_MS)
    assert "next Go Live" in panel.srt_status.text()
    assert backend_session(server, director, session_id)["srt"] != before

    qtbot.waitUntil(lambda: not link.busy, timeout=WAIT_MS)
    panel.end_button.click()
    assert "Evening" in answers.asked[-1]
    qtbot.waitUntil(lambda: link.session is None, timeout=WAIT_MS)
    assert backend_session(server, director, session_id)["state"] == "ended"
    qtbot.waitUntil(lambda: go.sessions.findText("Evening") < 0, timeout=WAIT_MS)
    assert not panel.end_button.isEnabled() and panel.which.count() == 0
    assert win.crew.rowCount() == 0
    win.close()


def test_a_refused_account_shows_the_backends_words(
    qtbot: QtBot, runtime: Runtime, server: CloudServer
) -> None:
    win = MainWindow(runtime, Settings())
    qtbot.addWidget(win)
    go = win.go_live
    with server.client() as http:
        taken = f"taken-{secrets.token_hex(4)}@example.com"
        body = {"email": taken, "password": "a-good-password", "display_name": "A"}
        assert http.post("/api/auth/register", json=body).status_code == 201
    go.backend.setText(server.base_url)
    go.email.setText(taken)
    go.password.setText("another-password")
    go.display_name.setText("B")
    go.register.click()
    qtbot.waitUntil(lambda: "already exists" in go.error.text(), timeout=WAIT_MS)
    assert win.link.email is None and go.register.isEnabled()
    assert runtime.running
    win.close()
