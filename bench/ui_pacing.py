"""UI pacing benchmark: monitor repaint rate, event-loop stalls, cut -> program on screen.

Run from the repository root (offscreen by default; under Xvfb for a real X server):
    python -m bench.ui_pacing [--seconds 10] [--sources 8] [--plot]
    xvfb-run -a -s "-screen 0 1600x900x24" env QT_QPA_PLATFORM=xcb python -m bench.ui_pacing

The real window on the real core: N test patterns at 640x360, program clock at 60 fps,
the window at 1600x900, the multiview in the smallest layout that shows them all (4, 9 or
16 tiles). A 5 ms precise timer measures how late the UI thread gets to it
(a stall). Every 0.5 s a CUT is submitted the way a hotkey submits it; its latency is
from the submit to the first paint of a program frame composed after the engine took it.
Prints JSON, writes bench/results/ui_pacing.json (and ui_pacing.png with --plot).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication

from app.engine.commands import Cut
from app.engine.events import ProgramChanged
from app.engine.sources import default_specs
from app.runtime import AnyEvent, Runtime, RuntimeConfig
from app.session_link.vault import MemoryVault
from media.clock import OutputFrame
from ui.main_window import MainWindow
from ui.resources import stylesheet
from ui.settings import Settings
from ui.video.grid import LAYOUTS

TARGET = {"monitor_fps": 30.0, "cut_to_screen_frames": 2.0}
PROBE_MS = 5
RESULTS = Path(__file__).with_name("results")


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    a = np.asarray(values)
    return {
        "p50": round(float(np.percentile(a, 50)), 2),
        "p99": round(float(np.percentile(a, 99)), 2),
        "max": round(float(a.max()), 2),
    }


class Probe:
    def __init__(self, win: MainWindow, runtime: Runtime) -> None:
        self.win, self.runtime = win, runtime
        self.paints: dict[str, list[float]] = {"program": [], "preview": [], "tiles": []}
        self.ticks: list[float] = []
        self.submitted: list[float] = []
        self.swapped: list[tuple[float, int]] = []  # engine took the cut: (time, first pts)
        self.program_paints: list[tuple[int, float]] = []
        clock = runtime.clock
        assert clock is not None
        self.clock = clock
        win.program_view.on_paint = self._program_painted
        win.preview_view.on_paint = lambda key, at: self._painted("preview", key, at)
        for tile in win.multiview.tiles.values():
            tile.on_paint = lambda key, at: self._painted("tiles", key, at)
        runtime.subscribe(self._core_event)
        self._last: dict[str, object] = {}

    def _painted(self, view: str, key: object, at: float) -> None:
        if view != "tiles" and self._last.get(view) is key:
            return  # a repaint of the same frame (a tally change) is not a new frame
        self._last[view] = key
        self.paints[view].append(at)

    def _program_painted(self, key: object, at: float) -> None:
        self._painted("program", key, at)
        if isinstance(key, OutputFrame):
            self.program_paints.append((key.pts, at))

    def _core_event(self, event: AnyEvent) -> None:
        # On the core's loop, right after the engine swapped the state in.
        if isinstance(event, ProgramChanged):
            now = time.monotonic()
            self.swapped.append((now, self.clock.pts_at(now)))

    def tick(self) -> None:
        self.ticks.append(time.monotonic())

    def cut(self) -> None:
        self.submitted.append(time.monotonic())
        self.win.bridge.submit(Cut())

    def latencies_ms(self) -> list[float]:
        out = []
        for submitted, (_, pts) in zip(self.submitted, self.swapped, strict=False):
            shown = next(
                (at for p, at in self.program_paints if p >= pts and at >= submitted), None
            )
            if shown is not None:
                out.append((shown - submitted) * 1000)
        return out


def run(seconds: float, sources: int, warmup: float = 1.5) -> dict[str, Any]:
    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    app.setStyleSheet(stylesheet())
    config = replace(RuntimeConfig(), sources=default_specs(sources), control_port=0)
    runtime = Runtime(config, vault=MemoryVault())
    runtime.start()
    layout = next((n for n in LAYOUTS if n >= sources), LAYOUTS[-1])
    win = MainWindow(runtime, Settings(multiview_layout=layout))
    win.resize(1600, 900)
    win.show()
    probe = Probe(win, runtime)
    timers = []
    probe_timer = QTimer()
    probe_timer.setTimerType(Qt.TimerType.PreciseTimer)
    probe_timer.setInterval(PROBE_MS)
    probe_timer.timeout.connect(probe.tick)
    cut_timer = QTimer()
    cut_timer.setInterval(500)
    cut_timer.timeout.connect(probe.cut)
    timers += [probe_timer, cut_timer]

    def begin() -> None:
        for name in probe.paints:
            probe.paints[name].clear()
        probe.ticks.clear()
        for timer in timers:
            timer.start()

    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    started = time.monotonic()
    QTimer.singleShot(int(warmup * 1000), begin)
    QTimer.singleShot(int((warmup + seconds) * 1000), app.quit)
    app.exec()
    elapsed = time.monotonic() - started
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    stats = probe.clock.stats
    win.close()
    runtime.stop()

    period = PROBE_MS / 1000
    stalls = [
        max(0.0, (b - a - period) * 1000)
        for a, b in zip(probe.ticks, probe.ticks[1:], strict=False)
    ]
    rates = {k: len(v) / seconds for k, v in probe.paints.items()}
    tiles = len(win.multiview.tiles) or 1
    latency = probe.latencies_ms()
    frame_ms = 1000 / float(config.media.fps)
    cpu = (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime)
    result = {
        "platform": os.environ.get("QT_QPA_PLATFORM"),
        "machine": f"{platform.machine()} {os.cpu_count()} cpus",
        "sources": sources,
        "multiview_tiles": len(win.multiview.tiles),
        "seconds": seconds,
        "window": "1600x900",
        "monitor_fps": {
            "program": round(rates["program"], 1),
            "preview": round(rates["preview"], 1),
            "multiview_tile": round(rates["tiles"] / tiles, 1),
        },
        "ui_stall_ms": percentiles(stalls),
        "cut_to_program_on_screen_ms": percentiles(latency),
        "cut_to_program_on_screen_frames_p99": round(
            float(np.percentile(latency, 99)) / frame_ms, 2
        )
        if latency
        else None,
        "cuts_measured": len(latency),
        "cut_to_program_samples_ms": [round(x, 2) for x in latency],
        "ui_stall_samples_ms": [round(x, 2) for x in stalls if x > 1.0],
        "clock": {"ticks": stats.ticks, "late": stats.late_ticks, "skipped": stats.skipped_ticks},
        "process_cpu_percent_of_core": round(100 * cpu / elapsed, 1),
        "target": TARGET,
    }
    return result


def _plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    frame_ms = 1000 / 60
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    left.hist([x / frame_ms for x in result["cut_to_program_samples_ms"]], bins=20)
    left.axvline(TARGET["cut_to_screen_frames"], color="red", linestyle="--", label="target")
    left.set_title("cut -> program on screen (frames at 60 fps)")
    left.legend()
    right.hist(result["ui_stall_samples_ms"] or [0.0], bins=30)
    right.set_title("UI thread stalls over 1 ms (ms)")
    right.set_yscale("log")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--sources", type=int, default=8)
    parser.add_argument("--plot", action="store_true", help="also write ui_pacing.png")
    args = parser.parse_args()
    result = run(args.seconds, args.sources)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "ui_pacing.json").write_text(json.dumps(result, indent=2) + "\n")
    if args.plot:
        _plot(result, RESULTS / "ui_pacing.png")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
