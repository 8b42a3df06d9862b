"""`returnfeed-desktop` options, and the headless switcher: the same core, no Qt at all.

The window itself lives in ui/ (ui.main:main), which parses the same options and hands
`--headless` here before anything imports PySide6; app never imports ui.

    returnfeed-desktop [--headless] [--source SPEC ...] [--test-sources N] [--audio DEVICE ...]
                       [--control-port P | --no-control] [--control-token T]
                       [--ndi-extra-ips IP,IP] [--fps N] [--lang en|ko]
                       [--cloud URL (--session ID | --demo) [--no-qr]]

With `--cloud`, the app (headless or the window) signs in, goes live and prints the phone
and viewer links (app/cloud_live.py); `--demo` uses the demo director of app/demo.py.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import TextIO

from media.encode.config import EncoderConfig
from media.sources.ndi import NdiConfig

from .cloud_live import CloudLive, CloudOptions
from .engine.media import MediaConfig
from .engine.sources import AudioSpec, BadSourceSpec, SourceSpec, default_specs
from .runtime import DEFAULT_CONTROL_PORT, CoreStartError, Runtime, RuntimeConfig
from .session_link.vault import open_vault

log = logging.getLogger(__name__)

DEMO_CLOUD = "http://127.0.0.1:8000"


@dataclass(frozen=True, slots=True)
class DesktopOptions:
    headless: bool = False
    sources: tuple[SourceSpec, ...] = ()  # empty: the saved list, else test patterns
    audio: tuple[AudioSpec, ...] | None = None  # None: the saved inputs
    control: bool = True
    control_port: int = DEFAULT_CONTROL_PORT
    control_token: str | None = None
    ndi_extra_ips: tuple[str, ...] = ()
    fps: int = 60
    lang: str | None = None
    cloud: CloudOptions | None = None  # sign in, go live and print the links


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="returnfeed",
        description="ReturnFeed director's switcher: opens the window, or with --headless "
        "runs the same engine and control API without one.",
        epilog="Other commands: `returnfeed sources` lists NDI sources, cameras and audio "
        "devices; `returnfeed send` pushes the program over SRT without a UI. "
        "Each has its own --help.",
    )
    p.add_argument("--headless", action="store_true", help="no window: engine + control API only")
    p.add_argument(
        "--source",
        action="append",
        default=[],
        metavar="SPEC",
        help="a source: test:NAME, file:PATH, camera:DEVICE, ndi:NAME (=Label to name it)",
    )
    p.add_argument("--test-sources", type=int, metavar="N", help="N test patterns as sources")
    p.add_argument(
        "--audio",
        action="append",
        default=None,
        metavar="DEVICE",
        help="an audio input of its own on the program (a microphone, a line in), always live "
        "until you set it to follow a source: a device as `returnfeed sources` lists it (part "
        "of its name, or its number), input:DEVICE=Label to name it, or tone:NAME; repeat for "
        "more. NDI, file and test sources bring their own sound, which follows the cuts",
    )
    p.add_argument("--control-port", type=int, default=DEFAULT_CONTROL_PORT, metavar="P")
    p.add_argument("--no-control", action="store_true", help="no local control API")
    p.add_argument("--control-token", default=None, metavar="T", help="pin the control token")
    p.add_argument("--ndi-extra-ips", default="", metavar="IP,IP")
    p.add_argument("--fps", type=int, default=60, choices=(25, 30, 50, 60))
    p.add_argument("--lang", choices=("en", "ko"), default=None)
    cloud = p.add_argument_group(
        "going live from the command line",
        "Sign in to a backend, pick the session, go live and print the phone and viewer "
        "links with QR codes. Credentials come from RETURNFEED_EMAIL and RETURNFEED_PASSWORD, "
        "or from the login the window kept in the OS keyring; never from options.",
    )
    cloud.add_argument("--cloud", metavar="URL", help="the backend, e.g. http://127.0.0.1:8000")
    cloud.add_argument("--session", metavar="ID", help="the session to go live on")
    cloud.add_argument(
        "--demo",
        action="store_true",
        help="use a demo director made on first run (password generated and kept in the OS "
        "keyring, else DATA_DIR/demo-login.json, mode 0600) and its demo session, cameras "
        f"1-4 on sources 1-4; --cloud defaults to {DEMO_CLOUD}",
    )
    cloud.add_argument("--no-qr", action="store_true", help="print the links without QR codes")
    return p


def parse_args(argv: list[str]) -> DesktopOptions:
    """Options from the command line; argparse exits with a usage message on bad ones."""
    p = parser()
    args = p.parse_args(argv)
    try:
        sources = tuple(SourceSpec.parse(text) for text in args.source)
        audio = None if args.audio is None else tuple(AudioSpec.parse(a) for a in args.audio)
    except BadSourceSpec as exc:
        p.error(str(exc))
    if args.test_sources is not None:
        if not 1 <= args.test_sources <= 32:
            p.error("--test-sources takes 1..32")
        sources += default_specs(args.test_sources)
    if not 0 <= args.control_port <= 65535:
        p.error("--control-port takes 0..65535")
    cloud = None
    if args.cloud or args.demo:
        if not args.demo and not args.session:
            p.error("--cloud needs --session ID (or --demo)")
        if not (args.cloud or DEMO_CLOUD).startswith(("http://", "https://")):
            p.error("--cloud takes an http:// or https:// URL")
        cloud = CloudOptions(args.cloud or DEMO_CLOUD, args.demo, args.session, not args.no_qr)
    elif args.session:
        p.error("--session goes with --cloud URL")
    return DesktopOptions(
        headless=args.headless,
        sources=sources,
        audio=audio,
        control=not args.no_control,
        control_port=args.control_port,
        control_token=args.control_token,
        ndi_extra_ips=tuple(ip.strip() for ip in args.ndi_extra_ips.split(",") if ip.strip()),
        fps=args.fps,
        lang=args.lang,
        cloud=cloud,
    )


@dataclass(frozen=True, slots=True)
class SavedSettings:
    """What the window's Settings keep that the core runs on (ui/settings.py makes it)."""

    sources: tuple[SourceSpec, ...] = ()
    audio: tuple[AudioSpec, ...] = ()
    ndi: NdiConfig = field(default_factory=NdiConfig)
    encoder: str = "auto"  # or an FFmpeg encoder name
    srt_latency_ms: int | None = None  # fixed; None follows the measured link


