"""The engine: commands -> state -> events, in order; what the clock and the phones get."""

from __future__ import annotations

import pytest

from app.engine.commands import (
    Auto,
    Cut,
    FadeToBlack,
    MapCamera,
    SetAudioChannels,
    SetCameras,
    SetGain,
    SetMute,
    SetPreview,
    SetProgram,
    SetSources,
    SetTransition,
    TBar,
)
from app.engine.engine import Engine
from app.engine.errors import InvalidValue, NotNow, UnknownChannel, UnknownSource
from app.engine.events import (
    AudioChanged,
    CamerasChanged,
    Event,
    FadeToBlackChanged,
    PreviewChanged,
    ProgramChanged,
    SourcesChanged,
    TallyChanged,
    TBarMoved,
    TransitionEnded,
    TransitionSettingsChanged,
    TransitionStarted,
)
from app.engine.state import ManualTransition, SourceInfo
from app.engine.timebase import ManualTimebase
from media.switcher import TransitionKind
from tally import BusState, Camera, CameraLamp, Lamp, derive_lamps

SOURCES = tuple(SourceInfo(f"cam{i}", f"Camera {i}") for i in range(1, 5))


@pytest.fixture
def clock() -> ManualTimebase:
    return ManualTimebase(fps=60, pts=100)


@pytest.fixture
def engine(clock: ManualTimebase) -> Engine:
    engine = Engine(clock)
    engine.execute(SetSources(SOURCES))
    return engine


def recorded(engine: Engine) -> list[Event]:
    seen: list[Event] = []
    engine.subscribe(seen.append)
    return seen


def test_a_new_show_puts_the_first_source_on_air_and_the_second_on_preview(
    clock: ManualTimebase,
) -> None:
    engine = Engine(clock)
    events = engine.execute(SetSources(SOURCES))
    assert events == (
        SourcesChanged(SOURCES),
        ProgramChanged("cam1"),
        PreviewChanged("cam2"),
        TallyChanged(BusState(("cam1",), ("cam2",))),
    )
    assert engine.switcher_state().program == "cam1"


def test_a_cut_swaps_preview_and_program_at_the_next_frame(engine: Engine) -> None:
    seen = recorded(engine)
    engine.execute(Cut())
    sw = engine.switcher_state()
    assert (sw.program, sw.preview, sw.transition) == ("cam2", "cam1", None)
    assert seen == [
        ProgramChanged("cam2"),
        PreviewChanged("cam1"),
        TallyChanged(BusState(("cam2",), ("cam1",))),
    ]


def test_an_auto_mix_is_frame_accurate_and_tallies_both_sources_until_it_ends(
    engine: Engine, clock: ManualTimebase
) -> None:
    engine.execute(SetTransition(TransitionKind.MIX, 10))
    seen = recorded(engine)
    engine.execute(Auto())
    sw = engine.switcher_state()
    assert sw.transition is not None and sw.transition.start_pts == 100
    assert sw.on_air(100) == pytest.approx({"cam1": 0.9, "cam2": 0.1})
    assert sw.on_air(109) == pytest.approx({"cam1": 0.0, "cam2": 1.0})
    assert seen == [
        TransitionStarted(TransitionKind.MIX, "cam2", 100, 10, manual=False),
        TallyChanged(BusState(("cam1", "cam2"), ("cam2",))),
    ]
    assert engine.next_settle_pts() == 109
    clock.advance(8)
    assert engine.settle() == ()  # tick 108 is still in the mix
    clock.advance(1)
    assert engine.settle() == (
        TransitionEnded(completed=True),
        ProgramChanged("cam2"),
        PreviewChanged("cam1"),
        TallyChanged(BusState(("cam2",), ("cam1",))),
    )
    assert engine.next_settle_pts() is None


def test_during_a_mix_both_sources_light_red_on_the_phones(engine: Engine) -> None:
    engine.execute(SetCameras((Camera(1, "Wide", "cam1"), Camera(2, "Close", "cam2"))))
    engine.execute(Auto())
    lamps = derive_lamps(engine.state.bus_state(), engine.state.cameras, live_only=False)
    assert lamps == (CameraLamp(1, Lamp.PROGRAM), CameraLamp(2, Lamp.PROGRAM))


def test_preview_cannot_move_during_a_mix_and_auto_cannot_restart_it(engine: Engine) -> None:
    engine.execute(Auto())
    with pytest.raises(NotNow):
        engine.execute(SetPreview("cam3"))
    with pytest.raises(NotNow):
        engine.execute(Auto())
    engine.execute(Cut())  # a cut finishes the mix at once
    assert (engine.state.program, engine.state.preview) == ("cam2", "cam1")


def test_a_hot_punch_goes_straight_to_air_and_leaves_preview(engine: Engine) -> None:
    seen = recorded(engine)
    engine.execute(SetProgram("cam4"))
    assert (engine.state.program, engine.state.preview) == ("cam4", "cam2")
    assert seen == [ProgramChanged("cam4"), TallyChanged(BusState(("cam4",), ("cam2",)))]


