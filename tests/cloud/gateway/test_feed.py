"""A viewer's tap: starts at an IDR, switches only at the wanted layer's IDR, keeps PTS
increasing, drops (and counts) when it falls behind, and never blocks the publisher."""

from __future__ import annotations

import asyncio
import itertools

from cloud.gateway.feed import SessionFeed, Tap
from cloud.gateway.opus import OpusFramingError, split_opus
from cloud.gateway.units import Ring, Unit

HI_STEP = 1500  # 60 fps at 90 kHz
LO_STEP = 3000


def v(layer: str, pts: int, idr: bool = False) -> Unit:
    return Unit("video", layer, pts, b"\x00\x00\x00\x01" + bytes([0x65 if idr else 0x41]), idr)


def a(layer: str, pts: int) -> Unit:
    return Unit("audio", layer, pts, b"opus")


class Asks:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def __call__(self, layer: str, reason: str) -> None:
        self.calls.append((layer, reason))


def drained(tap: Tap) -> list[Unit]:
    out: list[Unit] = []
    while len(tap.video):
        unit = asyncio.run(tap.video.get())
        assert unit is not None
        out.append(unit)
    return out


def test_starts_at_the_first_idr_and_ignores_the_other_layer() -> None:
    tap = Tap("hi", Asks())
    for unit in [v("hi", 0), v("lo", 0, idr=True), a("hi", 0), v("hi", 1500, idr=True)]:
        tap.offer(unit)
    tap.offer(v("hi", 3000))
    tap.offer(v("lo", 3000))
    assert [(u.layer, u.pts, u.idr) for u in drained(tap)] == [
        ("hi", 1500, True),
        ("hi", 3000, False),
    ]
    assert len(tap.audio) == 0, "no audio before the picture starts"


def test_switch_waits_for_the_wanted_layers_idr_and_pts_keep_increasing() -> None:
    asks = Asks()
    switches: list[tuple[str | None, str]] = []
    tap = Tap("hi", asks, lambda old, new: switches.append((old, new)))
    tap.offer(v("hi", 0, idr=True))
    tap.want("lo", "quality")
    assert asks.calls == [("lo", "quality")]
    tap.offer(v("hi", 1500))
    tap.offer(v("lo", 1500))  # not an IDR: keep hi
    tap.offer(v("hi", 3000))
    tap.offer(a("hi", 3000))
    # lo's IDR for the instant hi already sent: switch, moved on one tick past it (a whole
    # frame would make the browser hold every later frame that much longer).
    tap.offer(v("lo", 3000, idr=True))
    tap.offer(a("lo", 3000))  # lo's packet of the instant hi's already covered: dropped
    tap.offer(v("hi", 4500))  # the old layer is ignored now
    tap.offer(a("hi", 4800))  # its audio too
    tap.offer(v("lo", 6000))
    tap.offer(a("lo", 4800))
    got = [(u.layer, u.pts) for u in drained(tap)]
    assert got == [("hi", 0), ("hi", 1500), ("hi", 3000), ("lo", 3001), ("lo", 6001)]
    assert switches == [(None, "hi"), ("hi", "lo")]
    assert tap.switches == 1
    audio = []
    while len(tap.audio):
        unit = asyncio.run(tap.audio.get())
        assert unit is not None
        audio.append(unit.pts)
    # The audio keeps its own offset through a switch: the video's one tick is not a whole
    # 48 kHz sample, and moving the audio by it would step its RTP timestamps.
    assert audio == [3000, 4800]


def test_a_switch_idr_far_behind_waits_for_the_next() -> None:
    tap = Tap("hi", Asks())
    tap.offer(v("hi", 0, idr=True))
    for pts in range(1500, 30_000, 1500):
        tap.offer(v("hi", pts))
    tap.want("lo", "quality")
    tap.offer(v("lo", 3000, idr=True))  # 300 ms behind: not this one
    assert tap.active == "hi"
    tap.offer(v("lo", 30_000, idr=True))
    assert tap.active == "lo"


def audio_of(tap: Tap) -> list[tuple[str, int]]:
    return [(u.layer, u.pts) for u in asyncio.run(_all(tap.audio))]


def test_audio_comes_from_the_active_layer_only() -> None:
    tap = Tap("hi", Asks())
    tap.offer(v("hi", 0, idr=True))
    for pts in (1800, 3600):
        tap.offer(a("hi", pts))
        tap.offer(a("lo", pts))
    tap.offer(a("lo", 5400))  # lo's sound is not hi's (mono, a third of the rate): never
    tap.offer(a("hi", 5400))
    assert audio_of(tap) == [("hi", 1800), ("hi", 3600), ("hi", 5400)]


