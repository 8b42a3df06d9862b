"""The recordings' owner on the event loop: one segmenter per live session's hi layer.

The gateway tells it of publishers and hands it every unit (`FeedListener`); it starts a
segmenter when a session's hi publisher goes live and ends it when that publisher leaves,
so a publisher that restarts begins a new recording and the last one keeps every complete
segment. Retention (size, age) runs on a worker thread when a recording starts.

Each session has a recording switch (stored with the session, on by default): off, a Go Live
does not record and a recording being written ends ("stopped"); on again while the hi
publisher is live, a new recording begins at its next IDR.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from prometheus_client import CollectorRegistry

from cloud.gateway.units import Unit
from cloud.record.metrics import RecordMetrics
from cloud.record.segmenter import RecordingStatus, Segmenter, SegmenterHooks
from cloud.record.store import RecordingStore

log = logging.getLogger(__name__)

RECORDED_LAYER = "hi"
# A switch set through this process's API wins over a database read that may have begun
# before it was committed (the gateway's refresh); after this long the database is right.
SWITCH_SETTLE_S = 5.0
STOPPED = "stopped"  # why a recording ended when its session's switch went off


class Recorder:
    def __init__(self, store: RecordingStore, registry: CollectorRegistry) -> None:
        self.store = store
        self.metrics = RecordMetrics(registry)
        self._live: dict[str, Segmenter] = {}
        self._last: dict[str, Segmenter] = {}  # the latest segmenter of each session
        self._off: set[str] = set()  # sessions whose recording switch is off
        self._switched_at: dict[str, float] = {}  # monotonic time of each switch set here
        self._publishing: set[str] = set()  # sessions whose hi publisher is up here
        self._stopping: set[Segmenter] = set()  # ended, still writing their last segment
        # Asks the director for an IDR: (session, layer, reason); the gateway's, set with it.
        self.request_keyframe: Callable[[str, str, str], None] | None = None
        self._hooks = SegmenterHooks(
            written=self._written,
            failed=lambda reason: self.metrics.errors.labels(reason).inc(),
            dropped=self.metrics.dropped.inc,
        )
        self.metrics.active.set_function(lambda: sum(s.alive for s in self._live.values()))

    def _written(self, size: int) -> None:
        self.metrics.bytes_written.inc(size)
        self.metrics.segments.inc()

    # --- FeedListener (on the loop) ------------------------------------------------------------

    def unit(self, session_id: str, unit: Unit) -> None:
        if unit.layer == RECORDED_LAYER:
            segmenter = self._live.get(session_id)
            if segmenter is not None:
                segmenter.offer(unit)

    def publisher_up(self, session_id: str, layer: str) -> None:
        if layer != RECORDED_LAYER:
            return
        self._end(session_id, "publisher_restarted")
        self._publishing.add(session_id)
        if session_id not in self._off:
            self._start(session_id)

    def publisher_down(self, session_id: str, layer: str) -> None:
        if layer == RECORDED_LAYER:
            self._publishing.discard(session_id)
            self._end(session_id, "publisher_left")

    # --- the switch (on the loop) ----------------------------------------------------------------

    def switch(self, session_id: str, on: bool) -> None:
        """The director set the session's switch (through this process's API)."""
        self._switched_at[session_id] = time.monotonic()
        self._apply(session_id, on)

    def switches(self, live: Mapping[str, bool]) -> None:
        """Every live session's switch as the database has it (the gateway's refresh): a
        change made through another backend process reaches the session's owner here."""
        now = time.monotonic()
        for session_id, on in live.items():
            if now - self._switched_at.get(session_id, -SWITCH_SETTLE_S) >= SWITCH_SETTLE_S:
                self._apply(session_id, on)
        self._off &= live.keys()  # ended sessions are forgotten
        for session_id in [s for s in self._switched_at if s not in live]:
            del self._switched_at[session_id]

    def armed(self, session_id: str) -> bool:
        """Whether a recording of the session runs or waits for its first IDR."""
        segmenter = self._live.get(session_id)
        return segmenter is not None and segmenter.alive

    def wanted(self, session_id: str) -> bool:
        """The session's switch, as this process last learnt it."""
        return session_id not in self._off

    def _apply(self, session_id: str, on: bool) -> None:
        if not on:
            self._off.add(session_id)
            self._end(session_id, STOPPED)
            return
        self._off.discard(session_id)
        if session_id in self._publishing and session_id not in self._live:
            self._start(session_id)  # it begins at the publisher's next IDR: ask for it now,
            if self.request_keyframe is not None:  # not up to a GOP later
                self.request_keyframe(session_id, RECORDED_LAYER, "recording_start")

    def _start(self, session_id: str) -> None:
        segmenter = Segmenter(self.store, session_id, self._hooks)
        self._live[session_id] = self._last[session_id] = segmenter
        task = asyncio.get_running_loop().run_in_executor(None, self._enforce)
        task.add_done_callback(lambda t: t.cancelled() or t.exception())

    def _end(self, session_id: str, reason: str) -> None:
        segmenter = self._live.pop(session_id, None)
        if segmenter is not None:
            segmenter.stop(reason)
            self._stopping.add(segmenter)

    def _enforce(self) -> None:
        try:
            self.store.enforce(self.active_paths())
        except OSError as exc:
            log.warning("recording retention failed: %s", exc)

    # --- readers --------------------------------------------------------------------------------

    def status(self, session_id: str) -> RecordingStatus | None:
        """The session's latest recording, as this process knows it (None: none yet)."""
        segmenter = self._last.get(session_id)
        return segmenter.status if segmenter is not None else None

    def current(self, session_id: str) -> str | None:
        """The id of the recording being written for the session, if any."""
        segmenter = self._live.get(session_id)
        if segmenter is None or segmenter.recording is None or not segmenter.alive:
            return None
        return segmenter.recording.id

    def writing(self, session_id: str) -> set[str]:
        """The ids of the session's recordings whose files are still being written: the
        current one, and any that ended a moment ago and are writing their last segment
        (until then they are neither whole nor interrupted)."""
        self._stopping = {s for s in self._stopping if s.alive}
        return {
            s.recording.id
            for s in (*self._stopping, self._live.get(session_id))
            if s is not None and s.session_id == session_id and s.recording is not None
        }

    def active_paths(self) -> set[Path]:
        return {s.recording.path for s in list(self._live.values()) if s.recording is not None}

    async def close(self) -> None:
        for session_id in list(self._live):
            self._end(session_id, "backend_stopped")
        for segmenter in {*self._last.values(), *self._stopping}:
            await asyncio.to_thread(segmenter.join, 5.0)
