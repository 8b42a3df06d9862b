"""Rendering is a pure function of (pts, state, slots): frame accuracy without sleeping."""

from __future__ import annotations

import numpy as np

from media.clock import ClockConfig, ProgramClock
from media.frames import Frame, Size, rgb_to_yuv
from media.switcher import Fade, SwitcherState, Transition, TransitionKind
from tests.media.support import still

SIZE = Size(64, 36)
RED, BLUE, WHITE = (200, 0, 0), (0, 0, 200), (255, 255, 255)


def _clock() -> ProgramClock:
    clock = ProgramClock(SwitcherState, ClockConfig(size=SIZE))
    for name, rgb in (("red", RED), ("blue", BLUE), ("white", WHITE)):
        clock.add_source(still(name, rgb, SIZE))
    return clock


def _yuv(frame: Frame) -> tuple[int, int, int]:
    return int(frame.y[10, 10]), int(frame.u[5, 5]), int(frame.v[5, 5])


def _is(frame: Frame, rgb: tuple[int, int, int]) -> bool:
    return _yuv(frame) == rgb_to_yuv(rgb) and bool((frame.y == frame.y[0, 0]).all())


def test_half_mix_of_two_colours_is_their_rounded_mean() -> None:
    clock = _clock()
    mix = Transition(TransitionKind.MIX, "blue", start_pts=100, duration=10)
    state = SwitcherState(program="red", preview="blue", transition=mix)
    program, preview = clock.render(104, state)  # frame 5 of 10: exactly half
    expected = [(a + b + 1) // 2 for a, b in zip(rgb_to_yuv(RED), rgb_to_yuv(BLUE), strict=True)]
    assert _yuv(program) == tuple(expected)
    assert _is(preview, BLUE)
    # Frame 1 of 10 is already a tenth of the way, the last one all the target.
    assert _yuv(clock.render(100, state)[0])[0] != rgb_to_yuv(RED)[0]
    assert _is(clock.render(109, state)[0], BLUE)
    assert _is(clock.render(99, state)[0], RED)


def test_cut_is_frame_accurate() -> None:
    clock = _clock()
    cut = Transition(TransitionKind.CUT, "blue", start_pts=42)
    state = SwitcherState(program="red", preview="blue", transition=cut)
    assert _is(clock.render(41, state)[0], RED)
    assert _is(clock.render(42, state)[0], BLUE)
    # The engine then makes it plain program: the same picture, no flash.
    assert _is(clock.render(43, SwitcherState(program="blue", preview="red"))[0], BLUE)


def test_fade_to_black_first_middle_last_frames() -> None:
    clock = _clock()
    fade = Fade(to_black=True, start_pts=60, duration=30)
    state = SwitcherState(program="white", ftb=fade)
    white_y = rgb_to_yuv(WHITE)[0]
    assert _yuv(clock.render(59, state)[0])[0] == white_y
    first = _yuv(clock.render(60, state)[0])[0]
    # 1/30 of the way down (weights are 1/256 steps, so within one level).
    assert abs(first - (white_y - (white_y - 16) / 30)) <= 1 and first < white_y
    mid = _yuv(clock.render(74, state)[0])  # frame 15 of 30
    assert mid[0] == (white_y + 16 + 1) // 2
    assert _is(clock.render(89, state)[0], (0, 0, 0))  # the 30th frame is black
    assert _is(clock.render(500, state)[0], (0, 0, 0))  # and black holds
    up = SwitcherState(program="white", ftb=Fade(to_black=False, start_pts=600, duration=30))
    assert _is(clock.render(599, up)[0], (0, 0, 0))
    assert _yuv(clock.render(629, up)[0])[0] == white_y


def test_dip_to_colour_passes_through_the_colour() -> None:
    clock = _clock()
    dip = Transition(TransitionKind.DIP, "blue", start_pts=0, duration=20, color=WHITE)
    state = SwitcherState(program="red", preview="blue", transition=dip)
    assert _is(clock.render(9, state)[0], WHITE)  # 10/20: all colour
    quarter = _yuv(clock.render(4, state)[0])[0]  # 5/20: half-way red -> white
    red_y, white_y = rgb_to_yuv(RED)[0], rgb_to_yuv(WHITE)[0]
    assert quarter == (red_y + white_y + 1) // 2
    assert _is(clock.render(19, state)[0], BLUE)
    assert state.on_air(9) == {"red": 0.0, "blue": 0.0}
    assert state.on_air(19) == {"red": 0.0, "blue": 1.0}


def test_rendering_is_repeatable_and_cached() -> None:
    clock = _clock()
    mix = Transition(TransitionKind.MIX, "blue", start_pts=0, duration=8)
    state = SwitcherState(program="red", preview="blue", transition=mix)
    a = clock.render(3, state)[0]
    b = clock.render(3, state)[0]
    assert np.array_equal(a.data, b.data)
    # An unchanged source is not rescaled again: the very same picture object.
    assert clock.picture("red") is clock.picture("red")


def test_unknown_sources_render_black_and_other_sizes_are_scaled() -> None:
    clock = _clock()
    clock.add_source(still("big", RED, Size(320, 180)))
    program, preview = clock.render(0, SwitcherState(program="big", preview="nobody"))
    assert program.size == SIZE and abs(_yuv(program)[0] - rgb_to_yuv(RED)[0]) <= 1
    assert _is(preview, (0, 0, 0))
