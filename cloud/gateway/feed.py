"""One session's live stream and its readers (MediaMTX's stream + reader, in asyncio).

The demux threads hand each unit to the loop (`call_soon_threadsafe`); `SessionFeed.publish`
offers it to every `Tap` with a non-blocking put, so a slow viewer never holds up the
publisher or another viewer: its ring overflows, the overflow is dropped and counted, and
that viewer resumes at the next IDR.

A tap sees both layers and delivers one: video only from its active layer, starting at an
IDR; a switch happens at the wanted layer's next IDR whose PTS is past the last one sent
(both layers share one 90 kHz timeline, so PTS keep increasing across switches). An IDR
whose PTS was already passed (lo's IDR arrives a frame after hi's frame of the same instant;
a restarted publisher starts its timeline again) moves the tap's PTS offset on: by one tick
for a switch, by a frame after a restart.

Audio comes from the active layer too: each layer carries its own Opus (hi stereo, lo mono
at a third of the rate), cut into the same 20 ms frames, so both layers' packets of an
instant have the same PTS. At a switch the audio changes layer at the next packet boundary:
the new layer's packets are taken from the first PTS past the last one sent, including any
that arrived just before the switch (the tap keeps the other layer's last few,
`AUDIO_AHEAD`), so nothing is lost or sent twice. Opus packets are independent and WebRTC's
Opus is always "opus/48000/2", so the browser's one decoder plays mono and stereo alike.

The audio's PTS offset is the video's, set when a timeline starts (the first IDR, a
restart); a switch does not move it, because the browser plays audio by RTP timestamp and
the tick a switch adds to the video is not a whole 48 kHz sample: moving the audio with it
would put a hole (or a 1-sample step) in the sound at every switch. A switch therefore
leaves the sound that tick (11 us) ahead of the picture, as the browser's lip sync sees it
(both tracks' sender reports sit on one PTS line: rtpsend.ReportClock). A switch whose IDR
came a frame or more late moves the picture on that much; once the video has moved a whole
Opus frame past the audio, the audio follows by exactly one frame (one 20 ms packet's
timestamps skipped, which the browser conceals), so the sound never leads by 20 ms or more.

Chromium plays by RTP timestamp, not by arrival: its receiver maps timestamps to its clock
from the frames it has seen, and a frame whose timestamp runs ahead of that mapping waits.
So every PTS a tap hands out must sit where real time is: a switch that moved the timeline
on by a whole frame would hold every later frame (and, through A/V sync, the audio) that
much longer.

Fast start: the feed keeps each layer's latest IDR and the frames after it (a GOP cache,
bounded). A tap that joins (`SessionFeed.join`) while that IDR is fresh starts from it at
once; otherwise it waits for the next IDR, which the gateway asks the director for. The
replayed units arrive as one burst, so they go out squashed: one tick apart, ending at the
newest one's own PTS. The browser decodes them at once and shows the newest, and its
timestamp-to-clock mapping starts from a frame that is live, not from the cached IDR's age.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from cloud.gateway._rtpout import Lane, Seat
from cloud.gateway.packetize import SHARED_PAYLOADS, PayloadCache
from cloud.gateway.units import LAYERS, Ring, Unit

log = logging.getLogger(__name__)

RESTART_GAP = 1500  # 1/60 s at 90 kHz: a restarted publisher's first IDR after the last frame
SWITCH_GAP = 1  # a switch IDR for an instant already sent goes one tick after it
MAX_SWITCH_STEP_BACK = 9000  # 100 ms: a switch IDR further behind waits for the next one
# A joining tap replays the cached IDR and what followed it only when the IDR is this young:
# the replay reaches the browser as a burst, and an old one would only add latency.
FRESH_IDR_S = 0.3
MAX_GOP_UNITS = 24  # 0.4 s of hi; a longer GOP is past FRESH_IDR_S anyway
OPUS_FRAME = 1800  # 20 ms at 90 kHz: every layer's Opus packets are this far apart
# The other layer's latest audio packets: the two layers come over two SRT links, so the new
# layer's packet for the instant after the last one sent may arrive before the IDR that
# switches (even before the switch is asked for). 200 ms: far more than two links of the
# same latency drift apart.
AUDIO_AHEAD = 10
KeyframeAsk = Callable[[str, str], None]  # (layer, reason)
SwitchSeen = Callable[[str | None, str], None]  # (from, to)
# Takes a unit straight to the viewer's socket when it can (True), else the ring queues it.
Sink = Callable[[Unit], bool]
# A track's seat (tap, audio?, offset, last PTS, last source PTS), or None: rtpsend's `seat`.
SeatMaker = Callable[["Tap", bool, int, int, int], Seat | None]
SYNC_S = 0.1  # how stale the seated tracks' counters (sender reports, getStats) may be


class Tap:
    """One viewer's view of a session: two rings (video, audio) and the layer logic."""

    def __init__(
        self,
        layer: str,
        ask_keyframe: KeyframeAsk,
        on_switch: SwitchSeen | None = None,
        video_size: int = 60,
        audio_size: int = 50,
    ) -> None:
        self.video: Ring[Unit] = Ring(video_size)
        self.audio: Ring[Unit] = Ring(audio_size)
        self.active: str | None = None  # the layer being delivered; None until the first IDR
        self.wanted = layer
        self.switches = 0
        self._ask = ask_keyframe
        self._on_switch = on_switch
        self._last_video_pts = -1
        self._last_audio_pts = -1
        self._last_audio_src = -1  # the publisher's PTS of the last audio packet taken
        self._resync = False  # after an overflow: skip video until the next IDR
        self._offset = 0  # added to PTS: moved on at a layer switch or a publisher restart
        self._audio_offset = 0  # the audio's: the video's, in whole Opus frames at a switch
        self._audio_ahead: deque[Unit] = deque(maxlen=AUDIO_AHEAD)
        # The viewer's send path, called while a ring is empty: a unit it takes never wakes
        # the ring's reader (a task per viewer and track), which with a few hundred viewers
        # cost more than the sending. Units it refuses queue in the ring as before.
        self.video_sink: Sink | None = None
        self.audio_sink: Sink | None = None
        # False for a viewer whose offer had no audio (a phone showing the picture only):
        # audio then never queues for it, so nothing fills its ring and counts as dropped.
        self.audio_wanted = True
        self.on_drop: Callable[[int], None] | None = None  # told at once of each loss
        # The viewer's tracks' seats in the feed's lanes (rtpsend's `seat`), asked for once
        # the tap is steady; `unseat` is the feed's, set while the tap is seated: a seated
        # tap's units go out in one C call for all seated viewers, not through `offer`.
        self.video_seat: SeatMaker | None = None
        self.audio_seat: SeatMaker | None = None
        self.unseat: Callable[[], None] | None = None

    def want(self, layer: str, reason: str) -> None:
        """Deliver `layer` from its next IDR on (asks the director for one)."""
        if layer not in LAYERS:
            raise ValueError(f"unknown layer {layer!r}")
        if layer == self.wanted:
            return
        if self.unseat is not None:
            self.unseat()  # the switch is this tap's own logic: back to `offer`
        self.wanted = layer
        if layer != self.active:
            self._ask(layer, reason)

    def offer(self, unit: Unit) -> None:
        if unit.kind == "audio":
            if not self.audio_wanted or self.active is None:
                return
            if unit.layer == self.active:
                self._take_audio(unit)
            else:  # kept even before a switch is wanted: its IDR may come at once
                self._audio_ahead.append(unit)
            return
        if unit.layer == self.wanted and self.wanted != self.active:
            if unit.idr:
                self._start(unit)
            return
        if unit.layer != self.active or unit.pts + self._offset <= self._last_video_pts:
            return
        if self._resync:
            if not unit.idr:
                self.video.dropped += 1  # the viewer misses it as surely as a dropped one
                self._lost(1)
                return
            self._resync = False
        self._deliver(unit)

    def _start(self, unit: Unit) -> None:
        """Begin delivering `unit.layer` at this IDR."""
        behind = self._last_video_pts - (unit.pts + self._offset)
        if behind >= 0:
            if self.active is not None and behind > MAX_SWITCH_STEP_BACK:
                return  # too far behind what was sent: wait for a later IDR
            # The wanted layer's IDR carries a PTS already sent: lo's IDR arrives a frame or
            # two after hi's frame of the same instant, and a restarted publisher begins its
            # timeline again. Move both video and audio on by the same amount so that the
            # browser sees time go on (A/V sync kept) instead of going back; for a switch by
            # as little as that takes, since the browser holds frames stamped ahead of time.
            gap = SWITCH_GAP if self.active is not None else RESTART_GAP
            self._offset = self._last_video_pts + gap - unit.pts
            if self.active is None:
                self._last_audio_src = -1  # a new timeline: its audio PTS start over too
        old, self.active = self.active, unit.layer
        if old is None:
            self._audio_offset = self._offset
        else:
            self.switches += 1
            # Follow the video only in whole Opus frames (see the module's docstring).
            behind = self._offset - self._audio_offset
            self._audio_offset += behind - behind % OPUS_FRAME
        if self._on_switch is not None:
            self._on_switch(old, unit.layer)
        self._resync = False
        self._deliver(unit)
        # The audio changes layer here: the new layer's packets that came early go first.
        ahead, self._audio_ahead = self._audio_ahead, deque(maxlen=AUDIO_AHEAD)
        if old is not None:
            for audio in ahead:
                if audio.layer == unit.layer:
                    self._take_audio(audio)

    def take_seats(self) -> tuple[Seat, Seat | None] | None:
        """Seats for the lanes of the active layer, if the tap is steady (its wanted layer
        delivered, nothing queued, no resync) and its tracks can take them; the seats carry
        the tap's PTS line on from where it is."""
        video, audio = self.video_seat, self.audio_seat
        if video is None or self.active is None or self.wanted != self.active or self._resync:
            return None
        if len(self.video) or len(self.audio) or self.video.closed:
            return None
        seat = video(self, False, self._offset, self._last_video_pts, -1)
        if seat is None or not self.audio_wanted:
            return (seat, None) if seat is not None else None
        if audio is None:
            return None
        sound = audio(self, True, self._audio_offset, self._last_audio_pts, self._last_audio_src)
        return (seat, sound) if sound is not None else None

    def left_seats(self, video: Seat, audio: Seat | None, recent: list[Unit]) -> None:
        """Back from the lanes: the PTS line goes on from where the seats left it, and the
        other layers' `recent` audio (the feed's) is what a switch may take first."""
        self._last_video_pts = video.last_pts
        if audio is not None:
            self._last_audio_pts = audio.last_pts
            self._last_audio_src = audio.last_src
        self._audio_ahead = deque(recent, maxlen=AUDIO_AHEAD)

    def layer_gone(self, layer: str, remaining: set[str]) -> None:
        """The publisher of `layer` left: go on with another live layer if there is one,
        else wait (video and audio) for the next IDR of the wanted layer."""
        if self.active != layer:
            return
        self.active = None
        if remaining:
            other = sorted(remaining)[0]
            self.wanted = other
            self._ask(other, "layer_gone")

    @staticmethod
    def _shifted(unit: Unit, offset: int) -> Unit:
        # Per viewer and unit once a switch or restart moved the offset: the constructor,
        # not dataclasses.replace, which looks the fields up each time (~4x slower).
        if not offset:
            return unit
        return Unit(unit.kind, unit.layer, unit.pts + offset, unit.data, unit.idr)

    def _take_audio(self, unit: Unit) -> None:
        """Send the active layer's audio packet unless its instant went out already (from
        the layer before a switch) or it would not move the viewer's timeline on."""
        if unit.pts <= self._last_audio_src:
            return
        shifted = self._shifted(unit, self._audio_offset)
        if shifted.pts <= self._last_audio_pts:
            return
        self._last_audio_src = unit.pts
        self._last_audio_pts = shifted.pts
        if self.audio.full:
            self._lost(1)  # the ring drops (and counts) its oldest
        self._put(self.audio, self.audio_sink, shifted)

    def _deliver(self, unit: Unit) -> None:
        if self.video.full:
            # A gap in H.264 breaks every frame until the next IDR: drop the whole backlog
            # and start again clean rather than decode garbage.
            lost = self.video.clear()
            self._resync = True
            self._ask(unit.layer, "viewer_overflow")
            if not unit.idr:
                self.video.dropped += 1
                self._lost(lost + 1)
                return
            self._lost(lost)
            self._resync = False
        shifted = self._shifted(unit, self._offset)
        self._last_video_pts = shifted.pts
        self._put(self.video, self.video_sink, shifted)

    @staticmethod
    def _put(ring: Ring[Unit], sink: Sink | None, unit: Unit) -> None:
        # Only past an empty ring: what is queued goes first.
        if sink is None or len(ring) or not sink(unit):
            ring.put(unit)

    def _lost(self, units: int) -> None:
        if self.on_drop is not None:
            self.on_drop(units)

    def close(self) -> None:
        if self.unseat is not None:
            self.unseat()
        self.video.close()
        self.audio.close()