def test_a_switch_changes_the_audio_at_the_next_packet_with_no_gap_or_repeat() -> None:
    """Whichever link is ahead, the viewer hears every 20 ms once: lo's packets that came
    before lo's IDR are taken at the switch, hi's that come after it are not."""
    for lo_ahead in (False, True):
        tap = Tap("hi", Asks())
        tap.offer(v("hi", 0, idr=True))
        tap.offer(a("hi", 1800))
        tap.want("lo", "quality")
        if lo_ahead:  # lo's link delivers its packets of the next 40 ms before its IDR
            tap.offer(a("lo", 1800))
            tap.offer(a("lo", 3600))
            tap.offer(a("lo", 5400))
        tap.offer(a("hi", 3600))
        tap.offer(v("hi", 1500))
        tap.offer(v("hi", 3000))
        tap.offer(v("lo", 3000, idr=True))  # the switch
        tap.offer(a("hi", 5400))  # late hi audio: lo's sound now
        tap.offer(a("hi", 7200))
        if not lo_ahead:
            tap.offer(a("lo", 3600))  # went out from hi already: not again
            tap.offer(a("lo", 5400))
        tap.offer(a("lo", 7200))
        got = audio_of(tap)
        assert [pts for _, pts in got] == [1800, 3600, 5400, 7200], lo_ahead
        assert [layer for layer, _ in got] == ["hi", "hi", "lo", "lo"], lo_ahead


def test_the_new_layers_audio_that_came_before_the_switch_was_asked_for_is_kept() -> None:
    """lo's link ahead of hi's, and lo's IDR right after the viewer asks for lo: lo's packet
    of the next instant came before anyone wanted lo, and hi's copy comes after the switch."""
    tap = Tap("hi", Asks())
    tap.offer(v("hi", 0, idr=True))
    tap.offer(a("hi", 1800))
    tap.offer(a("lo", 3600))  # early: hi's 3600 is still on its way
    tap.want("lo", "quality")
    tap.offer(v("hi", 1500))
    tap.offer(v("lo", 3000, idr=True))  # the switch
    tap.offer(a("hi", 3600))  # too late: lo's went out
    tap.offer(a("lo", 5400))
    assert audio_of(tap) == [("hi", 1800), ("lo", 3600), ("lo", 5400)]


def test_the_audio_follows_the_videos_offset_in_whole_opus_frames() -> None:
    """A switch whose IDR is a whole frame behind moves the video on by that much; the audio
    stays continuous until the video is a whole Opus frame (20 ms) ahead of it, then steps
    by exactly one frame, so the sound never leads the picture by more than 20 ms."""
    tap = Tap("hi", Asks())
    tap.offer(v("hi", 0, idr=True))
    sent: list[int] = []
    audio_pts = 0
    for switch, layer in enumerate(["lo", "hi", "lo"]):
        tap.want(layer, "quality")
        base = 30_000 * (switch + 1)
        tap.offer(v(tap.active or "", base))
        tap.offer(v(tap.active or "", base + HI_STEP))
        tap.offer(v(layer, base, idr=True))  # a frame behind what went out: offset + 1501
        while audio_pts + 1800 < base + 9000:
            audio_pts += 1800
            tap.offer(a(layer, audio_pts))
        sent += [u.pts for u in asyncio.run(_all(tap.audio))]
    steps = [b - a for a, b in itertools.pairwise(sent)]
    # Three switches a frame behind: the video moved on 3 x 1501 = 4503 ticks, the audio
    # twice by one Opus frame (after the second and the third), never in between.
    assert set(steps) == {1800, 3600}
    assert steps.count(3600) == 2
    assert tap._offset - tap._audio_offset == 4503 - 3600


def test_overflow_drops_counts_and_resumes_at_the_next_idr() -> None:
    asks = Asks()
    tap = Tap("hi", asks, video_size=4)
    tap.offer(v("hi", 0, idr=True))
    for i in range(1, 6):
        tap.offer(v("hi", i * HI_STEP))
    assert tap.video.dropped >= 4
    assert ("hi", "viewer_overflow") in asks.calls
    tap.offer(v("hi", 6 * HI_STEP))  # not an IDR: skipped
    tap.offer(v("hi", 7 * HI_STEP, idr=True))
    tap.offer(v("hi", 8 * HI_STEP))
    assert [u.idr for u in drained(tap)] == [True, False]


def test_a_restarted_publisher_continues_the_viewers_timeline() -> None:
    feed = SessionFeed("s")
    tap = Tap("hi", Asks())
    feed.taps.add(tap)
    feed.publisher_up("hi", "p")
    feed.publish(v("hi", 900_000, idr=True))
    feed.publish(v("hi", 901_500))
    feed.publisher_down("hi")
    assert tap.active is None
    feed.publisher_up("hi", "p2")
    feed.publish(v("hi", 9000))  # mid-GOP: wait
    feed.publish(v("hi", 10_500, idr=True))
    feed.publish(v("hi", 12_000))
    feed.publish(a("hi", 12_000))
    pts = [u.pts for u in drained(tap)]
    assert pts == sorted(pts) and len(pts) == 4
    assert pts[3] - pts[2] == 1500


def test_losing_the_active_layer_moves_to_the_other() -> None:
    asks = Asks()
    feed = SessionFeed("s")
    tap = Tap("hi", asks)
    feed.taps.add(tap)
    feed.publisher_up("hi", "p")
    feed.publisher_up("lo", "p")
    feed.publish(v("hi", 0, idr=True))
    feed.publisher_down("hi")
    assert ("lo", "layer_gone") in asks.calls
    feed.publish(v("lo", 3000, idr=True))
    assert [u.layer for u in drained(tap)] == ["hi", "lo"]


