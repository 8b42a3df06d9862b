"""Where the views pull frames from: the program clock's latest ticks and each source's slot
(and whether the source is still there)."""

from __future__ import annotations

from app.runtime import Runtime
from media.frames import Frame
from media.sources.base import SourceState

from .video.pump import Feed


def program_feed(runtime: Runtime) -> Feed:
    def latest() -> tuple[object, Frame] | None:
        clock = runtime.clock
        out = clock.latest_program if clock is not None else None
        return None if out is None else (out, out.frame)

    return latest


def preview_feed(runtime: Runtime) -> Feed:
    def latest() -> tuple[object, Frame] | None:
        clock = runtime.clock
        out = clock.latest_preview if clock is not None else None
        return None if out is None else (out, out.frame)

    return latest


def source_feed(runtime: Runtime, name: str) -> Feed:
    def latest() -> tuple[object, Frame] | None:
        source = runtime.sources.get(name)
        slot = source.slot.read() if source is not None else None
        return None if slot is None else (slot, slot.frame)

    return latest


def source_state(runtime: Runtime, name: str) -> SourceState | None:
    """The source's state; None once the core no longer has it."""
    source = runtime.sources.get(name)
    return None if source is None else source.status.state
