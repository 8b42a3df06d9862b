"""The multiview on a real core: 4, 9 or 16 tiles with scaled labels and tally borders, the
sources a layout leaves out named, a clock and the program source's time on air."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app.engine.commands import Cut
from app.engine.sources import SourceSpec, default_specs
from app.runtime import Runtime
from app.session_link.vault import MemoryVault
from media.encode.codecs import SOFTWARE
from media.encode.detect import CHOSEN, EncoderChoice
from media.sources.base import SourceState
from tests.app.core_config import LIGHT_MEDIA, light_config
from tests.media.support import LOOPBACK, LoopbackSender
from ui.main_window import MainWindow
from ui.resources import stylesheet
from ui.settings import Settings, load, load_with_notes
from ui.video.grid import grid_shape
from ui.video.multiview import UnknownLayout, tile_every
from ui.video.onair import Clocks
from ui.video.view import TALLY_COLOURS, VideoView
from ui.widgets.settings_dialog import SettingsDialog

NOON = time.mktime((2026, 12, 7, 14, 2, 11, 0, 0, -1))


@dataclass
class HandClock:
    """Time that moves only when the test says so."""

    wall: float = NOON
    mono: float = 1000.0

    def advance(self, seconds: float) -> None:
        self.wall += seconds
        self.mono += seconds

    def clocks(self) -> Clocks:
        return Clocks(wall=lambda: self.wall, monotonic=lambda: self.mono)


@pytest.fixture
def core(request: pytest.FixtureRequest) -> Iterator[Runtime]:
    """A core with `sources` test patterns (a parametrised count, else 4)."""
    count = getattr(request, "param", 4)
    rt = Runtime(light_config(sources=count), vault=MemoryVault())
    rt.start()
    yield rt
    rt.stop()


def open_window(qtbot: QtBot, rt: Runtime, settings: Settings, **kw: object) -> MainWindow:
    win = MainWindow(rt, settings, **kw)  # type: ignore[arg-type]
    qtbot.addWidget(win)
    win.resize(1600, 900)
    win.show()
    qtbot.waitExposed(win)
    return win


def band(tile: VideoView) -> tuple[int, list[QColor]]:
    """The tally border's width, and the colours across it at the middle of the left edge."""
    width = tile.border_width()
    shot = tile.grab().toImage()
    y = shot.height() // 2
    return width, [shot.pixelColor(x, y) for x in range(width)]


def red_or_green(tile: VideoView, tally: str) -> bool:
    width, colours = band(tile)
    return width >= 2 and all(c == TALLY_COLOURS[tally] for c in colours)


@pytest.mark.parametrize("core", [16], indirect=True)
def test_sixteen_sources_in_the_sixteen_layout_with_borders_and_labels_that_scale(
    qtbot: QtBot, core: Runtime
) -> None:
    win = open_window(qtbot, core, Settings(sources=core.config.sources, multiview_layout=16))
    mv = win.multiview
    assert list(mv.tiles) == [f"test-{n}" for n in range(1, 17)]
    assert [(t.badge, t.title) for t in mv.tiles.values()] == [
        (str(n), f"Test {n}") for n in range(1, 17)
    ]
    assert mv.left_out == () and mv.bar.left_out.text() == ""
    assert mv.bar.layouts[16].isChecked()
    qtbot.waitUntil(lambda: all(t.shown_key is not None for t in mv.tiles.values()), timeout=10_000)
    program, preview, idle = (mv.tiles[n] for n in ("test-1", "test-2", "test-3"))
    assert (program.tally, preview.tally, idle.tally) == ("program", "preview", None)
    assert red_or_green(program, "program") and red_or_green(preview, "preview")
    assert band(idle)[1][0] != TALLY_COLOURS["program"]
    # The monitors' borders are wider than a small tile's, in the same colours.
    assert red_or_green(win.program_view, "program")
    assert red_or_green(win.preview_view, "preview")
    assert win.program_view.border_width() > program.border_width()
    small = (program.height(), program.border_width(), program.caption_font_px())

    # Four tiles are larger: their borders and labels grow with them.
    win.multiview.bar.layouts[4].click()
    qtbot.waitUntil(lambda: mv.tiles["test-1"].height() > small[0] * 1.5, timeout=3000)
    big = mv.tiles["test-1"]
    assert big.border_width() > small[1] and big.caption_font_px() > small[2]
    assert red_or_green(big, "program") and red_or_green(mv.tiles["test-2"], "preview")
    win.close()


