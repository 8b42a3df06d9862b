"""The audio strip on a real core: AFV, adding and removing inputs, LOST devices, Korean.

The four light test sources each carry a -20 dBFS tone, so a channel's meter reads about
-20 dBFS while its sound is on the program and nothing (-120) while it is not.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QMenu
from pytestqt.qtbot import QtBot

from app.engine.commands import SetProgram
from app.engine.sources import AudioSpec
from app.runtime import Runtime
from tests.support.pulse import start_null_sink
from ui.i18n import install
from ui.main_window import MainWindow
from ui.settings import Settings, load
from ui.widgets.audio_channel import ChannelStrip

# PortAudio lists devices once, when sounddevice is imported: start a private PulseAudio
# with a null sink first, so a real device is there to choose. Only when nothing has
# imported sounddevice yet (a media conftest may have done the same already).
HAVE_PULSE = "sounddevice" not in sys.modules and start_null_sink()

LOUD, QUIET = -30.0, -50.0  # a -20 dBFS tone reads above LOUD; a silent channel below QUIET
WAIT_MS = 8000


@pytest.fixture
def store(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def window(qtbot: QtBot, runtime: Runtime, store: QSettings) -> Iterator[MainWindow]:
    win = MainWindow(runtime, Settings(), store)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    qtbot.waitUntil(lambda: "test-4" in win.audio_strip.strips, timeout=WAIT_MS)
    yield win
    win.close()


def peak(strip: ChannelStrip) -> float:
    return max(strip.meter.levels)


def strip(win: MainWindow, name: str) -> ChannelStrip:
    return win.audio_strip.strips[name]


def menu_action(menu: QMenu, text: str) -> None:
    menu.aboutToShow.emit()  # the menus are filled as they open
    action = next((a for a in menu.actions() if a.text() == text), None)
    assert action is not None, [a.text() for a in menu.actions()]
    action.trigger()


def test_afv_follows_the_cut_and_can_be_switched_off(
    qtbot: QtBot, window: MainWindow, runtime: Runtime
) -> None:
    assert runtime.state.program == "test-1"
    one, two = strip(window, "test-1"), strip(window, "test-2")
    assert one.label.text() == "Test 1" and one.kind == "source"
    assert two.afv.isChecked() and runtime.state.audio["test-2"].follow_video == "test-2"
    qtbot.waitUntil(lambda: peak(one) > LOUD and peak(two) < QUIET, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: peak(window.audio_strip.program) > LOUD, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: "LUFS" in window.audio_strip.program.loudness.text(), timeout=WAIT_MS)

    two.afv.click()  # off: always live, on air beside test-1
    qtbot.waitUntil(lambda: runtime.state.audio["test-2"].follow_video is None, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: peak(two) > LOUD, timeout=WAIT_MS)
    assert not two.afv.isChecked()
    two.afv.click()  # on again: silent while test-1 is on program
    qtbot.waitUntil(lambda: runtime.state.audio["test-2"].follow_video == "test-2", timeout=WAIT_MS)
    qtbot.waitUntil(lambda: peak(two) < QUIET, timeout=WAIT_MS)

    window.bridge.submit(SetProgram("test-2"))  # the sound follows the cut
    qtbot.waitUntil(lambda: peak(two) > LOUD and peak(one) < QUIET, timeout=WAIT_MS)
    assert peak(window.audio_strip.program) > LOUD


def test_a_test_tone_input_is_added_follows_a_source_and_is_removed(
    qtbot: QtBot, window: MainWindow, runtime: Runtime, store: QSettings
) -> None:
    tone = AudioSpec("tone", "tone", "Test tone")
    add_menu = window.audio_strip.add_input.menu()
    assert add_menu is not None
    confirmed = qtbot.waitSignal(window.audio_strip.inputsChanged, timeout=WAIT_MS)
    menu_action(add_menu, "Test tone")
    qtbot.waitUntil(lambda: "test-tone" in window.audio_strip.strips, timeout=WAIT_MS)
    assert runtime.state.audio["test-tone"].follow_video is None  # an input: always live
    assert runtime.audio_specs == (tone,)
    ch = strip(window, "test-tone")
    assert ch.kind == "input" and ch.label.text() == "Test tone"
    # The core's confirmation is queued apart from the channel list and may come after it
    # (as here, once more): it relabels, and the strip (perhaps under the director's hand)
    # stays the same widget.
    confirmed.wait()
    window.audio_strip.inputs.changed.emit((tone,))
    assert strip(window, "test-tone") is ch
    qtbot.waitUntil(lambda: ch.badge.text() == "" and peak(ch) > LOUD, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: window.settings.audio == (tone,), timeout=WAIT_MS)
    assert load(store).audio == (tone,)

    afv_menu = ch.afv.menu()
    assert afv_menu is not None
    menu_action(afv_menu, "Test 3")  # follow a source that is not on air: quiet
    qtbot.waitUntil(
        lambda: runtime.state.audio["test-tone"].follow_video == "test-3", timeout=WAIT_MS
    )
    qtbot.waitUntil(lambda: ch.afv.isChecked() and peak(ch) < QUIET, timeout=WAIT_MS)
    assert "Test 3" in ch.afv.toolTip()
    menu_action(afv_menu, "Always live")
    qtbot.waitUntil(lambda: runtime.state.audio["test-tone"].follow_video is None, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: peak(ch) > LOUD, timeout=WAIT_MS)

    ch.remove.click()
    qtbot.waitUntil(lambda: "test-tone" not in runtime.state.audio, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: "test-tone" not in window.audio_strip.strips, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: window.settings.audio == (), timeout=WAIT_MS)
    assert not runtime.audio_specs and not load(store).audio
    assert set(window.audio_strip.strips) == {"test-1", "test-2", "test-3", "test-4"}


def test_a_missing_device_reads_lost_and_the_rest_keeps_working(
    qtbot: QtBot, window: MainWindow, runtime: Runtime
) -> None:
    window.audio_strip.inputs.add(AudioSpec("input", "no-such-device-rf", "Ghost mic"))
    qtbot.waitUntil(lambda: "ghost-mic" in window.audio_strip.strips, timeout=WAIT_MS)
    ghost = strip(window, "ghost-mic")
    qtbot.waitUntil(lambda: ghost.badge.text() == "LOST", timeout=WAIT_MS)
    assert ghost.badge.property("state") == "lost"
    assert ghost.badge.toolTip()  # why, in words: no such device, or no PortAudio
    assert peak(ghost) < QUIET

    ghost.mute.click()
    qtbot.waitUntil(lambda: runtime.state.audio["ghost-mic"].mute, timeout=WAIT_MS)
    one = strip(window, "test-1")
    one.fader.setValue(-6)
    qtbot.waitUntil(lambda: runtime.state.audio["test-1"].gain_db == -6.0, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: one.gain.text() == "-6 dB", timeout=WAIT_MS)
    qtbot.waitUntil(lambda: -30.0 < peak(one) < -24.0, timeout=WAIT_MS)  # -20 dBFS - 6 dB
    assert peak(window.audio_strip.program) > LOUD - 6
    assert ghost.badge.text() == "LOST"


@pytest.mark.skipif(
    not HAVE_PULSE or shutil.which("pulseaudio") is None,
    reason="needs pulseaudio (apt-get install pulseaudio) started before sounddevice loads",
)
def test_a_capture_device_from_the_menu_goes_live(
    qtbot: QtBot, window: MainWindow, runtime: Runtime, store: QSettings
) -> None:
    add_menu = window.audio_strip.add_input.menu()
    assert add_menu is not None
    add_menu.aboutToShow.emit()
    texts = [a.text() for a in add_menu.actions()]
    if not any(t.startswith("pulse ") for t in texts):
        pytest.skip(f"PortAudio lists no pulse device (libasound2-plugins?): {texts}")
    menu_action(add_menu, next(t for t in texts if t.startswith("pulse ")))
    qtbot.waitUntil(lambda: "pulse" in window.audio_strip.strips, timeout=WAIT_MS)
    mic = strip(window, "pulse")
    # An idle null sink's monitor sends its first block after up to 2-3 s.
    qtbot.waitUntil(lambda: mic.badge.property("state") == "live", timeout=15000)
    assert " Hz" in mic.label.toolTip()  # the rate PortAudio opened it at
    assert load(store).audio == (AudioSpec("input", "pulse", "pulse"),)


def test_the_audio_strip_speaks_korean(qtbot: QtBot, runtime: Runtime) -> None:
    app = QApplication.instance()
    assert app is not None
    translator = install(app, "ko")
    try:
        win = MainWindow(runtime, Settings())
        qtbot.addWidget(win)
        strips = win.audio_strip
        assert strips.add_input.text() == "입력 추가…"
        menu = strips.add_input.menu()
        assert menu is not None
        menu.aboutToShow.emit()
        assert menu.actions()[0].text() == "테스트 톤"
        qtbot.waitUntil(lambda: "test-1" in strips.strips, timeout=WAIT_MS)
        assert strips.strips["test-1"].mute.text() == "뮤트"
        assert strips.strips["test-1"].loudness.toolTip() == "단기 라우드니스 (LUFS)"
        strips.inputs.add(AudioSpec("input", "no-such-device-rf", "Ghost mic"))
        qtbot.waitUntil(lambda: "ghost-mic" in strips.strips, timeout=WAIT_MS)
        qtbot.waitUntil(lambda: strips.strips["ghost-mic"].badge.text() == "끊김", timeout=WAIT_MS)
        win.close()
    finally:
        assert translator is not None
        app.removeTranslator(translator)


def test_the_program_strip_shows_when_the_limiter_works(
    qtbot: QtBot, window: MainWindow, runtime: Runtime
) -> None:
    badge = window.audio_strip.program.badge
    qtbot.waitUntil(lambda: peak(window.audio_strip.program) > LOUD, timeout=WAIT_MS)
    assert not badge.isVisible()  # one -20 dBFS tone: nowhere near the ceiling
    # Three sources always live at +12 dB: -8 dBFS each, their sum over 0 dBFS.
    for name in ("test-1", "test-2", "test-3"):
        strip(window, name).afv.click()
        strip(window, name).fader.setValue(12)
    qtbot.waitUntil(badge.isVisible, timeout=WAIT_MS)
    assert badge.text() == "LIMIT" and "dB" in badge.toolTip()
    assert peak(window.audio_strip.program) < 0.0  # limited: the mix never clips
