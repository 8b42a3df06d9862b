"""The audience link (HLS) on the Recordings tab, against the real backend and the app's
own Go Live: the director makes a link valid 7 days from the window, it shows with its QR
code and expiry, copies, and plays (its playlist and a segment, no login) once the show
records; revoking all links asks first, and once confirmed the link answers 403
token_revoked and the window shows none. A refusal from the backend shows in the status
bar and the window stays up."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from app.runtime import Runtime
from app.session_link import events as ev
from tests.app.live import director_runtime
from tests.support.api import create_session, register
from tests.support.cloud import CloudServer, gateway_server
from ui.main_window import MainWindow
from ui.settings import Settings

WAIT_MS = 30000
DAY_S = 24 * 3600


@pytest.fixture
def server(tmp_path: Path) -> Iterator[CloudServer]:
    (tmp_path / "cloud").mkdir()
    server = gateway_server(tmp_path / "cloud")
    yield server
    assert server.alive(), server.log_text()[-3000:]
    server.stop()


def test_make_copy_play_and_revoke_an_audience_link(qtbot: QtBot, server: CloudServer) -> None:
    with server.client() as http:
        director = register(http)
        sid = create_session(http, director, name="Concert", cameras=1)["id"]
    with director_runtime(server, director, sid) as (rt, seen):
        win = MainWindow(rt, Settings())
        qtbot.addWidget(win)
        link, group = win.link, win.recordings_panel.audience
        rt.call(lambda link: link.choose_session(sid)).result(20)
        qtbot.waitUntil(lambda: link.session is not None, timeout=WAIT_MS)
        assert group.make_button.isEnabled() and not group.copy_button.isEnabled()
        assert group.validity.currentData() == DAY_S, "one day unless chosen"
        assert group.url.text() == "" and group.qr.pixmap().isNull()

        rt.call(lambda link: link.go_live()).result(20)
        panel = win.recordings_panel
        qtbot.waitUntil(
            lambda: bool(panel.model.rows) and panel.model.rows[0].segments >= 1,
            timeout=WAIT_MS,
        )

        group.validity.setCurrentIndex(group.validity.findData(7 * DAY_S))
        group.make_button.click()
        qtbot.waitUntil(lambda: group.url.text() != "", timeout=WAIT_MS)
        url = group.url.text()
        assert url.startswith(f"{server.base_url}/hls/{sid}/a/") and group.url.isReadOnly()
        assert not group.qr.pixmap().isNull()
        made = link.audience
        assert made is not None and made.expires_at is not None
        left = made.expires_at.timestamp() - time.time()
        assert 7 * DAY_S - 60 < left <= 7 * DAY_S
        when = made.expires_at.astimezone().strftime("%Y-%m-%d %H:%M")
        assert group.expiry.text() == f"Valid until {when}"
        group.copy_button.click()
        assert QGuiApplication.clipboard().text() == url

        playlist = httpx.get(url)  # no login: the link is all an audience needs
        assert playlist.status_code == 200, playlist.text
        assert playlist.text.startswith("#EXTM3U")
        assert playlist.headers["access-control-allow-origin"] == "*"
        parts = [line for line in playlist.text.splitlines() if line and line[0] != "#"]
        assert parts, playlist.text
        segment = httpx.get(httpx.URL(url).join(parts[0]))
        assert segment.status_code == 200 and segment.content

        answers, questions = [False, True], []

        def confirm(parent: QWidget, heading: str, text: str) -> bool:
            questions.append(text)
            return answers.pop(0)

        panel._confirm = confirm
        group.revoke_button.click()  # "no": nothing happens
        assert len(questions) == 1 and "Everyone playing an audience link stops" in questions[0]
        assert group.url.text() == url
        group.revoke_button.click()
        qtbot.waitUntil(lambda: group.url.text() == "", timeout=WAIT_MS)
        assert group.qr.pixmap().isNull() and not group.copy_button.isEnabled()
        gone = httpx.get(url)
        assert gone.status_code == 403, gone.text
        assert gone.json()["error"]["details"]["reason"] == "token_revoked"

        # A session the backend does not know (gone meanwhile): the status bar says so,
        # nothing is shown as made, and the window goes on.
        assert link.session is not None
        link.apply(ev.SessionUpdated(replace(link.session, id="nosuchsession")))
        group.make_button.click()
        qtbot.waitUntil(
            lambda: "no such session" in win.statusBar().currentMessage(), timeout=WAIT_MS
        )
        assert group.url.text() == "" and link.audience is None
        assert seen.events
        win.close()


def test_an_expired_link_says_so(qtbot: QtBot, runtime: Runtime) -> None:
    """A link kept past its expiry reads as expired, not valid."""
    win = MainWindow(runtime, Settings())
    qtbot.addWidget(win)
    group = win.recordings_panel.audience
    past = datetime.fromisoformat("2026-01-02T03:04:00+00:00")
    when = past.astimezone().strftime("%Y-%m-%d %H:%M")
    assert group.expiry_text(past) == f"Expired {when}: make a new link"
    assert group.expiry_text(None) == ""
    win.close()
