"""The main window on a real core: hotkeys switch, borders follow tally, the T-bar mixes."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app.engine.commands import FadeToBlack, SetCameras, SetPreview, SetProgram
from app.engine.state import ManualTransition
from app.runtime import Runtime
from app.session_link import events as link_events
from app.session_link.vault import MemoryVault
from tally import Camera
from tests.app.core_config import light_config
from ui.hotkeys import command_for
from ui.main_window import MainWindow
from ui.resources import stylesheet
from ui.settings import Settings

SHOTS = Path("/tmp/returnfeed-shots")


@pytest.fixture
def window(qtbot: QtBot, runtime: Runtime) -> Iterator[MainWindow]:
    win = MainWindow(runtime, Settings())
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    win.activateWindow()
    win.multiview.setFocus()
    yield win
    win.close()


def key(qtbot: QtBot, win: MainWindow, k: Qt.Key, shift: bool = False) -> None:
    mods = Qt.KeyboardModifier.ShiftModifier if shift else Qt.KeyboardModifier.NoModifier
    qtbot.keyClick(win.multiview, k, mods)


def test_number_keys_pick_preview_and_shift_numbers_go_to_program(
    qtbot: QtBot, window: MainWindow, runtime: Runtime
) -> None:
    key(qtbot, window, Qt.Key.Key_3)
    qtbot.waitUntil(lambda: window.switcher.preview == "test-3", timeout=3000)
    assert runtime.state.preview == "test-3"
    key(qtbot, window, Qt.Key.Key_4, shift=True)
    qtbot.waitUntil(lambda: window.switcher.program == "test-4", timeout=3000)
    # A US keyboard sends Shift+2 as "@": it still means source 2 to program.
    qtbot.keyClick(window.multiview, Qt.Key.Key_At, Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: window.switcher.program == "test-2", timeout=3000)
    tiles = window.multiview.tiles
    # The border follows TallyChanged, queued just after ProgramChanged.
    qtbot.waitUntil(lambda: tiles["test-2"].tally == "program", timeout=3000)
    assert tiles["test-3"].tally == "preview"
    assert tiles["test-1"].tally is None and tiles["test-4"].tally is None
    assert window.buses.program["test-2"].isChecked()
    assert window.buses.preview["test-3"].isChecked()


class Sixteen:
    """A switcher model's `source_at` with sources 1-16 (named by their number)."""

    def source_at(self, number: int) -> object:
        return type("Source", (), {"name": f"s{number}"})() if 1 <= number <= 16 else None


@pytest.mark.parametrize(
    ("k", "shift", "expected"),
    [
        (Qt.Key.Key_9, False, SetPreview("s9")),
        (Qt.Key.Key_0, False, SetPreview("s10")),
        (Qt.Key.Key_ParenRight, True, SetProgram("s10")),  # Shift+0 on a US layout
        (Qt.Key.Key_0, True, SetProgram("s10")),  # layouts that keep the digit
        (Qt.Key.Key_Q, False, SetPreview("s11")),
        (Qt.Key.Key_Y, False, SetPreview("s16")),
        (Qt.Key.Key_Y, True, SetProgram("s16")),
        (Qt.Key.Key_F, False, FadeToBlack()),  # FTB, not a source
        (Qt.Key.Key_U, False, None),  # no 17th
    ],
)
def test_all_sixteen_sources_have_a_key(k: Qt.Key, shift: bool, expected: object) -> None:
    mods = Qt.KeyboardModifier.ShiftModifier if shift else Qt.KeyboardModifier.NoModifier
    assert command_for(int(k), mods, Sixteen()) == expected  # type: ignore[arg-type]


def test_space_cuts_enter_mixes_and_f_fades_to_black(
    qtbot: QtBot, window: MainWindow, runtime: Runtime
) -> None:
    key(qtbot, window, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: window.switcher.program == "test-2", timeout=3000)
    # The cut's ProgramChanged and TallyChanged reach the UI as two queued events:
    # the border follows the second, which may still be on its way.
    qtbot.waitUntil(lambda: window.multiview.tiles["test-1"].tally == "preview", timeout=3000)
    key(qtbot, window, Qt.Key.Key_Return)
    # During the mix both are on air: both tiles are red.
    qtbot.waitUntil(lambda: len(window.switcher.on_air) == 2, timeout=3000)
    assert {window.multiview.tiles[n].tally for n in ("test-1", "test-2")} == {"program"}
    # 30 frames at 30 fps: the mix ends and the old source drops off air by itself.
    qtbot.waitUntil(lambda: window.switcher.on_air == ("test-1",), timeout=5000)
    assert window.multiview.tiles["test-2"].tally == "preview"
    key(qtbot, window, Qt.Key.Key_F)
    qtbot.waitUntil(lambda: window.switcher.ftb, timeout=3000)
    assert window.transition.ftb.isChecked()