@pytest.mark.parametrize("core", [16], indirect=True)
def test_sixteen_sources_fit_a_full_hd_screen(qtbot: QtBot, core: Runtime) -> None:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    app.setStyleSheet(stylesheet())
    try:
        win = open_window(qtbot, core, Settings(sources=core.config.sources, multiview_layout=16))
        # The bus buttons used to make the window 2038 px wide at the least with 16 sources.
        assert win.minimumSizeHint().width() <= 1920, win.minimumSizeHint()
        assert win.minimumSizeHint().height() <= 1080 - 80, win.minimumSizeHint()
        win.close()
    finally:
        app.setStyleSheet("")


@pytest.mark.parametrize("core", [8], indirect=True)
def test_the_layout_switches_at_once_from_the_window_and_the_settings_and_is_saved(
    qtbot: QtBot, core: Runtime, tmp_path: Path
) -> None:
    store = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    win = open_window(qtbot, core, Settings(sources=core.config.sources), store=store)
    mv = win.multiview
    assert mv.layout_size == 9 and len(mv.tiles) == 8  # the default, one cell empty
    assert mv.bar.left_out.text() == ""

    qtbot.mouseClick(mv.bar.layouts[4], Qt.MouseButton.LeftButton)
    assert list(mv.tiles) == ["test-1", "test-2", "test-3", "test-4"]
    assert [s.name for s in mv.left_out] == ["test-5", "test-6", "test-7", "test-8"]
    text = mv.bar.left_out.text()
    assert "Sources 5-8 not shown" in text and "bigger layout" in text
    assert "5 Test 5" in mv.bar.left_out.toolTip()
    assert len(win.buses.program) == 8  # still on the buses
    assert load(store).multiview_layout == 4

    # Through the Settings dialog: shown at once and saved.
    dialog = SettingsDialog(
        win.settings, win, encoders=(SOFTWARE,), auto=EncoderChoice(SOFTWARE, CHOSEN)
    )
    assert dialog.layout_box.currentData() == 4
    dialog.layout_box.setCurrentIndex(dialog.layout_box.findData(16))
    dialog.accept()
    win.apply_settings(dialog.result_settings)
    assert mv.layout_size == 16 and mv.bar.layouts[16].isChecked()
    assert len(mv.tiles) == 8 and mv.left_out == () and mv.bar.left_out.text() == ""
    assert load(store).multiview_layout == 16
    # The new tiles get pictures and the tally borders at once.
    qtbot.waitUntil(lambda: all(t.shown_key is not None for t in mv.tiles.values()), timeout=5000)
    assert mv.tiles["test-1"].tally == "program" and mv.tiles["test-2"].tally == "preview"
    win.close()


@pytest.mark.parametrize("core", [18], indirect=True)
def test_sources_beyond_sixteen_are_named_not_dropped(qtbot: QtBot, core: Runtime) -> None:
    win = open_window(qtbot, core, Settings(sources=core.config.sources, multiview_layout=16))
    mv = win.multiview
    assert len(mv.tiles) == 16
    assert [s.name for s in mv.left_out] == ["test-17", "test-18"]
    text = mv.bar.left_out.text()
    assert "Sources 17-18 not shown" in text and "holds 16" in text
    assert mv.bar.left_out.toolTip() == "17 Test 17\n18 Test 18"
    assert len(win.buses.program) == 18
    # Taken from the buses, a source with no tile still goes on air.
    win.buses.program["test-18"].click()
    qtbot.waitUntil(lambda: win.switcher.program == "test-18", timeout=3000)
    win.close()


def test_the_clock_and_the_on_air_time_reset_when_a_take_completes(
    qtbot: QtBot, core: Runtime
) -> None:
    hand = HandClock()
    win = open_window(qtbot, core, Settings(sources=core.config.sources), clocks=hand.clocks())
    bar = win.multiview.bar
    hand.advance(65)
    bar.refresh()
    assert bar.clock.text() == "14:03:16"
    assert bar.on_air.text() == "ON AIR Test 1 0:01:05"

    win.bridge.submit(Cut())
    qtbot.waitUntil(lambda: win.switcher.program == "test-2", timeout=3000)
    assert bar.on_air.text() == "ON AIR Test 2 0:00:00"
    hand.advance(3)
    bar.refresh()
    assert bar.on_air.text() == "ON AIR Test 2 0:00:03"

    # A T-bar mix halfway: the program source is still the one on air, its count goes on.
    win.transition.tbar.setValue(500)
    qtbot.waitUntil(lambda: win.switcher.on_air == ("test-2", "test-1"), timeout=3000)
    hand.advance(2)
    bar.refresh()
    assert bar.on_air.text() == "ON AIR Test 2 0:00:05"
    # The mix completes: the count starts again for the new program source.
    win.transition.tbar.setValue(1000)
    qtbot.waitUntil(lambda: win.switcher.program == "test-1", timeout=3000)
    assert bar.on_air.text() == "ON AIR Test 1 0:00:00"
    hand.advance(3600 + 61)
    bar.refresh()
    assert bar.on_air.text() == "ON AIR Test 1 1:01:01"
    win.close()


