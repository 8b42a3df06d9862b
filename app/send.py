"""`returnfeed send`: sources -> program clock -> simulcast encoder -> SRT, headless.

The same pipeline the desktop app runs, without the UI: for a machine with no screen, for
demos (`--cycle` cuts through the sources), and for tests against a real listener.
Secrets: prefer the environment (RETURNFEED_SRT_PASSPHRASE, RETURNFEED_PUBLISH_TOKEN) to
options, because every user on the machine can read a process's arguments.

With `--cloud URL` (the backend) and the session owner's login in RETURNFEED_EMAIL and
RETURNFEED_PASSWORD (renewed for as long as it runs), or just an access token in
RETURNFEED_DIRECTOR_TOKEN (good until it expires), never as options, it also joins the
session's relay as the
desktop app's Go Live does and answers viewers' keyframe requests (app/keyframes.py), so a
viewer that joins gets its first frame at once instead of at the next scheduled IDR; and a
layer refused for its credentials (1403: the publish token expired or was rotated; 10: the
passphrase was rotated) gets the session's credentials fetched again with that token and
retries with them (app/srt_renewal.py).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from app.director_token import EMAIL_ENV, PASSWORD_ENV, DirectorToken
from app.engine.sources import AudioSpec, BadSourceSpec, build_audio, source_audio
from app.keyframes import KeyframeLink, relay_url
from app.session_link.cloud_api import CloudError
from app.srt_renewal import CredentialRenewal, fetch_credentials
from app.srt_targets import TargetError, layer_targets, publish_streamid
from media.audio.click import ClickSource
from media.audio.mixer import AudioMixer, ChannelSettings
from media.audio.source import AudioSource
from media.clock import ClockConfig, ProgramClock
from media.encode.config import DEFAULT_LAYERS, EncoderConfig
from media.encode.errors import EncoderUnavailable
from media.genlock import GenlockStatus
from media.send.output import LayerStats, OutputStats, SimulcastOutput
from media.send.target import PROFILES, LatencyProfile, SrtTarget, fec_config
from media.sources.base import ThreadedSource
from media.sources.camera import CameraSource
from media.sources.file import FileSource
from media.sources.ndi import NdiConfig, NdiSource
from media.sources.syncflash import SyncFlashSource
from media.sources.testpattern import TestPatternSource
from media.switcher import SwitcherState

PASSPHRASE_ENV = "RETURNFEED_SRT_PASSPHRASE"  # noqa: S105 - the variable's name
TOKEN_ENV = "RETURNFEED_PUBLISH_TOKEN"  # noqa: S105 - the variable's name
DIRECTOR_TOKEN_ENV = "RETURNFEED_DIRECTOR_TOKEN"  # noqa: S105 - the variable's name
MAX_LATENCY_MS = 5000  # the backend's --srt-latency-ms takes the same range


class SendError(Exception):
    """A setting that cannot work; the message is for the person at the terminal."""


@dataclass(frozen=True)
class RelayPlan:
    """Where viewers' keyframe requests come from: the session's relay, as its director."""

    url: str
    token: DirectorToken = field(repr=False)


@dataclass(frozen=True)
class Renewal:
    """How `--cloud` gets fresh credentials after a 1403 or a 10: GET the session's SRT
    credentials as its director, and rebuild the targets of the layers named by session and
    token."""

    cloud_url: str
    session_id: str
    token: DirectorToken = field(repr=False)
    # (token, passphrase, srt_url: the session's ingest now, None: --srt-url)
    targets: Callable[[str, str | None, str | None], dict[str, SrtTarget]]


@dataclass(frozen=True)
class SendPlan:
    sources: tuple[ThreadedSource, ...]
    targets: dict[str, SrtTarget]
    config: EncoderConfig
    cycle_s: float | None
    duration_s: float | None
    relay: RelayPlan | None = None
    renewal: Renewal | None = None
    audio: tuple[AudioSource, ...] = ()  # inputs of their own, always live
    genlock: str | None = None  # the source the program clock locks to; None free-runs


_KINDS = "test, ndi, file, camera, noisy, sync"


def make_source(spec: str, ndi: NdiConfig, position: int = 1) -> ThreadedSource:
    """test:NAME, ndi:NDI NAME, file:PATH, camera:DEVICE; noisy:NAME, the test pattern
    under moving grain (hard content: the encoder at its real bitrate, for benchmarks);
    sync:NAME, the lip-sync test (a white frame and a click together once a second,
    bench/av_sync.py)."""
    kind, _, rest = spec.partition(":")
    if not rest:
        raise SendError(f"--source {spec!r}: expected KIND:VALUE ({_KINDS})")
    if kind == "test":
        return TestPatternSource(rest, tone_hz=440.0 * position)  # a pitch each, heard on cuts
    if kind == "noisy":
        return TestPatternSource(rest, grain=True, tone_hz=440.0 * position)
    if kind == "ndi":
        return NdiSource(rest, rest, config=ndi)
    if kind == "file":
        return FileSource(Path(rest).stem or rest, rest)
    if kind == "camera":
        return CameraSource(Path(rest).name or rest, rest)
    if kind == "sync":
        return SyncFlashSource(rest)
    raise SendError(f"--source {spec!r}: unknown kind {kind!r} ({_KINDS})")


def _audio_inputs(specs: list[str], taken: set[str]) -> tuple[AudioSource, ...]:
    inputs: list[AudioSource] = []
    for text in specs:
        try:
            spec = AudioSpec.parse(text)
        except BadSourceSpec as exc:
            raise SendError(f"--audio {text!r}: {exc}") from exc
        name, n = spec.name, 2
        while name in taken:
            name, n = f"{spec.name}-{n}", n + 1
        taken.add(name)
        inputs.append(build_audio(spec, name))
    return tuple(inputs)


def plan(args: Any, env: dict[str, str]) -> SendPlan:
    """Check every setting before anything starts."""
    names = [n.strip() for n in args.layers.split(",") if n.strip()]
    known = {layer.name: layer for layer in DEFAULT_LAYERS}
    if not names or any(n not in known for n in names) or len(set(names)) != len(names):
        raise SendError(f"--layers: a comma-separated subset of {', '.join(known)}")
    passphrase = args.passphrase or env.get(PASSPHRASE_ENV) or None
    token = args.publish_token or env.get(TOKEN_ENV) or None
    publish = publish_streamid(args.session, token)

    def streamid(layer: str) -> str:
        raw: str | None = getattr(args, f"streamid_{layer}")
        if raw:
            return raw
        if not args.session or not token:
            raise SendError(
                f"layer {layer}: give --session and a publish token ({TOKEN_ENV} or "
                f"--publish-token), or a raw --streamid-{layer}"
            )
        return publish(layer)

    profile = None if args.profile == "auto" else PROFILES[args.profile]
    if args.latency_ms is not None and not 0 <= args.latency_ms <= MAX_LATENCY_MS:
        raise SendError(f"--latency-ms: 0..{MAX_LATENCY_MS} (leave it out to follow the link)")
    try:
        fec = fec_config(getattr(args, "srt_fec", "off") or "off")
    except ValueError as exc:
        raise SendError(str(exc)) from exc
    try:
        targets = layer_targets(
            args.srt_url,
            names,
            streamid,
            passphrase,
            profile=profile,
            latency_ms=args.latency_ms,
            packet_filter=fec,
        )
    except TargetError as exc:
        raise SendError(f"--srt-url: {exc}" if exc.part == "url" else str(exc)) from exc
    relay = _relay_plan(args, env)
    renewal = _renewal(args, names, profile, relay, fec)
    ndi = NdiConfig(extra_ips=tuple(ip.strip() for ip in args.ndi_extra_ips.split(",") if ip))
    sources = tuple(
        make_source(spec, ndi, n) for n, spec in enumerate(args.source or ["test:Test"], start=1)
    )
    audio = _audio_inputs(args.audio, {s.name for s in sources})
    if len({s.name for s in sources}) != len(sources):
        raise SendError("two sources have the same name")
    if args.idr_interval is not None and not 0.1 <= args.idr_interval <= 60:
        raise SendError("--idr-interval: between 0.1 and 60 seconds")
    layers = tuple(known[n] for n in names)
    if args.idr_interval is not None:
        layers = tuple(replace(layer, keyint_s=args.idr_interval) for layer in layers)
    config = EncoderConfig(layers=layers, encoder=args.encoder)
    genlock = _genlock(getattr(args, "genlock", None), [s.name for s in sources])
    return SendPlan(
        sources, targets, config, args.cycle, args.duration, relay, renewal, audio, genlock
    )


def _genlock(choice: str | None, names: list[str]) -> str | None:
    if choice is None:
        return names[0]
    if choice == "off":
        return None
    if choice not in names:
        raise SendError(f"--genlock: a source's name ({', '.join(names)}) or off, not {choice!r}")
    return choice


def _renewal(
    args: Any,
    names: list[str],
    profile: LatencyProfile | None,
    relay: RelayPlan | None,
    fec: str | None = None,
) -> Renewal | None:
    if relay is None:
        return None
    # Only layers named by session and token: a raw streamid is someone else's scheme.
    own = [n for n in names if not getattr(args, f"streamid_{n}")]

    def targets(token: str, passphrase: str | None, srt_url: str | None) -> dict[str, SrtTarget]:
        streamid = publish_streamid(args.session, token)
        return layer_targets(
            srt_url or args.srt_url,
            own,
            streamid,
            passphrase,
            profile=profile,
            latency_ms=args.latency_ms,
            packet_filter=fec,
        )

    return Renewal(args.cloud, args.session, relay.token, targets)


def _relay_plan(args: Any, env: dict[str, str]) -> RelayPlan | None:
    if not args.cloud:
        return None
    email, password = env.get(EMAIL_ENV), env.get(PASSWORD_ENV)
    access = env.get(DIRECTOR_TOKEN_ENV)
    if not access and not (email and password):
        raise SendError(
            f"--cloud: put the director's login in {EMAIL_ENV} and {PASSWORD_ENV} "
            f"(or an access token in {DIRECTOR_TOKEN_ENV})"
        )
    if not args.session:
        raise SendError("--cloud: give --session, the session whose relay to join")
    token = DirectorToken(args.cloud, access=access, email=email, password=password)
    try:
        return RelayPlan(relay_url(args.cloud, args.session), token)
    except ValueError as exc:
        raise SendError(f"--cloud: {exc}") from exc


class Cycler:
    """A state provider that cuts to the next source every `period` seconds."""

    def __init__(self, names: Sequence[str], period: float | None) -> None:
        self._names = list(names)
        self._period = period
        self._t0 = time.monotonic()

    def __call__(self) -> SwitcherState:
        n = len(self._names)
        index = 0
        if self._period and n > 1:
            index = int((time.monotonic() - self._t0) / self._period) % n
        return SwitcherState(program=self._names[index], preview=self._names[(index + 1) % n])


def run(plan_: SendPlan, out: TextIO, log: TextIO, *, as_json: bool = False) -> int:
    """Run until the duration ends, SIGTERM or Ctrl+C; 0 if every layer got connected."""
    names = [s.name for s in plan_.sources]
    audio = AudioMixer()
    for source in plan_.sources:
        sound = source_audio(source)
        if sound is not None:  # its own sound follows it, as in the switcher
            audio.add(sound, ChannelSettings(follow_video=source.name))
        if isinstance(source, SyncFlashSource):  # its click, on the flash's own tick
            click = ClickSource(f"click:{source.name}", flash=source)
            audio.add(click, ChannelSettings(follow_video=source.name))
    for sound in plan_.audio:
        audio.add(sound)
    clock = ProgramClock(Cycler(names, plan_.cycle_s), ClockConfig(), audio=audio)
    for source in plan_.sources:
        clock.add_source(source)
    clock.follow(plan_.genlock)
    try:
        output = SimulcastOutput(clock, plan_.targets, plan_.config)
    except EncoderUnavailable as exc:
        log.write(f"returnfeed send: {exc}\n")
        return 2
    choice = output.encoder.choice
    log.write(f"encoder: {choice.describe()}\n")
    link = None
    if plan_.relay is not None:
        link = KeyframeLink(plan_.relay.url, plan_.relay.token.source(), output, _noter(log))
    stop = threading.Event()
    started = time.monotonic()
    connected: set[str] = set()
    renewal = CredentialRenewal()
    genlock = clock.stats.genlock
    try:
        with _stop_on_sigterm(stop):
            for source in plan_.sources:
                source.start()
            audio.start()
            clock.start()
            output.start()
            if link is not None:
                link.start()
            while not stop.wait(_next_wait(started, plan_.duration_s)):
                stats = output.stats()
                connected |= {s.name for s in stats.layers if s.frames_sent}
                if plan_.renewal is not None and renewal.due(stats):
                    _renew(plan_.renewal, renewal, output, log)
                if output.encoder.choice != choice:  # a hardware encoder failed: say so
                    choice = output.encoder.choice
                    log.write(f"encoder: {choice.describe()}\n")
                now = clock.stats.genlock
                if (now.locked, now.note) != (genlock.locked, genlock.note):
                    genlock = now
                    log.write(f"genlock: {describe_genlock(now)}\n")
                for layer in stats.layers:
                    log.write(format_line(time.monotonic() - started, layer) + "\n")
                log.flush()
                if plan_.duration_s is not None and time.monotonic() - started >= plan_.duration_s:
                    break
    except KeyboardInterrupt:
        pass
    finally:
        if link is not None:
            link.stop()
        final = output.stats()
        output.stop()
        clock.stop()
        audio.stop()
        for source in plan_.sources:
            source.stop()
    connected |= {s.name for s in final.layers if s.frames_sent}
    if as_json:
        result = summary(final, time.monotonic() - started)
        result["encoder_why"] = output.encoder.choice.describe()
        result["genlock"] = asdict(clock.stats.genlock)
        if link is not None:
            result["keyframe_requests"] = link.requests
        json.dump(result, out, indent=2)
        out.write("\n")
    missing = sorted(set(plan_.targets) - connected)
    for name in missing:
        log.write(f"layer {name} never got through: {final.layer(name).state}\n")
    return 1 if missing else 0


def _renew(renewal: Renewal, when: CredentialRenewal, output: SimulcastOutput, log: TextIO) -> None:
    """A layer was refused for its credentials (or an earlier fetch failed): fetch them
    again (the backend renews an expiring token) and retry with them. Blocks this stats
    loop for the request only (the encoder and senders run on their own threads)."""
    try:
        access = renewal.token.get()
        srt = asyncio.run(fetch_credentials(renewal.cloud_url, access, renewal.session_id))
        # With several backend processes the ingest may have moved (docs/scale.md).
        targets = renewal.targets(srt.publish_token, srt.passphrase, srt.srt_url)
    except (CloudError, TargetError) as exc:
        retry_in = when.failed(exc)
        # The layers keep retrying meanwhile; a login that ended waits for the next refusal
        # (retrying cannot cure it).
        again = f"; again in {retry_in:.1f} s" if retry_in is not None else ""
        log.write(f"returnfeed send: credentials not fetched again: {exc}{again}\n")
        return
    when.renewed()
    log.write(
        "returnfeed send: refused or unreachable; fetched the session's SRT credentials again\n"
    )
    output.retarget(targets)


def _noter(log: TextIO) -> Callable[[str], None]:
    lock = threading.Lock()  # the link notes from its own thread

    def note(text: str) -> None:
        with lock:
            log.write(f"returnfeed send: {text}\n")
            log.flush()

    return note


def _next_wait(started: float, duration: float | None) -> float:
    elapsed = time.monotonic() - started
    tick = 1.0 - elapsed % 1.0
    if duration is not None:
        tick = min(tick, max(0.0, duration - elapsed))
    return tick


@contextmanager
def _stop_on_sigterm(stop: threading.Event) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return

    def handler(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def describe_genlock(status: GenlockStatus) -> str:
    if status.locked:
        return (
            f"locked to {status.reference}: its pictures wait {status.wait_ms:.1f} ms "
            f"for their tick (margin {status.margin_ms:.1f} ms)"
        )
    return f"{status.reference or 'none'}: {status.note}"


def format_line(elapsed: float, s: LayerStats) -> str:
    """One compact line per layer per second."""
    line = (
        f"[{elapsed:6.1f}s] {s.name:<2} {s.width}x{s.height} {s.fps:5.1f} fps "
        f"{s.kbps:6.0f} kbps enc {s.encode_ms_p50:.1f}/{s.encode_ms_p99:.1f} ms "
        f"drop q{s.queue_drops} s{s.send_drops} srt{s.srt_drops}"
    )
    if s.rtt_ms is not None:
        line += (
            f" rtt {s.rtt_ms:.1f} ms loss {s.loss_pct or 0:.1f}% retx {s.retransmits}"
            f" bw {s.bandwidth_mbps or 0:.0f} Mbps"
        )
    if s.latency_why:
        line += f" | latency {s.latency_why}"
        if s.packet_filter:
            line += " +FEC"
    return f"{line} | {s.state}"


def summary(stats: OutputStats, elapsed: float) -> dict[str, Any]:
    layers = {}
    for layer in stats.layers:
        item = asdict(layer)
        item["phase"] = layer.phase.value
        layers[layer.name] = item
    return {
        "encoder": stats.encoder,
        "duration_s": round(elapsed, 3),
        "ticks": stats.ticks,
        "layers": layers,
    }


def main(args: Any) -> int:
    try:
        plan_ = plan(args, dict(os.environ))
    except SendError as exc:
        print(f"returnfeed send: {exc}", file=sys.stderr)
        return 2
    log = sys.stderr if args.json else sys.stdout
    return run(plan_, sys.stdout, log, as_json=args.json)