def runtime_config(options: DesktopOptions, saved: SavedSettings | None = None) -> RuntimeConfig:
    """The core's configuration: the command line first, then the saved settings."""
    saved = saved or SavedSettings()
    base = RuntimeConfig()
    ndi = saved.ndi
    if options.ndi_extra_ips:
        ndi = replace(ndi, extra_ips=options.ndi_extra_ips)
    media = MediaConfig(fps=Fraction(options.fps), ndi=ndi)
    config = replace(
        base,
        sources=options.sources or saved.sources or default_specs(),
        audio=saved.audio if options.audio is None else options.audio,
        media=media,
        control=options.control,
        control_port=options.control_port,
        encoder=replace(base.encoder or EncoderConfig(), encoder=saved.encoder),
        srt_latency_ms=saved.srt_latency_ms,
    )
    if options.control_token:
        config = replace(config, control_token=options.control_token)
    return config


def run_headless(options: DesktopOptions, out: TextIO = sys.stdout) -> int:
    vault, vault_note = open_vault()
    runtime = Runtime(runtime_config(options), vault=vault)
    runtime.vault_note = vault_note
    try:
        runtime.start()
    except CoreStartError as exc:
        print(f"returnfeed-desktop: {exc}", file=sys.stderr)
        return 1
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    names = ", ".join(s.name for s in runtime.state.sources)
    print(f"ReturnFeed headless switcher: sources {names}", file=out)
    if runtime.control_url:
        print(f"Control API: {runtime.control_url}  token: {runtime.control_token}", file=out)
    if runtime.vault_note:
        print(f"Note: {runtime.vault_note}", file=out)
    print("Ctrl+C to stop.", file=out, flush=True)
    live = CloudLive(runtime, options.cloud, vault, out) if options.cloud else None
    if live is not None:
        live.start()
    try:
        while not stop.wait(0.5):
            pass
    finally:
        if live is not None:
            live.stopping.set()
        print("Stopping: leaving the relay, closing the stream and the sources.", file=out)
        runtime.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Headless only; the window's entry point is ui.main:main, which calls this for it."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    options = parse_args(sys.argv[1:] if argv is None else argv)
    if not options.headless:
        print(
            "returnfeed-desktop: the window is started by ui.main; use --headless here",
            file=sys.stderr,
        )
        return 2
    return run_headless(options)


if __name__ == "__main__":
    raise SystemExit(main())
