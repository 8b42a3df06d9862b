"""The NDI sender on program vanishes mid-show and comes back under the same name.

While it is gone the source shows its slate, the program clock keeps ticking and the
stream to viewers goes on (showing the slate); when it returns the source finds it again
by itself, its picture is on program and reaches a viewer's browser, and the sender gets
its program tally back.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Browser, Page

from app.engine.sources import SourceSpec
from media.sources.base import SourceState
from tests.app.core_config import LIGHT_MEDIA
from tests.faults.chain import (
    Backend,
    LiveApp,
    dataset,
    fault_config,
    frames,
    live_app,
    new_show,
    page_at,
    poll,
)
from tests.media.support import LOOPBACK, SENDER_LUMA, LoopbackSender
from tests.support.browser import webrtc_chromium

VIEWPORT = {"width": 640, "height": 400}
SLATE_LUMA = 44
# Finding a sender by extra IP takes milliseconds alone; when another process on the
# machine runs NDI senders too, 127.0.0.1 answers with one process's list at a time and
# the source's retries (a fresh finder every third) take longer.
FIND_S = 30  # media/slate.py's background
# The median green of the picture in the viewer's <video>, drawn into a small canvas.
VIDEO_GREEN = """() => {
  const v = document.getElementById("video");
  if (!v || !v.videoWidth) return -1;
  const c = document.createElement("canvas");
  c.width = 64; c.height = 36;
  const g = c.getContext("2d");
  g.drawImage(v, 0, 0, 64, 36);
  const d = g.getImageData(0, 0, 64, 36).data;
  const greens = [];
  for (let i = 1; i < d.length; i += 4) greens.push(d[i]);
  greens.sort((a, b) => a - b);
  return greens[greens.length >> 1];
}"""


@pytest.fixture
def sender() -> Iterator[LoopbackSender]:
    sender = LoopbackSender(f"rf-fault-{uuid.uuid4().hex[:8]}")
    sender.start()
    yield sender
    sender.stop()


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[Backend]:
    backend = Backend(tmp_path, f"sqlite:///{tmp_path / 'returnfeed.db'}")
    yield backend
    assert backend.alive(), backend.log_text()[-3000:]
    backend.stop()


@pytest.fixture
def browser() -> Iterator[Browser]:
    with webrtc_chromium() as b:
        yield b


def program_luma(app: LiveApp) -> int:
    clock = app.rt.clock
    latest = clock.latest_program if clock is not None else None
    return int(np.median(latest.frame.y)) if latest is not None else -1


def near(value: int, target: int, within: int) -> bool:
    return abs(value - target) <= within


def viewer_green(page: Page) -> int:
    return int(page.evaluate(VIDEO_GREEN))


def test_the_ndi_source_on_program_vanishes_and_returns(
    sender: LoopbackSender, backend: Backend, browser: Browser
) -> None:
    specs = (SourceSpec("ndi", sender.name, "NDI Cam"), SourceSpec("test", "Test 2"))
    config = fault_config(sources=specs, media=replace(LIGHT_MEDIA, ndi=LOOPBACK))
    show = new_show(backend, cameras=1)
    with (
        live_app(backend, show, config, {1: "ndi-cam"}) as app,
        page_at(browser, app.invite_url("viewer"), viewport=VIEWPORT) as watch,
    ):
        app.post("/api/program/ndi-cam")
        app.post("/api/preview/test-2")
        source = app.rt.sources["ndi-cam"]
        poll(lambda: source.status.state is SourceState.LIVE, FIND_S, "the NDI source live")
        poll(lambda: near(program_luma(app), SENDER_LUMA, 3), 10, "the NDI picture on program")
        poll(lambda: dataset(watch).get("state") == "playing", 25, "the viewer playing")
        # (limited-range video: Y 180 is about 191 in the browser's RGB)
        poll(lambda: viewer_green(watch) > 150, 15, "the NDI picture at the viewer")
        poll(lambda: sender.tally() == (True, False), 5, "program tally at the sender")

        sender.stop()
        gone_at = time.monotonic()
        poll(lambda: source.status.state is SourceState.LOST, 10, "the source to be lost")
        lost_s = time.monotonic() - gone_at
        poll(lambda: near(program_luma(app), SLATE_LUMA, 3), 10, "the slate on program")
        ticks = app.ticks()
        poll(lambda: app.ticks() > ticks + 30, 5, "the program clock ticking on")
        assert app.rt.state.program == "ndi-cam"
        shown = frames(watch)
        poll(lambda: viewer_green(watch) < 80, 15, "the slate at the viewer")
        poll(lambda: frames(watch) > shown + 10, 10, "the viewer playing on")

        sender.start()  # the same name again
        back_at = time.monotonic()
        poll(lambda: source.status.state is SourceState.LIVE, FIND_S, "the source found again")
        found_s = time.monotonic() - back_at
        poll(lambda: near(program_luma(app), SENDER_LUMA, 3), 10, "NDI back on program")
        poll(lambda: viewer_green(watch) > 150, 15, "NDI back at the viewer")
        viewer_s = time.monotonic() - back_at
        poll(lambda: sender.tally() == (True, False), 5, "program tally back at the sender")
        print(
            f"NDI sender gone: lost after {lost_s:.2f} s; back: found after {found_s:.2f} s, "
            f"at the viewer after {viewer_s:.2f} s"
        )
