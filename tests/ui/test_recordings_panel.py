"""Recording in the window, against the real backend and the app's own Go Live: the switch
on the Go Live tab is stored with the session, the show's recording is shown while on air,
and the Recordings tab lists the session's recordings after the show, saves one to the file
the director picks, plays it through the system opener and deletes it once confirmed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from tests.app.live import director_runtime
from tests.cloud.record.support import decode_errors
from tests.support.api import create_session, register
from tests.support.cloud import CloudServer, gateway_server
from ui.main_window import MainWindow
from ui.models.recordings import COL_STATE
from ui.settings import Settings

WAIT_MS = 30000


@pytest.fixture
def server(tmp_path: Path) -> Iterator[CloudServer]:
    (tmp_path / "cloud").mkdir()
    server = gateway_server(tmp_path / "cloud")
    yield server
    assert server.alive(), server.log_text()[-3000:]
    server.stop()


def test_switch_state_list_download_play_and_delete(
    qtbot: QtBot, server: CloudServer, tmp_path: Path
) -> None:
    with server.client() as http:
        director = register(http)
        sid = create_session(http, director, name="Evening", cameras=1)["id"]
    opened: list[str] = []
    with director_runtime(server, director, sid, open_browser=opened.append) as (rt, seen):
        win = MainWindow(rt, Settings())
        qtbot.addWidget(win)
        link, line, panel = win.link, win.go_live.recording, win.recordings_panel
        rt.call(lambda link: link.choose_session(sid)).result(20)
        qtbot.waitUntil(lambda: link.session is not None, timeout=WAIT_MS)
        assert line.switch.isChecked() and line.state.text() == "Each Go Live is recorded"

        line.switch.click()  # off: stored with the session
        qtbot.waitUntil(lambda: link.session is not None and not link.session.recording)
        assert line.state.text() == "Recording off"
        with server.client() as http:
            stored = http.get(f"/api/sessions/{sid}/recording", headers=director.auth).json()
        assert stored["on"] is False
        line.switch.click()  # and on again
        qtbot.waitUntil(lambda: link.session is not None and link.session.recording)

        rt.call(lambda link: link.go_live()).result(20)
        qtbot.waitUntil(lambda: line.state.text() == "● Recording", timeout=WAIT_MS)
        qtbot.waitUntil(lambda: len(panel.model.rows) == 1, timeout=WAIT_MS)
        panel.select(0)
        assert panel.model.rows[0].state == "recording"
        assert not panel.delete_button.isEnabled(), "not while it is being written"
        rt.call(lambda link: link.stop_live()).result(20)
        qtbot.waitUntil(
            lambda: bool(panel.model.rows) and panel.model.rows[0].state == "ended",
            timeout=WAIT_MS,
        )
        cell = panel.model.data(panel.model.index(0, COL_STATE))
        assert cell == "Ended: the stream ended"

        saved = tmp_path / "evening.mp4"
        asked: list[str] = []

        def choose(parent: QWidget, suggested: str) -> str:
            asked.append(suggested)
            return str(saved)

        panel._choose_file = choose
        panel.select(0)
        assert panel.download_button.isEnabled() and panel.delete_button.isEnabled()
        panel.download_button.click()
        qtbot.waitUntil(lambda: panel.status.text() == f"Saved to {saved}", timeout=WAIT_MS)
        assert asked and asked[0].endswith(".mp4")
        assert decode_errors(saved) == ""

        panel.play_button.click()
        qtbot.waitUntil(lambda: bool(opened), timeout=WAIT_MS)
        assert opened[0].startswith("file://") and opened[0].endswith(".mp4")

        answers: list[bool] = [False, True]
        questions: list[str] = []

        def confirm(parent: QWidget, heading: str, text: str) -> bool:
            questions.append(text)
            return answers.pop(0)

        panel._confirm = confirm
        panel.delete_button.click()  # "no": kept
        assert len(questions) == 1 and len(panel.model.rows) == 1
        panel.delete_button.click()
        qtbot.waitUntil(lambda: not panel.model.rows, timeout=WAIT_MS)
        with server.client() as http:
            r = http.get(f"/api/sessions/{sid}/recordings", headers=director.auth)
        assert r.json()["recordings"] == []
        assert seen.events  # the core ran throughout
        win.close()
