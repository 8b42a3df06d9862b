"""A backend that accepts and never answers must not freeze the window."""

from __future__ import annotations

import itertools
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt, QTimer
from pytestqt.qtbot import QtBot

from app.runtime import Runtime
from ui.main_window import MainWindow
from ui.settings import Settings


@pytest.fixture
def black_hole() -> Iterator[str]:
    """A TCP server on loopback that accepts connections and never says a word."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.1)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                held.append(conn)
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join(2)
    for conn in held:
        conn.close()
    server.close()


def test_a_stalled_login_never_blocks_the_ui_thread(
    qtbot: QtBot, runtime: Runtime, black_hole: str
) -> None:
    win = MainWindow(runtime, Settings(backend=black_hole))
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    panel = win.go_live
    panel.email.setText("director@example.com")
    panel.password.setText("correct horse battery")

    ticks: list[float] = []
    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start()
    qtbot.mouseClick(panel.login, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "login" in win.link.busy, timeout=3000)
    assert panel.account_status.text() == "Working…" and panel.cancel.isVisible()
    qtbot.wait(1500)  # the request hangs all this time
    timer.stop()

    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    assert len(ticks) > 50, "the timer hardly ran: the event loop was blocked"
    # A UI that waited on the network would stall for the whole 1.5 s hang; the bound is
    # loose so that a busy CI machine's scheduling hiccups do not count as a stall.
    assert max(gaps) < 0.5, f"the UI thread stalled for {max(gaps) * 1000:.0f} ms"
    assert "login" in win.link.busy  # still waiting on the network, not failed, not frozen

    # Cancel gives the form back at once.
    qtbot.mouseClick(panel.cancel, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.login.isEnabled(), timeout=3000)
    assert win.link.email is None
    win.close()
