"""What the viewer page shows, frame by frame, read inside Chromium.

A requestVideoFrameCallback loop draws each presented frame to a canvas and keeps, per
frame: its width, the 40 block means of the capture stamp (media/stamp.py, decoded here in
Python as bench/glass_to_glass.py does) and the share of a band of pixels that has the NDI
test sender's background colour. The test pattern's bars never have that colour, so the
share tells which source is on screen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.glass_to_glass import stamp_of
from media.ndi_test_sender import DEFAULT_COLOUR
from media.stamp import COLUMNS, ROWS

# Runs through CDP (page.evaluate), which the page's CSP does not govern.
COLLECT = """([cols, rows, target]) => {
  const video = document.getElementById("video");
  const canvas = document.createElement("canvas");
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  window.__frames = [];
  const onFrame = (now, meta) => {
    const w = meta.width, h = meta.height;
    if (canvas.width !== w || canvas.height !== h) { canvas.width = w; canvas.height = h; }
    ctx.drawImage(video, 0, 0, w, h);
    const b = Math.floor(w / cols);
    const x0 = ((w - cols * b) >> 1) & ~1;
    const px = ctx.getImageData(x0, 0, cols * b, rows * b).data;
    const lo = b >> 2, hi = b - (b >> 2);
    const means = [];
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) {
      let sum = 0, n = 0;
      for (let y = r * b + lo; y < r * b + hi; y++) for (let x = c * b + lo; x < c * b + hi; x++) {
        const i = (y * cols * b + x) * 4;
        sum += 0.299 * px[i] + 0.587 * px[i + 1] + 0.114 * px[i + 2];
        n++;
      }
      means.push(16 + (sum / n) * 219 / 255);
    }
    // Between the sender's bouncing box and its label: only background there.
    const y0 = Math.floor(h * 0.70), y1 = Math.floor(h * 0.80);
    const band = ctx.getImageData(0, y0, w, y1 - y0).data;
    let near = 0;
    for (let i = 0; i < band.length; i += 4) {
      const d = Math.abs(band[i] - target[0]) + Math.abs(band[i + 1] - target[1]) +
        Math.abs(band[i + 2] - target[2]);
      if (d < 90) near++;
    }
    window.__frames.push({ width: w, means, colour: near / (band.length / 4) });
    video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);
}"""


@dataclass(frozen=True, slots=True)
class Shown:
    width: int
    stamp: int | None  # the capture time (ms, mod 2^32) drawn into the frame, if readable
    colour: float  # share of the band in the NDI test sender's colour

    @property
    def ndi_sender(self) -> bool:
        return self.colour > 0.8

    @property
    def other(self) -> bool:
        return self.colour < 0.2


def start_collecting(page: Any) -> None:
    page.evaluate(COLLECT, [COLUMNS, ROWS, list(DEFAULT_COLOUR)])


def take(page: Any) -> list[Shown]:
    """The frames presented since the last call."""
    raw = page.evaluate("window.__frames.splice(0)")
    return [Shown(int(f["width"]), stamp_of(f["means"]), float(f["colour"])) for f in raw]
