from tally import BusState, Camera, CameraLamp, Lamp, changed_lamps, derive_lamps

CAMERAS = (
    Camera(3, "Wide", "src3"),
    Camera(1, "Left", "src1"),
    Camera(2, "Right", "src2"),
)


def lamps(bus: BusState, cameras: tuple[Camera, ...], live_only: bool = False) -> list[Lamp]:
    return [entry.lamp for entry in derive_lamps(bus, cameras, live_only)]


def test_program_beats_preview_beats_off() -> None:
    bus = BusState(program=("src1",), preview=("src2", "src1"))
    assert lamps(bus, CAMERAS) == [Lamp.PROGRAM, Lamp.PREVIEW, Lamp.OFF]


def test_lamps_come_sorted_by_camera_number() -> None:
    derived = derive_lamps(BusState((), ()), CAMERAS, live_only=False)
    assert [entry.camera for entry in derived] == [1, 2, 3]


def test_live_only_shows_preview_as_off() -> None:
    bus = BusState(program=("src1",), preview=("src2",))
    assert lamps(bus, CAMERAS, live_only=True) == [Lamp.PROGRAM, Lamp.OFF, Lamp.OFF]


def test_mix_puts_both_sources_on_program() -> None:
    bus = BusState(program=("src1", "src3"), preview=())
    assert lamps(bus, CAMERAS) == [Lamp.PROGRAM, Lamp.OFF, Lamp.PROGRAM]


def test_unmapped_camera_is_off_even_with_sources_live() -> None:
    cameras = (Camera(1, "Jib", None),)
    assert lamps(BusState(program=("src1",), preview=("src2",)), cameras) == [Lamp.OFF]


def test_source_mapped_to_two_cameras_lights_both() -> None:
    cameras = (Camera(1, "Wide", "src1"), Camera(2, "Wide iso", "src1"), Camera(3, "Other", "x"))
    bus = BusState(program=(), preview=("src1",))
    assert lamps(bus, cameras) == [Lamp.PREVIEW, Lamp.PREVIEW, Lamp.OFF]


def test_no_cameras_no_lamps() -> None:
    assert derive_lamps(BusState(("src1",), ()), [], live_only=False) == ()


def test_changed_lamps_keeps_only_changes_and_new_cameras() -> None:
    old = (CameraLamp(1, Lamp.PROGRAM), CameraLamp(2, Lamp.PREVIEW), CameraLamp(3, Lamp.OFF))
    new = (
        CameraLamp(1, Lamp.PROGRAM),
        CameraLamp(2, Lamp.OFF),
        CameraLamp(3, Lamp.OFF),
        CameraLamp(4, Lamp.PREVIEW),
    )
    assert changed_lamps(old, new) == (CameraLamp(2, Lamp.OFF), CameraLamp(4, Lamp.PREVIEW))


def test_changed_lamps_of_equal_lists_is_empty() -> None:
    same = derive_lamps(BusState(("src1",), ("src2",)), CAMERAS, live_only=False)
    assert changed_lamps(same, same) == ()
    assert changed_lamps((), same) == same
