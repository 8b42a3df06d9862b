from __future__ import annotations

import av
import numpy as np
import pytest

from media.font import text_mask, text_width
from media.frames import Frame, Size, rgb_to_yuv, scale_to_fit, solid
from media.slate import render_slate


def test_frame_is_read_only_i420() -> None:
    frame = solid(Size(8, 4), (255, 0, 0))
    assert (frame.width, frame.height) == (8, 4)
    assert frame.y.shape == (4, 8) and frame.u.shape == (2, 4) and frame.v.shape == (2, 4)
    with pytest.raises(ValueError):
        frame.data[0, 0] = 1
    with pytest.raises(ValueError):
        Frame(np.zeros((5, 8), np.uint8))
    with pytest.raises(ValueError):
        Size(7, 4)


@pytest.mark.parametrize("rgb", [(0, 0, 0), (255, 255, 255), (200, 30, 90), (10, 220, 40)])
def test_rgb_to_yuv_matches_libswscale(rgb: tuple[int, int, int]) -> None:
    image = np.full((16, 16, 3), rgb, np.uint8)
    yuv = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p")
    planes = Frame(yuv.to_ndarray())
    ours = rgb_to_yuv(rgb)
    theirs = (int(planes.y[8, 8]), int(planes.u[4, 4]), int(planes.v[4, 4]))
    assert np.allclose(ours, theirs, atol=1), (ours, theirs)


def test_scale_to_fit_letterboxes_other_aspect() -> None:
    square = solid(Size(100, 100), (255, 255, 255))
    out = scale_to_fit(square, Size(160, 90))
    assert out.size == Size(160, 90)
    row = out.y[45]
    assert row[0] == 16 and row[-1] == 16  # black bars left and right
    assert row[80] > 230  # picture in the middle
    same = solid(Size(320, 180), (0, 0, 255))
    assert scale_to_fit(same, Size(320, 180)) is same


def test_text_and_slate_draw_pixels() -> None:
    mask = text_mask("CAM 1", 2)
    assert mask.shape == (14, text_width("CAM 1", 2))
    assert mask.any()
    slate = render_slate("Camera 1", Size(640, 360))
    bright = slate.y > 140
    assert bright.sum() > 500  # "NO SIGNAL" and the name
    assert (slate.u == 128).all()
