"""Multiview layouts: how many tiles, and the grid shape that makes them largest.

A layout is a tile count (4, 9 or 16, as on a hardware multiview); the shape follows the
space the window gives it: 4x4 in a square area, 8x2 in a wide strip under the monitors.
"""

from __future__ import annotations

LAYOUTS = (4, 9, 16)
DEFAULT_LAYOUT = 9
ASPECT = 16 / 9


def grid_shape(tiles: int, width: int, height: int, spacing: int = 0) -> tuple[int, int]:
    """(columns, rows) for `tiles` 16:9 tiles in width x height with the largest tiles;
    within half a pixel, the shape with fewer empty cells, then fewer columns, wins."""
    best: tuple[float, int, int, int] | None = None  # picture width, empty cells, shape
    for cols in range(1, max(1, tiles) + 1):
        rows = -(-tiles // cols)
        tile_w = (width - spacing * (cols - 1)) / cols
        tile_h = (height - spacing * (rows - 1)) / rows
        picture = min(tile_w, tile_h * ASPECT)  # the 16:9 picture's width in such a tile
        empty = cols * rows - tiles
        if best is None or picture > best[0] + 0.5 or (picture > best[0] - 0.5 and empty < best[1]):
            best = (picture, empty, cols, rows)
    return (1, 1) if best is None or tiles <= 0 else (best[2], best[3])
