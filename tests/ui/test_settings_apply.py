"""Every field of the Settings dialog reaches the running core, through the dialog itself.

A real MainWindow over a real Runtime (and, for the encoder and SRT latency, a real backend
whose gateway takes the program over SRT): the test fills the modal dialog as a director
would and presses OK, then looks at what the core runs: the sources, the NDI sources'
bandwidth and discovery settings, and after Go Live the encoder and SRT latency the
program stream uses. Settings files from an older version or with bad values load with
defaults and notes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app.desktop import DesktopOptions, runtime_config
from app.engine.sources import SourceSpec
from app.runtime import Runtime
from app.session_link import events as ev
from media.encode.codecs import SOFTWARE
from media.encode.detect import CHOSEN, EncoderChoice
from media.sources.base import SourceState
from media.sources.ndi import NdiConfig, NdiSource, start_ndi
from media.sources.testpattern import TestPatternSource
from tests.app.conftest import sqlite_backend
from tests.app.live import director_runtime, wait
from tests.support.api import create_session, register
from tests.support.cloud import CloudServer
from ui.main_window import MainWindow
from ui.settings import NOTES, Settings, load, load_with_notes, save
from ui.strings_ko import KO
from ui.widgets.settings_dialog import WHEN_HELP, SettingsDialog


@pytest.fixture
def server(tmp_path: Path) -> Iterator[CloudServer]:
    with sqlite_backend(tmp_path) as server:
        yield server


def through_dialog(qtbot: QtBot, win: MainWindow, fill: Callable[[SettingsDialog], None]) -> None:
    """Open Settings from the window, let `fill` edit the modal dialog, press OK."""
    done: list[bool] = []

    def edit() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, SettingsDialog):
            QTimer.singleShot(20, edit)  # not shown yet
            return
        fill(dialog)
        dialog.accept()
        done.append(dialog.result() == SettingsDialog.DialogCode.Accepted)

    QTimer.singleShot(0, edit)
    win.open_settings()
    assert done == [True], win.settings


def started(runtime: Runtime, name: str, old: object = None) -> bool:
    """`name` is a new source (not `old`) and has been started: the change is done, so the
    next one (or the runtime's stop) cannot race it."""
    source = runtime.sources.get(name)
    return source is not None and source is not old and source.status.state != SourceState.STOPPED


def status_text(win: MainWindow) -> str:
    return win.statusBar().currentMessage()


def test_sources_and_ndi_settings_apply_at_once(qtbot: QtBot, runtime: Runtime) -> None:
    # NDI's runtime reads a discovery server only when it first starts: start it here
    # without one, so setting one below cannot change the process for other tests.
    start_ndi(NdiConfig())
    win = MainWindow(runtime, Settings(sources=runtime.config.sources))
    qtbot.addWidget(win)

    def sources(dialog: SettingsDialog) -> None:
        dialog.sources.setPlainText("test:Bars\nndi:NOWHERE (Cam 1)=Cam")

    through_dialog(qtbot, win, sources)
    qtbot.waitUntil(lambda: set(runtime.sources) == {"bars", "cam"}, timeout=10_000)
    qtbot.waitUntil(lambda: started(runtime, "cam") and started(runtime, "bars"), timeout=10_000)
    # The engine hears of the new list just after the sources start.
    qtbot.waitUntil(
        lambda: [s.name for s in runtime.state.sources] == ["bars", "cam"], timeout=10_000
    )
    bars, cam = runtime.sources["bars"], runtime.sources["cam"]
    assert isinstance(bars, TestPatternSource)
    assert isinstance(cam, NdiSource) and cam.ndi_name == "NOWHERE (Cam 1)"
    assert cam.highest_bandwidth is False  # proxy: the default
    assert cam.config.extra_ips == () and cam.config.discovery_server is None

    def ndi(dialog: SettingsDialog) -> None:
        assert dialog.ndi_bandwidth.currentData() == "proxy"
        dialog.ndi_bandwidth.setCurrentIndex(dialog.ndi_bandwidth.findData("full"))
        dialog.ndi_ips.setText("127.0.0.1; 10.0.0.7")
        dialog.ndi_discovery.setText("127.0.0.1:5959")

    through_dialog(qtbot, win, ndi)
    # The NDI source is rebuilt with the new settings; the test pattern keeps running.
    qtbot.waitUntil(lambda: started(runtime, "cam", cam), timeout=10_000)
    rebuilt = runtime.sources["cam"]
    assert isinstance(rebuilt, NdiSource)
    assert rebuilt.highest_bandwidth is True
    assert rebuilt.config.extra_ips == ("127.0.0.1", "10.0.0.7")
    assert rebuilt.config.discovery_server == "127.0.0.1:5959"
    assert runtime.sources["bars"] is bars
    assert win.settings.ndi_bandwidth == "full"
    assert "NDI discovery server changes apply after a restart" in status_text(win)
    win.close()


def test_encoder_and_latency_apply_at_the_next_go_live(qtbot: QtBot, server: CloudServer) -> None:
    with server.client() as http:
        director = register(http)
        session = create_session(http, director, name="Settings show", cameras=1)
    with director_runtime(server, director, session["id"]) as (rt, seen):
        assert rt.config.encoder is not None and rt.config.encoder.encoder == "auto"
        assert rt.config.srt_latency_ms is None  # follows the link
        win = MainWindow(rt, Settings(sources=rt.config.sources))
        qtbot.addWidget(win)

        def stream(dialog: SettingsDialog) -> None:
            offered = [dialog.encoder.itemData(i) for i in range(dialog.encoder.count())]
            assert offered[0] == "auto" and offered[-1] == SOFTWARE  # what opens here
            assert all(name == "auto" or name.startswith(("h264_", "lib")) for name in offered)
            dialog.encoder.setCurrentIndex(dialog.encoder.findData(SOFTWARE))
            assert dialog.follow_link.isChecked() and not dialog.latency.isEnabled()
            dialog.follow_link.setChecked(False)
            dialog.latency.setValue(80)

        through_dialog(qtbot, win, stream)
        assert "apply at the next Go Live" in status_text(win)
        assert (win.settings.encoder, win.settings.srt_latency_ms) == (SOFTWARE, 80)

        rt.call(lambda link: link.go_live()).result(20)
        wait(lambda: seen.streaming() and len(seen.streams()[-1].layers) == 2, 20, seen.streams)
        last = seen.streams()[-1]
        # Named in Settings, not auto's pick: the choice says so.
        assert last.encoder == EncoderChoice(SOFTWARE, CHOSEN), last
        assert all(layer.latency == "80 ms: set by hand" for layer in last.layers), last
        qtbot.waitUntil(
            lambda: "Encoder libx264 (as set in Settings)" in win.go_live.encoder.text()
        )
        assert "latency 80 ms: set by hand" in win.go_live.encoder.text()

        # Back to following the link: the show on air keeps 80 ms, the next Go Live follows.
        def follow(dialog: SettingsDialog) -> None:
            assert not dialog.follow_link.isChecked() and dialog.latency.value() == 80
            dialog.follow_link.setChecked(True)

        through_dialog(qtbot, win, follow)
        assert rt.config.srt_latency_ms is None
        count = len(seen.streams())
        wait(lambda: len(seen.streams()) > count, 5, seen.streams)
        assert all(layer.latency.startswith("80 ms") for layer in seen.streams()[-1].layers)
        rt.call(lambda link: link.stop_live()).result(10)
        rt.call(lambda link: link.go_live()).result(20)
        wait(
            lambda: (
                seen.streaming()
                and all("set by hand" not in layer.latency for layer in seen.streams()[-1].layers)
            ),
            20,
            seen.streams,
        )
        win.close()


def test_an_encoder_that_does_not_open_stops_go_live_with_words(
    qtbot: QtBot, server: CloudServer
) -> None:
    with server.client() as http:
        director = register(http)
        session = create_session(http, director, name="Bad encoder", cameras=1)
    with director_runtime(server, director, session["id"]) as (rt, seen):
        # A saved encoder from another machine: kept, marked, and chosen again.
        win = MainWindow(rt, Settings(sources=rt.config.sources, encoder="h264_nonexistent"))
        qtbot.addWidget(win)

        def keep(dialog: SettingsDialog) -> None:
            text = dialog.encoder.currentText()
            assert dialog.encoder.currentData() == "h264_nonexistent", text
            assert "does not open here" in text

        through_dialog(qtbot, win, keep)
        rt.call(lambda link: link.go_live()).result(20)
        failed = seen.wait_for(ev.LinkFailed, 20)
        assert isinstance(failed, ev.LinkFailed)
        assert "encoder h264_nonexistent cannot be used here" in failed.message, failed
        win.close()


def test_saved_settings_reach_the_core_at_start() -> None:
    settings = Settings(
        sources=(SourceSpec("test", "A"),),
        ndi_extra_ips=("10.0.0.7",),
        ndi_discovery="10.0.0.1",
        ndi_bandwidth="full",
        encoder="h264_qsv",
        srt_latency_ms=250,
    )
    config = runtime_config(DesktopOptions(), settings.saved())
    assert config.sources == (SourceSpec("test", "A"),)
    assert config.encoder is not None and config.encoder.encoder == "h264_qsv"
    assert config.srt_latency_ms == 250
    assert config.media.ndi == NdiConfig(("10.0.0.7",), "10.0.0.1", highest_bandwidth=True)
    # The command line's --ndi-extra-ips wins over the saved ones.
    options = DesktopOptions(ndi_extra_ips=("192.168.1.2",))
    assert runtime_config(options, settings.saved()).media.ndi.extra_ips == ("192.168.1.2",)


def ini(tmp_path: Path, text: str) -> QSettings:
    path = tmp_path / "returnfeed.conf"
    path.write_text(text, encoding="utf-8")
    return QSettings(str(path), QSettings.Format.IniFormat)


def test_a_settings_file_from_the_older_version_is_read_with_notes(
    tmp_path: Path, qtbot: QtBot, runtime: Runtime
) -> None:
    store = ini(
        tmp_path,
        "[encoder]\nname=nvenc\n[srt]\nlatency_ms=120\n[ndi]\nextra_ips=10.0.0.7, 10.0.0.8\n"
        "[sources]\nspecs=test:One, test:Two\n",
    )
    settings, notes = load_with_notes(store)
    assert settings.encoder == "h264_nvenc"  # the FFmpeg name of what it meant
    assert settings.srt_latency_ms is None  # 120 was the old default, saved unasked
    assert settings.ndi_extra_ips == ("10.0.0.7", "10.0.0.8")
    assert settings.ndi_bandwidth == "proxy" and settings.ndi_discovery == ""
    assert [str(s) for s in settings.sources] == ["test:One", "test:Two"]
    assert notes == ("The encoder setting nvenc is now called h264_nvenc.",)
    # Saved again, it is the new version and reads back the same, without notes.
    save(store, settings)
    assert load_with_notes(store) == (settings, ())
    # An old file's hand-set latency is kept as the fixed one.
    assert load(ini(tmp_path, "[srt]\nlatency_ms=300\n")).srt_latency_ms == 300


def test_bad_values_fall_back_to_defaults_with_a_note(
    tmp_path: Path, qtbot: QtBot, runtime: Runtime
) -> None:
    store = ini(
        tmp_path,
        "[settings]\nversion=2\n[encoder]\nname=turbo\n[srt]\nlatency_ms=fast\n"
        "[ndi]\nbandwidth=max\n[ui]\nlanguage=fr\n[sources]\nspecs=bogus\n"
        "[audio]\nspecs=tone:\n",
    )
    settings, notes = load_with_notes(store)
    default = Settings()
    assert settings.encoder == "auto" and settings.srt_latency_ms is None
    assert settings.ndi_bandwidth == "proxy" and settings.language == ""
    assert settings.sources == default.sources
    assert len(notes) == 5, notes
    assert any("turbo" in n for n in notes) and any("fast" in n for n in notes)
    assert any("bogus" in n for n in notes) and any("fr" in n for n in notes)
    clamped, notes = load_with_notes(ini(tmp_path, "[settings]\nversion=2\n[srt]\nlatency_ms=5\n"))
    assert clamped.srt_latency_ms == 20 and notes == (
        "SRT latency 5 ms is outside 20-2000 ms; 20 ms is used.",
    )
    # The window opens on them and its dialog shows the defaults.
    win = MainWindow(runtime, settings)
    qtbot.addWidget(win)
    dialog = SettingsDialog(win.settings, win)
    assert dialog.encoder.currentData() == "auto" and dialog.follow_link.isChecked()
    dialog.close()
    win.close()


def test_new_words_have_korean() -> None:
    missing = [text for text in (*NOTES, WHEN_HELP) if text not in KO]
    assert not missing, missing
