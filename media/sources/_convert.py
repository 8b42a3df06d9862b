"""Decoded PyAV pictures to working-size frames: one libswscale pass when the aspect fits."""

from __future__ import annotations

import av

from media.frames import Frame, Size, scale_to_fit


def to_working(picture: av.VideoFrame, size: Size) -> Frame:
    if picture.width * size.height == picture.height * size.width:
        return Frame.from_av(picture, size)
    return scale_to_fit(Frame.from_av(picture), size)
