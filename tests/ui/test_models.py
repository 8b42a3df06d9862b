"""The Qt models follow engine events in order, across threads, with no widget in sight."""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from pytestqt.qtbot import QtBot

from app.engine.commands import (
    Auto,
    Command,
    Cut,
    SetCameras,
    SetPreview,
    SetSources,
    SetTransition,
)
from app.engine.engine import Engine
from app.engine.state import ShowState, SourceInfo
from app.engine.timebase import ManualTimebase
from app.runtime import AnyEvent
from app.session_link import events as link_events
from app.session_link.cloud_api import Participant
from media.switcher import TransitionKind
from tally import Camera, Lamp
from ui.bridge import Bridge
from ui.models.cameras import COL_LAMP, CamerasModel
from ui.models.link import LinkModel
from ui.models.switcher import SwitcherModel

SOURCES = tuple(SourceInfo(f"s{i}", f"Source {i}") for i in range(1, 5))


class ThreadedCore:
    """An engine run on its own thread, as the runtime does, behind the bridge's Core shape."""

    def __init__(self) -> None:
        self.engine = Engine(ManualTimebase(60, 10))
        self._pool = concurrent.futures.ThreadPoolExecutor(1)

    @property
    def state(self) -> ShowState:
        return self.engine.state

    def subscribe(self, listener: Callable[[AnyEvent], None]) -> Callable[[], None]:
        return self.engine.subscribe(listener)

    def submit(self, command: Command) -> concurrent.futures.Future[Any]:
        return self._pool.submit(self.engine.execute, command)

    def call(self, work: Callable[[Any], Awaitable[Any]]) -> concurrent.futures.Future[Any]:
        raise NotImplementedError

    def close(self) -> None:
        self._pool.shutdown()


def test_engine_events_reach_the_model_in_order_on_the_ui_thread(qtbot: QtBot) -> None:
    core = ThreadedCore()
    bridge = Bridge(core)
    model = SwitcherModel()
    seen: list[tuple[str, Any]] = []
    threads: set[threading.Thread] = set()

    def note(kind: str) -> Callable[..., None]:
        def record(*_: Any) -> None:
            threads.add(threading.current_thread())
            seen.append((kind, (model.program, model.preview, model.on_air)))

        return record

    bridge.engineEvent.connect(model.apply)
    for name in ("sourcesChanged", "busChanged", "transitionChanged", "settingsChanged"):
        getattr(model, name).connect(note(name))
    for command in (
        SetSources(SOURCES),
        SetPreview("s3"),
        Cut(),
        SetTransition(TransitionKind.MIX, 10),
        Auto(),
    ):
        bridge.submit(command)
    qtbot.waitUntil(lambda: model.running is TransitionKind.MIX, timeout=3000)
    assert threads == {threading.main_thread()}
    assert seen == [
        ("sourcesChanged", (None, None, ())),
        ("busChanged", ("s1", None, ())),
        ("busChanged", ("s1", "s2", ())),
        ("busChanged", ("s1", "s2", ("s1",))),
        ("busChanged", ("s1", "s3", ("s1",))),
        ("busChanged", ("s1", "s3", ("s1",))),  # the tally event: preview moved
        ("busChanged", ("s3", "s3", ("s1",))),
        ("busChanged", ("s3", "s1", ("s1",))),
        ("busChanged", ("s3", "s1", ("s3",))),
        ("settingsChanged", ("s3", "s1", ("s3",))),
        ("transitionChanged", ("s3", "s1", ("s3",))),
        ("busChanged", ("s3", "s1", ("s3", "s1"))),
    ]
    assert model.tally("s3") == "program" and model.tally("s1") == "program"
    assert model.tally("s2") is None
    bridge.close()
    core.close()


def test_a_refused_command_comes_back_as_a_message(qtbot: QtBot) -> None:
    core = ThreadedCore()
    bridge = Bridge(core)
    with qtbot.waitSignal(bridge.failed, timeout=3000) as failed:
        bridge.submit(SetPreview("nowhere"))
    assert "nowhere" in failed.args[0]
    core.close()


def test_the_cameras_table_shows_the_lamps_the_phones_get(qtbot: QtBot) -> None:
    engine = Engine(ManualTimebase(60, 10))
    link = LinkModel()
    table = CamerasModel(link)
    engine.subscribe(table.apply)
    engine.execute(SetSources(SOURCES))
    engine.execute(
        SetCameras((Camera(1, "Wide", "s1"), Camera(2, "Close", "s2"), Camera(3, "Roam", None)))
    )
    assert [table.lamp(n) for n in (1, 2, 3)] == [Lamp.PROGRAM, Lamp.PREVIEW, Lamp.OFF]
    with qtbot.waitSignal(table.dataChanged):
        engine.execute(Auto())
    assert [table.lamp(n) for n in (1, 2, 3)] == [Lamp.PROGRAM, Lamp.PROGRAM, Lamp.OFF]
    assert table.index(1, COL_LAMP).data() == "PROGRAM"


def test_the_link_model_counts_phones_per_camera() -> None:
    link = LinkModel()
    phones = (
        Participant("a", "camera", "A", 1),
        Participant("b", "camera", "B", 1),
        Participant("c", "viewer", "C", None),
    )
    link.apply(link_events.PhonesChanged(phones))
    assert (link.phones, link.viewers, link.phones_by_camera) == (2, 1, {1: 2})
    link.apply(link_events.MessageSent("m1", 2, "go wide"))
    link.apply(link_events.MessageAcked("m1", 2))
    assert link.messages[0].acked == {2}
