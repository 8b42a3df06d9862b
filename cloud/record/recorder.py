"""The recordings' owner on the event loop: per live session, one recording of its hi
layer with a copy of its lo layer (one segmenter each).

The gateway tells it of publishers and hands it every unit (`FeedListener`); it starts a
recording when a session's hi publisher goes live and ends it when that publisher leaves,
so a publisher that restarts begins a new recording and the last one keeps every complete
segment. Retention (size, age) runs on a worker thread when a recording starts.

The lo copy is what a link capped at lo replays (docs/recording.md): it follows its
recording (begun, ended and deleted with it, in its folder). lo's publisher is on its own
SRT link and often goes live before hi (its first frames probe faster), so the recorder
keeps lo's current GOP and a copy begins at lo's latest IDR, not up to a GOP after hi.
Its publisher may come and go meanwhile; the copy waits for it, and one that comes back is
joined on at its first IDR (`Segmenter.restart`). A publisher that sends hi only leaves
the recording without a lo copy.

Each session has a recording switch (stored with the session, on by default): off, a Go Live
does not record and a recording being written ends ("stopped"); on again while the hi
publisher is live, a new recording begins at its next IDR.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import CollectorRegistry

from cloud.gateway.units import Unit
from cloud.record.metrics import RecordMetrics
from cloud.record.segmenter import RecordingStatus, Segmenter, SegmenterHooks
from cloud.record.store import RecordingStore

log = logging.getLogger(__name__)

RECORDED_LAYER = "hi"  # the recording's own layer: its publisher starts and ends it
COPY_LAYER = "lo"  # recorded beside it, for the links capped at lo
# lo's GOP kept to begin a copy at: the app's 2 s GOP is ~160 units; a longer one is not
# kept (the copy then begins at lo's next IDR).
GOP_UNITS = 600
# A switch set through this process's API wins over a database read that may have begun
# before it was committed (the gateway's refresh); after this long the database is right.
SWITCH_SETTLE_S = 5.0
STOPPED = "stopped"  # why a recording ended when its session's switch went off


@dataclass(frozen=True, slots=True)
class _Recording:
    """One recording being written: its hi layer and the lo copy, under one id."""

    id: str
    path: Path
    hi: Segmenter
    lo: Segmenter

    def layers(self) -> Iterator[Segmenter]:
        yield self.hi
        yield self.lo


class Recorder:
    def __init__(self, store: RecordingStore, registry: CollectorRegistry) -> None:
        self.store = store
        self.metrics = RecordMetrics(registry)
        self._live: dict[str, _Recording] = {}
        self._last: dict[str, _Recording] = {}  # the latest recording of each session
        self._off: set[str] = set()  # sessions whose recording switch is off
        self._switched_at: dict[str, float] = {}  # monotonic time of each switch set here
        self._publishing: set[str] = set()  # sessions whose hi publisher is up here
        self._copying: set[str] = set()  # sessions whose lo publisher is up here
        self._lo_gop: dict[str, list[Unit]] = {}  # lo's units since its latest IDR
        self._stopping: set[Segmenter] = set()  # ended, still writing their last segment
        # Asks the director for an IDR: (session, layer, reason); the gateway's, set with it.
        self.request_keyframe: Callable[[str, str, str], None] | None = None
        self._hooks = {layer: self._layer_hooks(layer) for layer in (RECORDED_LAYER, COPY_LAYER)}
        self.metrics.active.set_function(lambda: sum(r.hi.alive for r in self._live.values()))

    def _layer_hooks(self, layer: str) -> SegmenterHooks:
        return SegmenterHooks(
            written=self._written,
            failed=lambda reason: self.metrics.errors.labels(reason, layer).inc(),
            dropped=self.metrics.dropped.inc,
        )

    def _written(self, size: int) -> None:
        self.metrics.bytes_written.inc(size)
        self.metrics.segments.inc()

    # --- FeedListener (on the loop) ------------------------------------------------------------

    def unit(self, session_id: str, unit: Unit) -> None:
        recording = self._live.get(session_id)
        if unit.layer == COPY_LAYER:
            self._keep(session_id, unit)
            if recording is not None:
                recording.lo.offer(unit)
        elif unit.layer == RECORDED_LAYER and recording is not None:
            recording.hi.offer(unit)

    def _keep(self, session_id: str, unit: Unit) -> None:
        if unit.kind == "video" and unit.idr:
            self._lo_gop[session_id] = [unit]
            return
        gop = self._lo_gop.get(session_id)
        if gop is not None:
            if len(gop) < GOP_UNITS:
                gop.append(unit)
            else:
                del self._lo_gop[session_id]

    def publisher_up(self, session_id: str, layer: str) -> None:
        if layer == COPY_LAYER:
            self._copying.add(session_id)
            self._lo_gop.pop(session_id, None)  # another publisher's timeline
            recording = self._live.get(session_id)
            if recording is not None:  # lo came (back) mid-recording: its copy joins it on
                recording.lo.restart()
            return
        if layer != RECORDED_LAYER:
            return
        self._end(session_id, "publisher_restarted")
        self._publishing.add(session_id)
        if session_id not in self._off:
            self._start(session_id)

    def publisher_down(self, session_id: str, layer: str) -> None:
        if layer == COPY_LAYER:
            self._copying.discard(session_id)  # the copy waits for it to come back
            self._lo_gop.pop(session_id, None)
        elif layer == RECORDED_LAYER:
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
        recording = self._live.get(session_id)
        return recording is not None and recording.hi.alive

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
            if self.request_keyframe is not None:  # not up to a GOP later (lo's copy
                # begins at lo's latest IDR, kept: it needs none)
                self.request_keyframe(session_id, RECORDED_LAYER, "recording_start")

    def _start(self, session_id: str) -> None:
        recording_id = self.store.new_id()

        def layer(name: str) -> Segmenter:
            hooks = self._hooks[name]
            return Segmenter(self.store, session_id, hooks, recording_id=recording_id, layer=name)

        recording = _Recording(
            recording_id,
            self.store.root / session_id / recording_id,
            layer(RECORDED_LAYER),
            layer(COPY_LAYER),
        )
        self._live[session_id] = self._last[session_id] = recording
        for unit in self._lo_gop.get(session_id, ()):  # the copy begins at lo's latest IDR
            recording.lo.offer(unit)
        task = asyncio.get_running_loop().run_in_executor(None, self._enforce)
        task.add_done_callback(lambda t: t.cancelled() or t.exception())

    def _end(self, session_id: str, reason: str) -> None:
        recording = self._live.pop(session_id, None)
        if recording is not None:
            for segmenter in recording.layers():
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
        recording = self._last.get(session_id)
        return recording.hi.status if recording is not None else None

    def current(self, session_id: str) -> str | None:
        """The id of the recording being written for the session, if any."""
        recording = self._live.get(session_id)
        if recording is None or recording.hi.recording is None or not recording.hi.alive:
            return None
        return recording.id

    def writing(self, session_id: str, layer: str | None = None) -> set[str]:
        """The ids of the session's recordings whose files (of `layer`; None: of either)
        are still being written: the current one, and any that ended a moment ago and are
        writing their last segment (until then they are neither whole nor interrupted)."""
        self._stopping = {s for s in self._stopping if s.alive}
        live = self._live.get(session_id)
        return {
            s.recording.id
            for s in (*self._stopping, *(live.layers() if live is not None else ()))
            if s.session_id == session_id
            and s.recording is not None
            and (layer is None or s.layer == layer)
        }

    def active_paths(self) -> set[Path]:
        """The folders being written, known from the start: a layer's first IDR makes
        its recording's folder, and retention must never take one being made."""
        return {r.path for r in list(self._live.values())}

    async def close(self) -> None:
        for session_id in list(self._live):
            self._end(session_id, "backend_stopped")
        last = (s for r in self._last.values() for s in r.layers())
        for segmenter in {*last, *self._stopping}:
            await asyncio.to_thread(segmenter.join, 5.0)