@dataclass
class GopStart:
    """A layer's latest IDR (when it arrived, monotonic) and the video units since."""

    at: float
    units: list[Unit]


@dataclass
class SessionFeed:
    """A live session's layers (who publishes) and its taps. Lives on the event loop.

    A steady tap (its wanted layer delivered, nothing queued) is *seated*: its tracks sit in
    the lanes of its layer (`_rtpout.Lane`), and each unit goes to all seated viewers in one
    C call, which numbers, protects and sends it per viewer; only taps not seated go through
    `Tap.offer`. A seat leaves when its viewer's socket backs up or its DTLS or ICE pair
    changes (the lane says), when the tap wants another layer, its layer goes or it closes;
    the tap then goes on in `offer` from where its seats left its PTS line, and is seated
    again once steady.
    """

    session_id: str
    layers: dict[str, str] = field(default_factory=dict)  # layer -> publisher's address
    taps: set[Tap] = field(default_factory=set)
    units: int = 0
    gops: dict[str, GopStart] = field(default_factory=dict)  # layer -> its latest GOP start
    payloads: PayloadCache = field(default_factory=lambda: SHARED_PAYLOADS, repr=False)
    _seats: dict[Tap, tuple[Seat, Seat | None]] = field(default_factory=dict, repr=False)
    _lanes: dict[tuple[str, str], Lane] = field(default_factory=dict, repr=False)
    _recent_audio: dict[str, deque[Unit]] = field(default_factory=dict, repr=False)
    _synced: float = 0.0

    @property
    def live(self) -> bool:
        return bool(self.layers)

    @property
    def seated(self) -> int:
        """How many taps are seated."""
        return len(self._seats)

    def publish(self, unit: Unit) -> None:
        self.units += 1
        if unit.kind == "video":
            self._cache(unit)
        else:
            recent = self._recent_audio.get(unit.layer)
            if recent is None:
                recent = self._recent_audio[unit.layer] = deque(maxlen=AUDIO_AHEAD)
            recent.append(unit)
        lane = self._lanes.get((unit.layer, unit.kind))
        if lane:
            for seat in lane.send(unit.pts, self.payloads.payloads(unit)):
                self._left(seat)
        for tap in list(self.taps):
            if tap.unseat is None:  # not seated
                tap.offer(unit)
                self._seat(tap)
        now = time.monotonic()
        if now - self._synced >= SYNC_S:
            self._synced = now
            for lane in self._lanes.values():
                lane.sync()

    def leave(self, tap: Tap) -> None:
        """`tap`'s viewer has gone."""
        self._unseat(tap)
        self.taps.discard(tap)

    def _seat(self, tap: Tap) -> None:
        if tap.active is None or tap not in self.taps:
            return
        seats = tap.take_seats()
        if seats is None:
            return
        video, audio = seats
        self._lane(tap.active, "video").add(video)
        if audio is not None:
            self._lane(tap.active, "audio").add(audio)
        self._seats[tap] = seats
        tap.unseat = lambda: self._unseat(tap)

    def _lane(self, layer: str, kind: str) -> Lane:
        lane = self._lanes.get((layer, kind))
        if lane is None:
            lane = self._lanes[(layer, kind)] = Lane()
        return lane

    def _unseat(self, tap: Tap) -> None:
        seats = self._seats.pop(tap, None)
        tap.unseat = None
        if seats is None:
            return
        layer = tap.active or ""
        for seat, kind in zip(seats, ("video", "audio"), strict=True):
            if seat is not None:
                lane = self._lanes.get((layer, kind))
                if lane is not None:
                    lane.remove(seat)
                seat.sync()
        video, audio = seats
        recent = [u for other, units in self._recent_audio.items() if other != layer for u in units]
        tap.left_seats(video, audio, recent)

    def _left(self, seat: Seat) -> None:
        """A seat the lane let go (see `Lane.send`): its tap goes back to `offer`, which
        `publish` then hands the unit (a no-op if the seat had sent it: its PTS line is
        past it)."""
        tap = seat.owner
        if not isinstance(tap, Tap):
            return
        self._unseat(tap)
        if seat.error is not None:  # never into the fan-out: this viewer's track stops
            log.error("RTP send failed", exc_info=seat.error)
            (tap.audio if seat.audio else tap.video).close()

    def _cache(self, unit: Unit) -> None:
        if unit.idr:
            self.gops[unit.layer] = GopStart(time.monotonic(), [unit])
            return
        gop = self.gops.get(unit.layer)
        if gop is not None:
            if len(gop.units) < MAX_GOP_UNITS:
                gop.units.append(unit)
            else:
                del self.gops[unit.layer]  # too old to start anyone from

    def idr_at(self, layer: str) -> float | None:
        """When `layer`'s latest cached IDR arrived (monotonic), if one is cached."""
        gop = self.gops.get(layer)
        return gop.at if gop is not None else None

    def join(self, tap: Tap, fresh_s: float = FRESH_IDR_S) -> bool:
        """Add `tap`; True if it could start at once from a cached IDR younger than
        `fresh_s` (it gets that IDR and the frames since, squashed), False if it waits for
        the next."""
        self.taps.add(tap)
        gop = self.gops.get(tap.wanted)
        if gop is None or time.monotonic() - gop.at > fresh_s:
            return False
        for unit in squashed(gop.units):
            tap.offer(unit)
        return tap.active is not None

    def publisher_up(self, layer: str, peer: str) -> None:
        self.layers[layer] = peer

    def publisher_down(self, layer: str) -> None:
        self.layers.pop(layer, None)
        self.gops.pop(layer, None)
        self._recent_audio.pop(layer, None)
        for tap in list(self.taps):
            if tap.active == layer:
                self._unseat(tap)
            tap.layer_gone(layer, set(self.layers))


def squashed(units: list[Unit]) -> list[Unit]:
    """`units` (a cached IDR and the frames after it) restamped one tick apart, ending at the
    last one's own PTS: sent at once, they would otherwise tell the browser that the live
    frames after them are early by the IDR's age, and it would hold every one that long."""
    last = len(units) - 1
    return [
        replace(u, pts=units[-1].pts - (last - i)) if i < last else u for i, u in enumerate(units)
    ]
