"""One layer's SRT caller: its own thread, its own bounded queue, reconnect with backoff.

Per connection: a fresh TS muxer (so PAT/PMT and continuity counters start over), an IDR
asked of the encoder, and nothing sent until that IDR comes, so a receiver always starts
on a decodable picture. Units that arrive while no connection is up are not queued at all.
When the queue overflows (the link is slower than the encoder) the oldest unit is dropped
and counted; video after a drop would reference a missing frame, so the sender skips to
the next IDR and asks for one at once.

Refusals are told apart (libsrt's reject reason): a wrong passphrase or refused streamid
won't fix itself and is retried on a slow schedule; a listener that is down or restarting
is retried quickly. Whoever owns the credentials may `retarget` the sender (e.g. a fresh
publish token after a 1403): a changed target is tried at once, a live connection stays.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from media.encode.meter import RateMeter
from media.encode.units import LayerUnit
from media.fanout import DropOldestQueue
from media.send.backoff import Backoff, BackoffPolicy
from media.send.latency import LatencyChoice, LinkMemory, should_retune
from media.send.link import TRANSIENT_REJECTS, LinkPhase, LinkState, describe_reject
from media.send.silence import AckSilence
from media.send.target import SrtTarget
from media.send.ts import TsMuxer
from media.srt import (
    SrtClosed,
    SrtConnection,
    SrtConnectionLost,
    SrtError,
    SrtOptions,
    SrtRejected,
    SrtStats,
    SrtTimeout,
    connect,
)

log = logging.getLogger(__name__)

ConnectFn = Callable[[str, int, SrtOptions], SrtConnection]

_PROVEN_S = 2.0  # a connection that lasted this long resets the backoff
_STATS_EVERY_S = 1.0
_ACKS_EVERY_S = 0.25  # how often the ACK count is checked for a vanished listener
_DRAIN_S = 0.5  # on a clean stop, how long the link may take to deliver what was sent
# A connection whose latency the measured link no longer fits is redone with the right one
# (a moment without picture): after this long measuring, and at most once per _RETUNE_EVERY_S.
# 8 s: ~900 packets of a camera's picture, enough for a 1 % path to show ~9 losses; at 3 s
# one run in seven read 0.2 % or less and took one repair chance where it needed two.
_SETTLE_S = 8.0
_RETUNE_EVERY_S = 30.0


@dataclass(frozen=True, slots=True)
class SenderStats:
    layer: str
    state: LinkState
    connects: int  # connections made
    rejects: int  # refusals by the listener
    refusals: Mapping[int, int]  # the same refusals by reject reason (e.g. {1403: 2})
    fps: float  # video frames sent per second (last 2 s)
    kbps: float  # TS bytes sent (last 2 s)
    frames_sent: int
    bytes_sent: int
    queue_drops: int  # units dropped because the link could not keep up
    send_errors: int  # sends that timed out (the unit was lost)
    skipped_for_idr: int  # units not sent while waiting for an IDR
    srt: SrtStats | None  # the link's numbers, refreshed every second while connected
    latency: LatencyChoice | None = None  # what the current (or last) connection asked for
    packet_filter: str = ""  # the filter (FEC) the connection agreed on, "" for none
    retunes: int = 0  # reconnections made to change the latency


class LayerSender:
    def __init__(
        self,
        layer: str,
        target: SrtTarget,
        *,
        request_keyframe: Callable[[], None],
        audio_channels: int | None = 2,
        queue_size: int = 8,
        backoff: BackoffPolicy | None = None,
        connect_fn: ConnectFn = connect,
        links: LinkMemory | None = None,
    ) -> None:
        self.layer = layer
        self.target = target
        self._request_keyframe = request_keyframe
        self._audio_channels = audio_channels
        self._queue: DropOldestQueue[LayerUnit] = DropOldestQueue(f"send:{layer}", queue_size)
        self._backoff = Backoff(backoff)
        self._connect = connect_fn
        self._state = LinkState(LinkPhase.IDLE)
        self._accepting = False
        self._conn: SrtConnection | None = None
        self._stopping = threading.Event()
        self._wake = threading.Event()  # ends a backoff wait early: stop, or a new target
        self._thread: threading.Thread | None = None
        self._meter = RateMeter()
        self._srt: SrtStats | None = None
        self._links = links or LinkMemory()  # shared by an output's layers: one path
        self._latency: LatencyChoice | None = None
        self._filter = ""
        self._retunes = 0
        self._retuned_at = float("-inf")
        self._retune_now = False
        self._connects = self._rejects = self._send_errors = self._skipped = 0
        # Counted by reason, not read off the state: the state moves on (a retarget wakes a
        # refused layer at once), while whoever watches for a kind of refusal must see each.
        self._refusals: dict[int, int] = {}

    # -- the encoder's side --------------------------------------------------------------

    def offer(self, unit: LayerUnit) -> None:
        """Queue `unit` for sending; never blocks. Ignored while not connected."""
        if self._accepting:
            self._queue.put(unit)

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        if self._stopping.is_set():
            raise RuntimeError("a stopped sender cannot be restarted; make a new one")
        self._thread = threading.Thread(target=self._run, name=f"send:{self.layer}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Send what is queued, let the link deliver it, close, and join the thread.

        Live mode throws away whatever is in flight on close, so a clean stop first waits
        (at most `_DRAIN_S`) for the peer to have it; a hung send is woken by closing. A
        connect in progress finishes first (libsrt cannot interrupt it): up to the
        profile's connect timeout.
        """
        self._stopping.set()
        self._wake.set()
        self._queue.close()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(_DRAIN_S + 0.5)
            conn = self._conn
            if thread.is_alive() and conn is not None:
                conn.close()  # wakes a blocked send
            thread.join(timeout)
            if thread.is_alive():
                log.warning("sender %s did not stop within %.1f s", self.layer, timeout)
        self._state = LinkState(LinkPhase.STOPPED)

    def retarget(self, target: SrtTarget) -> None:
        """Use `target` from the next connection on; a waiting sender retries at once if it
        changed. A connection that is up stays: the listener checked it when it connected.

        The same target again changes nothing, so asking the owner of the credentials after
        every refusal never turns the slow schedule for refusals into a fast loop.
        """
        if target == self.target:
            return
        self.target = target
        self._wake.set()

    def reconnect_now(self) -> None:
        """End a backoff wait at once: after a suspend the listener may long be back. A live
        connection stays; if the suspend killed it, the ACK watch finds out within a second."""
        self._wake.set()

    @property
    def state(self) -> LinkState:
        return self._state

    def stats(self) -> SenderStats:
        reading = self._meter.reading(time.monotonic())
        return SenderStats(
            layer=self.layer,
            state=self._state,
            connects=self._connects,
            rejects=self._rejects,
            refusals=dict(self._refusals),  # a copy: the thread counts on
            fps=reading.fps,
            kbps=reading.kbps,
            frames_sent=self._meter.count,
            bytes_sent=self._meter.total_bytes,
            queue_drops=self._queue.dropped,
            send_errors=self._send_errors,
            skipped_for_idr=self._skipped,
            srt=self._srt,
            latency=self._latency,
            packet_filter=self._filter,
            retunes=self._retunes,
        )

    # -- the thread ----------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stopping.is_set():
            conn = self._open()
            if conn is None:
                continue
            started = time.monotonic()
            try:
                reason = self._pump(conn)
            except Exception as exc:  # a bug must not end the sender: reconnect instead
                log.exception("sender %s failed", self.layer)
                reason = f"unexpected error: {exc!r}"
            finally:
                self._accepting = False
                if self._stopping.is_set():
                    with contextlib.suppress(SrtError):
                        conn.drain(_DRAIN_S)
                self._conn = None
                conn.close()
            if self._stopping.is_set():
                break
            if self._retune_now:  # our own choice, not a failure: at once
                self._retune_now = False
                log.info("layer %s: %s", self.layer, reason)
                continue
            if time.monotonic() - started >= _PROVEN_S:
                self._backoff.reset()
            log.warning("layer %s: %s; reconnecting", self.layer, reason)
            self._wait(LinkPhase.RETRYING, reason, self._backoff.next())

    def _open(self) -> SrtConnection | None:
        """Connect once; on failure set the state, wait out the backoff and return None."""
        self._wake.clear()  # a retarget from now on wakes the wait after this attempt
        target = self.target
        self._state = LinkState(LinkPhase.CONNECTING, target.address)
        tried_at = time.monotonic()
        choice = self._choose_latency(target)
        try:
            options = replace(target.options(), latency_ms=choice.latency_ms)
            conn = self._connect(target.host, target.port, options)
        except SrtRejected as exc:
            self._refusals[exc.reason_code] = self._refusals.get(exc.reason_code, 0) + 1
            self._rejects += 1
            words = describe_reject(exc.reason_code)
            transient = exc.reason_code in TRANSIENT_REJECTS
            log.warning(
                "layer %s: %s refused the connection: %s", self.layer, target.address, words
            )
            phase = LinkPhase.RETRYING if transient else LinkPhase.REJECTED
            self._wait(phase, words, self._backoff.next(rejected=not transient), exc.reason_code)
            return None
        except SrtTimeout:
            # The attempt itself listened for the connect timeout: the backoff counts from its
            # start, so a listener that comes back is found within the cap, not cap + timeout.
            delay = max(0.0, self._backoff.next() - (time.monotonic() - tried_at))
            self._wait(LinkPhase.RETRYING, f"no answer from {target.address}", delay)
            return None
        except (SrtError, ValueError) as exc:
            self._wait(LinkPhase.RETRYING, str(exc), self._backoff.next())
            return None
        if self._stopping.is_set():
            conn.close()
            return None
        self._links.handshake(target.address, time.monotonic() - tried_at)
        self._connects += 1
        self._conn = conn
        self._latency = choice
        try:
            self._filter = conn.packet_filter
        except SrtError:
            self._filter = ""
        log.info("layer %s connected to %s, SRT latency %s", self.layer, target.address, choice.why)
        return conn

    def _choose_latency(self, target: SrtTarget) -> LatencyChoice:
        if target.latency_ms is not None:
            return LatencyChoice(target.latency_ms, f"{target.latency_ms} ms: set by hand")
        profile = target.profile
        return self._links.choose(
            target.address, profile.latency_ms, f"{profile.name} profile, no RTT measured yet"
        )

    def _wait(self, phase: LinkPhase, detail: str, delay: float, code: int | None = None) -> None:
        self._state = LinkState(phase, detail, code, time.monotonic() + delay)
        # Checked after `_open` cleared the wake-up, and stop() sets `_stopping` first: a
        # stop can never be slept through.
        if not self._stopping.is_set():
            self._wake.wait(delay)

    def _pump(self, conn: SrtConnection) -> str:
        """Send units until the link breaks or we stop; why it ended."""
        muxer = TsMuxer(audio_channels=self._audio_channels)
        while self._queue.get_nowait() is not None:
            pass  # nothing from an earlier connection
        dropped = self._queue.dropped
        self._accepting = True
        self._request_keyframe()
        waiting_for_idr = True
        self._state = LinkState(LinkPhase.CONNECTED, "waiting for a keyframe")
        next_stats = next_acks = connected_at = time.monotonic()
        acks = AckSilence(self.target.profile.ack_silence_ms / 1000)
        while True:
            # After stop the queue is closed: send what is left in it, then end.
            unit = self._queue.get(timeout=0.2)
            if unit is None and self._stopping.is_set():
                return "stopped"
            now = time.monotonic()
            if now >= next_stats:
                next_stats = now + _STATS_EVERY_S
                self._read_stats(conn)
                retune = self._retune(now - connected_at, now)
                if retune is not None:
                    return retune
            if now >= next_acks:
                next_acks = now + _ACKS_EVERY_S
                if self._listener_gone(conn, acks, now):
                    return f"no answer from the listener for {acks.silent_for(now):.1f} s"
            if unit is None:
                continue
            if self._queue.dropped != dropped:  # the link fell behind: references are gone
                dropped = self._queue.dropped
                if not waiting_for_idr:
                    waiting_for_idr = True
                    self._request_keyframe()
            if waiting_for_idr:
                if unit.video is None or not unit.video.idr:
                    self._skipped += 1
                    continue
                waiting_for_idr = False
                self._state = LinkState(LinkPhase.CONNECTED)
            data = muxer.mux(unit)
            try:
                conn.send(data)
            except SrtTimeout:
                # Part of the unit may have gone out: resynchronise on the next IDR.
                self._send_errors += 1
                waiting_for_idr = True
                self._request_keyframe()
                continue
            except (SrtConnectionLost, SrtClosed):
                return "connection lost"
            if unit.video is not None:
                self._meter.add(time.monotonic(), len(data))
            else:
                self._meter.add_bytes(time.monotonic(), len(data))

    def _listener_gone(self, conn: SrtConnection, acks: AckSilence, now: float) -> bool:
        try:
            totals = conn.stats()
        except SrtError:
            return False  # the link is going; the next send will say so
        acks.update(now, totals.pkt_sent, totals.pkt_recv_ack)
        return acks.dead(now)

    def _read_stats(self, conn: SrtConnection) -> None:
        try:
            srt = conn.stats(clear=True)
        except SrtError:  # the link is going; the next send will say so
            return
        self._srt = srt
        self._links.measured(
            self.target.address, srt.rtt_ms, srt.interval_pkt_sent, srt.interval_pkt_snd_loss
        )

    def _retune(self, connected_for: float, now: float) -> str | None:
        """Why to reconnect with another latency (the link asks for a clearly different
        one than this connection's), or None."""
        current = self._latency
        if current is None or connected_for < _SETTLE_S:
            return None
        if now - self._retuned_at < _RETUNE_EVERY_S:
            return None
        wanted = self._choose_latency(self.target)
        if not should_retune(current.latency_ms, wanted):
            return None
        self._retuned_at = now
        self._retunes += 1
        self._retune_now = True
        return f"reconnecting for SRT latency {wanted.why} (was {current.latency_ms} ms)"