def test_keys_typed_into_a_text_field_stay_text(
    qtbot: QtBot, window: MainWindow, runtime: Runtime
) -> None:
    window.go_live.email.setFocus()
    qtbot.keyClicks(window.go_live.email, "cam3 ")
    qtbot.wait(100)
    assert window.go_live.email.text() == "cam3 "
    assert (runtime.state.program, runtime.state.preview) == ("test-1", "test-2")


def test_the_t_bar_drives_the_mix(qtbot: QtBot, window: MainWindow, runtime: Runtime) -> None:
    clock = runtime.clock
    assert clock is not None
    window.transition.tbar.setValue(250)
    qtbot.waitUntil(lambda: runtime.state.in_transition, timeout=3000)
    sw = runtime.state.switcher
    assert isinstance(sw.transition, ManualTransition)
    assert sw.on_air(0) == pytest.approx({"test-1": 0.75, "test-2": 0.25})
    qtbot.waitUntil(lambda: window.multiview.tiles["test-2"].tally == "program", timeout=3000)
    window.transition.tbar.setValue(1000)
    qtbot.waitUntil(lambda: window.switcher.program == "test-2", timeout=3000)
    assert (runtime.state.tbar, runtime.state.tbar_rest) == (1.0, 1.0)
    # The monitors keep pulling: the program view shows a frame composed after the take.
    before = window.program_view.shown_key
    qtbot.waitUntil(lambda: window.program_view.shown_key is not before, timeout=3000)


def test_a_screenshot_of_the_main_window(qtbot: QtBot, tmp_path: Path) -> None:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    app.setStyleSheet(stylesheet())
    rt = Runtime(light_config(sources=8), vault=MemoryVault())
    rt.start()
    try:
        win = MainWindow(rt, Settings())
        qtbot.addWidget(win)
        win.resize(1600, 900)
        win.show()
        qtbot.waitExposed(win)
        cameras = (
            Camera(1, "Wide", "test-1"),
            Camera(2, "Close", "test-2"),
            Camera(3, "Roam", None),
        )
        rt.submit(SetCameras(cameras)).result(5)
        key(qtbot, win, Qt.Key.Key_3)
        qtbot.waitUntil(lambda: win.switcher.preview == "test-3", timeout=3000)
        # Every tile and both monitors have a picture before the grab.
        views = [*win.multiview.tiles.values(), win.program_view, win.preview_view]
        qtbot.waitUntil(lambda: all(v.shown_key is not None for v in views), timeout=5000)
        shot = tmp_path / "main-window.png"
        assert win.grab().save(str(shot))
        SHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, SHOTS / "main-window.png")
        assert shot.stat().st_size > 50_000  # a picture, not an empty window
        win.close()
    finally:
        rt.stop()
        app.setStyleSheet("")


def test_the_go_live_panel_shows_what_is_down_since_when_and_offers_take_over(
    qtbot: QtBot, window: MainWindow
) -> None:
    """Every degraded state the core reports is on screen, with its time, until it clears."""
    since = time.mktime((2026, 12, 7, 14, 2, 11, 0, 0, -1))
    panel = window.go_live
    window.link.apply(link_events.LiveChanged(True, False, "connecting"))
    window.link.apply(
        link_events.HealthChanged(
            (
                link_events.Degraded("relay", "reconnecting in 1.6 s (refused)", since),
                link_events.Degraded(
                    "directors", "another director is connected", since, "take_over"
                ),
            )
        )
    )
    text = panel.problems.text()
    assert "reconnecting in 1.6 s" in text and "since 14:02:11" in text
    assert "another director is connected" in text
    assert panel.take_over.isVisibleTo(panel) and panel.retry.isVisibleTo(panel)
    window.link.apply(link_events.HealthChanged(()))
    assert panel.problems.text() == ""
    assert not panel.take_over.isVisibleTo(panel) and not panel.retry.isVisibleTo(panel)