def test_the_t_bar_mixes_by_its_position_and_rests_at_the_far_end(
    engine: Engine, clock: ManualTimebase
) -> None:
    seen = recorded(engine)
    engine.execute(TBar(0.25))
    t = engine.switcher_state().transition
    assert isinstance(t, ManualTransition) and t.kind is TransitionKind.MIX
    # The bar, not the tick, sets the mix: any tick from now shows 25 %.
    for pts in (100, 101, 5000):
        assert engine.switcher_state().on_air(pts) == pytest.approx({"cam1": 0.75, "cam2": 0.25})
    clock.advance(3)
    engine.execute(TBar(0.6))
    assert engine.switcher_state().on_air(103) == pytest.approx({"cam1": 0.4, "cam2": 0.6})
    engine.execute(TBar(1.0))
    assert (engine.state.program, engine.state.preview) == ("cam2", "cam1")
    assert (engine.state.tbar, engine.state.tbar_rest) == (1.0, 1.0)
    assert seen == [
        TransitionStarted(TransitionKind.MIX, "cam2", 100, 0, manual=True),
        TBarMoved(0.25, 0.0),
        TallyChanged(BusState(("cam1", "cam2"), ("cam2",))),
        TBarMoved(0.6, 0.0),
        TransitionEnded(completed=True),
        ProgramChanged("cam2"),
        PreviewChanged("cam1"),
        TBarMoved(1.0, 1.0),
        TallyChanged(BusState(("cam2",), ("cam1",))),
    ]
    # From the far end, pulling the bar back towards 0 runs the next mix.
    engine.execute(TBar(0.5))
    assert engine.switcher_state().on_air(104) == pytest.approx({"cam2": 0.5, "cam1": 0.5})


def test_pulling_the_t_bar_back_cancels_the_mix(engine: Engine) -> None:
    engine.execute(TBar(0.4))
    seen = recorded(engine)
    engine.execute(TBar(0.0))
    assert engine.state.program == "cam1" and not engine.state.in_transition
    assert seen == [
        TransitionEnded(completed=False),
        TBarMoved(0.0, 0.0),
        TallyChanged(BusState(("cam1",), ("cam2",))),
    ]


def test_auto_finishes_a_t_bar_mix_from_where_the_bar_is(
    engine: Engine, clock: ManualTimebase
) -> None:
    engine.execute(SetTransition(TransitionKind.MIX, 20))
    engine.execute(TBar(0.5))
    engine.execute(Auto())
    sw = engine.switcher_state()
    assert sw.on_air(100)["cam2"] == pytest.approx(0.5)
    clock.advance(10)
    engine.settle()
    assert engine.state.program == "cam2"
    assert (engine.state.tbar, engine.state.tbar_rest) == (1.0, 1.0)


def test_fade_to_black_holds_black_and_fades_back_up(engine: Engine, clock: ManualTimebase) -> None:
    seen = recorded(engine)
    engine.execute(FadeToBlack())
    assert seen == [FadeToBlackChanged(to_black=True, start_pts=100)]
    clock.advance(40)
    assert engine.switcher_state().black_level(clock.pts) == 1.0
    assert engine.settle() == ()  # black is held
    engine.execute(FadeToBlack())
    assert engine.switcher_state().black_level(clock.pts) == pytest.approx(1 - 1 / 30)
    clock.advance(29)
    assert engine.settle() == (FadeToBlackChanged(to_black=False, start_pts=None),)
    assert engine.switcher_state().ftb is None


def test_reversing_a_fade_midway_continues_from_the_level_on_screen(
    engine: Engine, clock: ManualTimebase
) -> None:
    engine.execute(FadeToBlack())
    clock.advance(15)
    before = engine.switcher_state().black_level(clock.pts - 1)
    engine.execute(FadeToBlack())
    after = engine.switcher_state().black_level(clock.pts)
    assert abs(after - before) <= 1 / 30 + 1e-9


def test_rejected_commands_change_nothing_and_say_why(engine: Engine) -> None:
    seen = recorded(engine)
    before = engine.state
    with pytest.raises(UnknownSource):
        engine.execute(SetPreview("nope"))
    with pytest.raises(InvalidValue):
        engine.execute(TBar(1.5))
    with pytest.raises(InvalidValue):
        engine.execute(SetTransition(TransitionKind.MIX, -1))
    with pytest.raises(UnknownChannel):
        engine.execute(SetGain("nope", 0.0))
    assert engine.state is before and seen == []


def test_audio_settings_and_camera_mapping_are_part_of_the_show(engine: Engine) -> None:
    engine.execute(SetAudioChannels(("mic", "tone")))
    seen = recorded(engine)
    engine.execute(SetGain("mic", -6.0))
    engine.execute(SetMute("tone", True))
    engine.execute(SetCameras((Camera(2, "Close", None), Camera(1, "Wide", None))))
    engine.execute(MapCamera(1, "cam3"))
    assert engine.state.audio["mic"].gain_db == -6.0 and engine.state.audio["tone"].mute
    assert [type(e) for e in seen] == [AudioChanged, AudioChanged, CamerasChanged, CamerasChanged]
    assert engine.state.cameras == (Camera(1, "Wide", "cam3"), Camera(2, "Close", None))


def test_transition_settings_are_announced(engine: Engine) -> None:
    events = engine.execute(SetTransition(TransitionKind.DIP, 45))
    assert [type(e) for e in events] == [TransitionSettingsChanged]


def test_a_broken_subscriber_does_not_stop_the_others(engine: Engine) -> None:
    def broken(event: Event) -> None:
        raise RuntimeError("boom")

    engine.subscribe(broken)
    seen = recorded(engine)
    engine.execute(Cut())
    assert ProgramChanged("cam2") in seen