def test_a_tap_joining_starts_from_a_fresh_cached_idr_and_the_frames_after_it() -> None:
    feed = SessionFeed("s")
    feed.publisher_up("hi", "p")
    feed.publish(v("hi", 0))  # no IDR before it: nothing to start from
    assert feed.join(Tap("hi", Asks())) is False
    for unit in [v("hi", 1500, idr=True), v("lo", 1500, idr=True), v("hi", 3000), a("hi", 3000)]:
        feed.publish(unit)
    tap = Tap("hi", Asks())
    assert feed.join(tap) is True
    feed.publish(v("hi", 4500))
    assert [(u.pts, u.idr) for u in drained(tap)] == [(2999, True), (3000, False), (4500, False)]
    # A tap that wants lo starts from lo's cached IDR, not from hi's.
    lo = Tap("lo", Asks())
    assert feed.join(lo) is True
    assert [(u.layer, u.pts) for u in drained(lo)] == [("lo", 1500)]


def test_a_replayed_gop_is_squashed_up_to_the_newest_frame_and_audio_follows_live() -> None:
    feed = SessionFeed("s")
    feed.publisher_up("hi", "p")
    feed.publisher_up("lo", "p")
    start = 900_000
    feed.publish(v("hi", start, idr=True))
    feed.publish(v("lo", start, idr=True))
    for i in range(1, 12):  # ~0.2 s of GOP, with audio and lo in between
        feed.publish(v("hi", start + i * HI_STEP))
        if i % 2 == 0:
            feed.publish(v("lo", start + i * HI_STEP))
        if i % 2:
            feed.publish(a("hi", start + i * HI_STEP - 600))
    newest = start + 11 * HI_STEP
    taps = {layer: Tap(layer, Asks()) for layer in ("hi", "lo")}
    cached = {layer: len(feed.gops[layer].units) for layer in taps}
    assert all(feed.join(tap) for tap in taps.values())
    feed.publish(a("hi", newest + 600))
    feed.publish(a("lo", newest + 600))  # each tap takes its own layer's
    feed.publish(v("hi", newest + HI_STEP))
    feed.publish(v("lo", newest + HI_STEP))
    feed.publish(a("lo", newest + 2400))
    feed.publish(a("hi", newest + 2400))
    for layer, tap in taps.items():
        got = drained(tap)
        assert [u.layer for u in got] == [layer] * (cached[layer] + 1)
        replayed, live = got[:-1], got[-1]
        assert replayed[0].idr and not any(u.idr for u in replayed[1:])
        last = newest if layer == "hi" else start + 10 * HI_STEP
        # One tick apart, ending at the newest cached frame's own PTS; then live spacing.
        assert [u.pts for u in replayed] == list(range(last - len(replayed) + 1, last + 1))
        assert live.pts == newest + HI_STEP
        got_audio = asyncio.run(_all(tap.audio))
        assert {u.layer for u in got_audio} == {layer}
        audio = [u.pts for u in got_audio]
        # Audio is not replayed: it starts live, on the same (unshifted) timeline as video.
        assert audio == [newest + 600, newest + 2400]
        assert replayed[-1].pts < audio[0] < live.pts


async def _all(ring: Ring[Unit]) -> list[Unit]:
    out = []
    while len(ring):
        unit = await ring.get()
        assert unit is not None
        out.append(unit)
    return out


def test_a_stale_or_gone_idr_is_not_a_start() -> None:
    feed = SessionFeed("s")
    feed.publisher_up("hi", "p")
    feed.publish(v("hi", 0, idr=True))
    assert feed.join(Tap("hi", Asks()), fresh_s=0.0) is False  # older than allowed
    tap = Tap("hi", Asks())
    assert feed.join(tap, fresh_s=60.0) is True
    assert feed.idr_at("hi") is not None
    for i in range(1, 40):  # a long GOP: the cache gives up on it
        feed.publish(v("hi", i * HI_STEP))
    assert feed.idr_at("hi") is None
    assert feed.join(Tap("hi", Asks()), fresh_s=60.0) is False
    feed.publish(v("hi", 40 * HI_STEP, idr=True))
    feed.publisher_down("hi")
    assert feed.join(Tap("hi", Asks()), fresh_s=60.0) is False


def test_opus_control_headers_are_stripped() -> None:
    packet = bytes(range(40))
    framed = b"\x7f\xe0" + bytes([len(packet)]) + packet
    long = bytes(300)
    framed_long = b"\x7f\xe0\xff" + bytes([300 - 255]) + long
    assert split_opus(framed + framed_long) == [packet, long]
    for bad in (b"\x00\x01", b"\x7f\xe0", b"\x7f\xe0\x10abc"):
        try:
            split_opus(bad)
        except OpusFramingError:
            continue
        raise AssertionError(f"{bad!r} accepted")
