"""The one lamp derivation in the whole product; everything else displays its result."""

from collections.abc import Iterable

from .values import BusState, Camera, CameraLamp, Lamp


def derive_lamps(
    bus: BusState, cameras: Iterable[Camera], live_only: bool
) -> tuple[CameraLamp, ...]:
    """Each camera's lamp, by camera number: program beats preview beats off.

    With `live_only` a camera on preview shows off: only going on air is signalled.
    """
    program = frozenset(bus.program)
    preview = frozenset(bus.preview)

    def lamp(source: str | None) -> Lamp:
        if source is None:
            return Lamp.OFF
        if source in program:
            return Lamp.PROGRAM
        if source in preview and not live_only:
            return Lamp.PREVIEW
        return Lamp.OFF

    ordered = sorted(cameras, key=lambda camera: camera.number)
    return tuple(CameraLamp(camera.number, lamp(camera.source)) for camera in ordered)


def changed_lamps(old: Iterable[CameraLamp], new: Iterable[CameraLamp]) -> tuple[CameraLamp, ...]:
    """The entries of `new` whose lamp differs from `old`'s, or whose camera `old` lacks.

    A camera that left has no entry here: a change of cameras calls for a snapshot.
    """
    before = {entry.camera: entry.lamp for entry in old}
    return tuple(entry for entry in new if before.get(entry.camera) != entry.lamp)
