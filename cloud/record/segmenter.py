"""One layer of a session's recording: a thread that turns the layer's units into segments.

The gateway offers each unit on the event loop (`offer`, never blocks); a full queue drops
the unit and counts it, and video then skips to the next IDR, so a slow disk costs the
recording some frames and never holds up the live gateway. The thread muxes (fragments.py)
and writes each segment of at least `target_s`, always cut at an IDR, through the store.

A write that fails (disk full, or any other OSError) ends this recording at its last
complete segment: the reason goes to the log, the metrics and `status`, and the live
gateway goes on.

A publisher that comes back while its recording goes on (`restart`: the lo copy, whose
publisher may reconnect while hi stays) is joined on at its first IDR: its timeline starts
again, so its units are moved to follow the last frame written, one frame later, and the
recording reads on without a gap or a step back in time.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

from cloud.gateway.units import Unit
from cloud.record.fragments import BadStart, FragmentMuxer, opus_channels
from cloud.record.store import RecordingDir, RecordingStore

log = logging.getLogger(__name__)

TARGET_S = 1.0  # a segment ends at the first IDR this long after its start (GOP 2 s: 2 s)
QUEUE_UNITS = 1500  # ~10 s of hi video and audio: a disk pausing that long loses nothing
NO_AUDIO_WAIT = 90000  # 1 s at 90 kHz: a show without sound still records, video only


@dataclass(slots=True)
class RecordingStatus:
    state: str  # recording | ended
    recording_id: str | None = None
    reason: str | None = None  # why it ended: publisher_left, disk_full, write_error, ...


class SegmenterHooks:
    """What a segmenter reports (to the metrics); called on its thread."""

    def __init__(
        self,
        written: Callable[[int], None],
        failed: Callable[[str], None],
        dropped: Callable[[int], None],
    ) -> None:
        self.written = written
        self.failed = failed
        self.dropped = dropped


def _reason(exc: OSError) -> str:
    return "disk_full" if exc.errno in (errno.ENOSPC, errno.EDQUOT) else "write_error"


class Segmenter:
    def __init__(
        self,
        store: RecordingStore,
        session_id: str,
        hooks: SegmenterHooks,
        target_s: float = TARGET_S,
        queue_units: int = QUEUE_UNITS,
        recording_id: str | None = None,
        layer: str = "hi",
    ) -> None:
        self.session_id = session_id
        self.recording_id = recording_id  # None: the store picks one at the first IDR
        self.layer = layer
        self.status = RecordingStatus("recording")
        self.dropped = 0
        self.cpu_s = 0.0  # this thread's CPU time, for the benchmark
        self._store = store
        self._hooks = hooks
        self._target = round(target_s * 90000)
        # Each unit with its publisher's generation: `restart` starts the next one.
        self._queue: queue.Queue[tuple[int, Unit]] = queue.Queue(queue_units)
        self._generation = 0
        self._resync = False  # a unit was dropped: video waits for the next IDR
        self._done = threading.Event()
        self._stop_reason = "stopped"
        self.recording: RecordingDir | None = None
        self._thread = threading.Thread(target=self._run, name=f"record-{session_id}-{layer}")
        self._thread.start()

    # --- on the event loop --------------------------------------------------------------------

    def offer(self, unit: Unit) -> None:
        if self._done.is_set():
            return
        if self._resync:
            if unit.kind == "video" and not unit.idr:
                self._drop()
                return
            if unit.kind == "video":
                self._resync = False
        try:
            self._queue.put_nowait((self._generation, unit))
        except queue.Full:
            self._drop()
            self._resync = True

    def _drop(self) -> None:
        self.dropped += 1
        self._hooks.dropped(1)

    def restart(self) -> None:
        """The layer's publisher came back: what it sends next is on a new timeline."""
        self._generation += 1
        self._resync = True  # nothing of it is written before its first IDR

    def stop(self, reason: str) -> None:
        """End the recording (its last fragment is flushed); returns at once."""
        self._stop_reason = reason
        self._done.set()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    # --- on the thread ------------------------------------------------------------------------

    def _run(self) -> None:
        start = time.thread_time()
        try:
            self._record()
        except OSError as exc:
            self._failed(_reason(exc), exc)
        except Exception as exc:  # never take the process down; say what happened
            log.exception("recording of session %s failed", self.session_id)
            self._failed("error", exc)
        finally:
            self._done.set()
            self.cpu_s = time.thread_time() - start

    def _next(self) -> tuple[int, Unit] | None:
        """The next unit and its generation; None once stopped and drained."""
        while True:
            try:
                return self._queue.get(timeout=0.1)
            except queue.Empty:
                if self._done.is_set():
                    return None

    def _joined(self, generation: int, last_video: Callable[[], int]) -> Iterator[Unit]:
        """The units from `generation` on, each later publisher's moved onto the first's
        timeline: it begins one frame after the last video written (`last_video`, the
        frame's length after it), and what it sends before its first IDR is dropped."""
        offset = 0
        waiting = False
        while (item := self._next()) is not None:
            seen, unit = item
            if seen != generation:
                generation, waiting = seen, True
            if waiting:
                if unit.kind != "video" or not unit.idr:
                    continue
                waiting = False
                offset = last_video() - unit.pts
            yield replace(unit, pts=unit.pts + offset) if offset else unit

    def _record(self) -> None:
        muxer, held, generation = self._start()
        if muxer is None:
            self.status = RecordingStatus("ended", None, self._stop_reason)
            return
        rec = self.recording = self._store.create(self.session_id, self.recording_id, self.layer)
        self.status = RecordingStatus("recording", rec.id)
        rec.write_init(muxer.init)
        self._hooks.written(len(muxer.init))
        log.info("recording %s (%s) of session %s started", rec.id, self.layer, self.session_id)
        cutter = _Cutter(rec, self._target, self._hooks)
        cutter.idr(muxer.origin)  # the muxer has written its first IDR already
        last_video = muxer.origin
        frame = 3000  # 30 fps until two frames tell
        later = self._joined(generation, lambda: last_video + frame)
        for unit in itertools.chain(held, later):
            if unit.kind == "video":
                if unit.pts <= last_video:
                    continue  # never back in time within one publisher
                frame = unit.pts - last_video
                last_video = unit.pts
                if unit.idr:
                    cutter.idr(unit.pts)
            muxer.write(unit)
            cutter.fragments(muxer.take_fragments())
        cutter.fragments(muxer.close())
        cutter.finish(last_video + frame)
        rec.set_state("ended", self._stop_reason)
        self.status = RecordingStatus("ended", rec.id, self._stop_reason)
        log.info(
            "recording %s (%s) of session %s ended (%s): %d segments",
            rec.id,
            self.layer,
            self.session_id,
            self._stop_reason,
            rec.segments,
        )

    def _start(self) -> tuple[FragmentMuxer | None, list[Unit], int]:
        """Wait for an IDR to begin at, then for the sound's first packet (its channel
        count goes into the init) for up to NO_AUDIO_WAIT; the units since the IDR are
        returned to be written after it, with their publisher's generation."""
        idr: Unit | None = None
        held: list[Unit] = []
        generation = -1
        while (item := self._next()) is not None:
            seen, unit = item
            if seen != generation:  # a publisher that came back: begin again at its IDR
                generation, idr, held = seen, None, []
            if idr is None:
                if unit.kind == "video" and unit.idr:
                    idr = unit
                continue
            held.append(unit)
            sound = unit.kind == "audio"
            if sound or unit.pts - idr.pts >= NO_AUDIO_WAIT:
                try:
                    channels = opus_channels(unit.data) if sound else None
                    return FragmentMuxer(idr, channels), held, generation
                except BadStart as exc:
                    log.warning("recording of session %s: %s", self.session_id, exc)
                    idr, held = None, []
        return None, [], generation

    def _failed(self, reason: str, exc: BaseException) -> None:
        rec = self.recording
        log.error(
            "recording %s (%s) of session %s ended: %s (%s); the live show goes on",
            rec.id if rec else "-",
            self.layer,
            self.session_id,
            reason,
            exc,
        )
        self._hooks.failed(reason)
        self.status = RecordingStatus("ended", rec.id if rec else None, reason)
        if rec is not None:
            # The disk may be too full even for this: the listing then says interrupted.
            with contextlib.suppress(OSError):
                rec.set_state("ended", reason)


class _Cutter:
    """Groups finished fragments into segments of at least `target` ticks."""

    def __init__(self, rec: RecordingDir, target: int, hooks: SegmenterHooks) -> None:
        self._rec = rec
        self._target = target
        self._hooks = hooks
        self._idrs: deque[int] = deque()  # the start of each fragment not yet finished
        self._pending: list[bytes] = []
        self._start = -1  # the pending segment's first tick
        self._seq = 1

    def idr(self, pts: int) -> None:
        self._idrs.append(pts)

    def fragments(self, done: list[bytes]) -> None:
        """Fragments the muxer finished: each ran from its IDR to the next one's."""
        for fragment in done:
            began = self._idrs.popleft()
            if self._start < 0:
                self._start = began
            self._pending.append(fragment)
            if self._idrs and self._idrs[0] - self._start >= self._target:
                self._write(self._idrs[0])

    def finish(self, end: int) -> None:
        """The recording ends at `end`: what is pending is the last segment."""
        if self._pending:
            self._write(end)

    def _write(self, end: int) -> None:
        data = b"".join(self._pending)
        self._rec.write_segment(self._seq, (end - self._start) / 90000, data)
        self._hooks.written(len(data))
        self._seq += 1
        self._pending = []
        self._start = -1
