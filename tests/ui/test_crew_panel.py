"""The crew panel in the window, against the real backend and relay: a phone that joins is
listed with its camera and name; Flash and Move reach it; Re-issue gives a new link."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QModelIndex, Qt
from pytestqt.qtbot import QtBot

from app.session_link import events as ev
from app.session_link.cloud_api import Participant
from tally import Assign, Flash
from tests.app.conftest import sqlite_backend
from tests.app.crew_phone import phone_on_relay
from tests.app.live import director_runtime
from tests.cloud.relay.peers import new_show
from tests.support.cloud import CloudServer
from ui.main_window import MainWindow
from ui.models.crew import COL_ACK, COL_CAMERA, COL_NAME, CREW_HEADERS, CrewModel, ago
from ui.settings import Settings
from ui.strings_ko import KO


@pytest.fixture
def server(tmp_path: Path) -> Iterator[CloudServer]:
    with sqlite_backend(tmp_path) as server:
        yield server


def cell(model: CrewModel, row: int, col: int) -> object:
    return model.data(model.index(row, col), Qt.ItemDataRole.DisplayRole)


def test_the_crew_panel_lists_flashes_moves_and_reissues(qtbot: QtBot, server: CloudServer) -> None:
    show = new_show(server, cameras=3)
    with director_runtime(server, show.director, show.session_id) as (rt, seen):
        win = MainWindow(rt, Settings())
        qtbot.addWidget(win)
        panel, crew = win.crew_panel, win.crew
        rt.call(lambda link: link.choose_session(show.session_id)).result(20)
        qtbot.waitUntil(lambda: panel.move_to.count() == 3, timeout=10000)
        rt.call(lambda link: link.go_live()).result(20)
        joined = show.join("camera", 1, display_name="Kim")
        with phone_on_relay(show.url, joined["participant_token"], 1) as phone:
            qtbot.waitUntil(lambda: crew.rowCount() == 1, timeout=15000)
            assert (cell(crew, 0, COL_CAMERA), cell(crew, 0, COL_NAME)) == ("1", "Kim")
            assert not panel.flash_button.isEnabled()  # nothing selected yet
            panel.select(0)
            assert panel.flash_button.isEnabled()

            panel.flash_button.click()
            phone.wait_for(lambda m: m == Flash(1))

            panel.move_to.setCurrentIndex(panel.move_to.findData(2))
            panel.move_button.click()
            phone.wait_for(lambda m: isinstance(m, Assign) and m.camera == 2)
            qtbot.waitUntil(lambda: cell(crew, 0, COL_CAMERA) == "2", timeout=10000)

            old = win.link.invite_for(2)
            assert old is not None
            panel.select(0)
            panel.reissue_button.click()
            qtbot.waitUntil(lambda: (win.link.invite_for(2) or old).url != old.url, timeout=10000)
        assert not [e for e in seen.events if isinstance(e, ev.LinkFailed)], seen.events
        win.close()


def test_the_model_keeps_acks_and_leaves_the_director_out(qtbot: QtBot) -> None:
    now = [1000.0]
    model = CrewModel(clock=lambda: now[0])
    people = (
        Participant("d", "director", "Me", None),
        Participant("v", "viewer", "Guest", None),
        Participant("p", "camera", "Kim", 2),
    )
    with qtbot.waitSignal(model.modelReset):
        model.apply(ev.PhonesChanged(people))
    assert [p.id for p in model.phones] == ["p", "v"]
    assert cell(model, 0, COL_ACK) == "—"
    model.apply(ev.MessageAcked("m1", 2))
    now[0] += 75
    assert cell(model, 0, COL_ACK) == ago(75) == "1 min"
    assert model.data(QModelIndex()) is None


def test_crew_words_have_korean() -> None:
    words = set(CREW_HEADERS) | {"Viewer", "{0} s", "{0} min", "{0} h {1} min"}
    assert not sorted(words - set(KO))
