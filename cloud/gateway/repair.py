"""A hole in a publisher's video becomes a short freeze, not a broken picture.

When SRT could not repair a loss in time (the sender's latency leaves a repair chance or
two: media/send/latency.py), the demuxer is handed MPEG-TS with a piece of a frame missing.
Decoded, that frame and every frame predicted from it are damaged until the next IDR, up to
a GOP (2 s) of smeared picture for every viewer, and in the recording. Instead the ingest
holds the layer's video from the frame the hole may be in until an IDR that starts after
the hole, and asks the director for that IDR at once: viewers see the last good frame for
about a round trip and an encode.

Where the hole is: `ContinuityCheck` notes the stream offset of each continuity gap on
the video PID as the bytes are read, and the demuxer gives each packet the offset its PES
began at (`packet.pos`). A packet that began before the newest hole may hold it; one that
begins after it cannot.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Admit:
    """What to do with one video unit."""

    forward: bool  # False: held back, part of a damaged run
    ask_keyframe: bool  # a new hole: ask the director for an IDR now


class HoleGuard:
    """One publisher connection's video, held from a hole to the next IDR after it."""

    def __init__(self) -> None:
        self._hole_at = -1  # stream offset of the newest hole acted on
        self._holding = False
        self.held = 0  # units held back so far
        self.holes = 0  # holes acted on so far

    def admit(self, pos: int | None, idr: bool, hole_at: int | None) -> Admit:
        """A video unit whose PES began at stream offset `pos` (None: unknown), given the
        offset of the newest hole on the video PID so far (None: none)."""
        ask = False
        if hole_at is not None and hole_at > self._hole_at:
            self._hole_at = hole_at
            self._holding = True
            self.holes += 1
            ask = True
        # Without a position (never seen from the MPEG-TS demuxer) any IDR ends the hold:
        # a frozen picture for good would be worse than a rare damaged keyframe.
        if self._holding and idr and (pos is None or pos > self._hole_at):
            self._holding = False
        if self._holding:
            self.held += 1
        return Admit(not self._holding, ask)