def test_a_source_that_vanishes_says_so_in_its_tile(qtbot: QtBot) -> None:
    sender = LoopbackSender(f"rf-mv-{uuid.uuid4().hex[:8]}")  # a real NDI sender, loopback
    specs = (*default_specs(2), SourceSpec("ndi", sender.name, "Cam"))
    config = replace(light_config(media=replace(LIGHT_MEDIA, ndi=LOOPBACK)), sources=specs)
    rt = Runtime(config, vault=MemoryVault())
    sender.start()
    rt.start()
    try:
        win = open_window(qtbot, rt, Settings(sources=specs))
        tile = win.multiview.tiles["cam"]
        assert tile.title == "Cam"
        live = lambda: rt.sources["cam"].status.state is SourceState.LIVE  # noqa: E731
        qtbot.waitUntil(lambda: live() and tile.note == "" and tile.shown_key, timeout=15_000)
        sender.stop()  # the sender's machine goes away
        qtbot.waitUntil(lambda: tile.note == "NO SIGNAL", timeout=10_000)
        assert win.multiview.tiles["test-1"].note == ""
        sender.start()  # it comes back: the tile clears by itself
        qtbot.waitUntil(lambda: live() and tile.note == "", timeout=20_000)
        win.close()
    finally:
        rt.stop()
        sender.stop()


def test_a_source_the_core_no_longer_has_says_so_until_its_tile_goes(
    qtbot: QtBot, core: Runtime
) -> None:
    win = open_window(qtbot, core, Settings(sources=core.config.sources))
    tile = win.multiview.tiles["test-4"]
    # The core drops the source; the window has not yet heard (nothing runs the Qt loop
    # until the next line), as when the core is quicker than the screen.
    core.replace_sources(default_specs(3)).result(10)
    win.multiview.check_sources()
    assert tile.note == "SOURCE GONE"
    assert win.multiview.tiles["test-3"].note == ""
    qtbot.waitUntil(lambda: "test-4" not in win.multiview.tiles, timeout=5000)
    assert list(win.multiview.tiles) == ["test-1", "test-2", "test-3"]
    win.close()


def test_a_bad_layout_is_refused_and_a_bad_saved_one_reads_as_the_default(
    qtbot: QtBot, core: Runtime, tmp_path: Path
) -> None:
    win = open_window(qtbot, core, Settings(sources=core.config.sources))
    with pytest.raises(UnknownLayout, match="4, 9, 16 tiles, not 12"):
        win.multiview.set_layout(12)
    assert win.multiview.layout_size == 9 and len(win.multiview.tiles) == 4
    win.close()
    for value in ("12", "sixteen", ""):
        store = QSettings(str(tmp_path / f"bad-{value}.ini"), QSettings.Format.IniFormat)
        store.setValue("multiview/layout", value)
        settings, notes = load_with_notes(store)
        assert settings.multiview_layout == 9
        assert notes == (f"Multiview layout {value} in the settings is not 4, 9 or 16; 9 is used.",)
    # An older file without the key: the default, and nothing to say about it.
    old = QSettings(str(tmp_path / "old.ini"), QSettings.Format.IniFormat)
    old.setValue("sources/specs", ["test:A", "test:B"])
    assert load_with_notes(old) == (replace(Settings(), sources=load(old).sources), ())


def test_the_grid_takes_the_shape_that_makes_tiles_largest() -> None:
    assert grid_shape(16, 800, 450) == (4, 4)
    assert grid_shape(16, 1180, 300) == (6, 3)  # two cells empty, but larger tiles
    # As large either way (6x3 or 8x2 here): the shape with no empty cells.
    assert grid_shape(16, 1176, 250, 4) == (8, 2)


def test_all_tiles_together_keep_to_a_frame_budget() -> None:
    # The pump ticks 125 times a second: up to 8 tiles at ~30 fps, 16 at ~15.
    assert [tile_every(n, 125) for n in (1, 4, 8, 9, 16)] == [4, 4, 4, 5, 8]
    assert grid_shape(9, 900, 510) == (3, 3)
    assert grid_shape(4, 1180, 300) == (4, 1)
    assert grid_shape(4, 640, 360) == (2, 2)
