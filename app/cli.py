"""The `returnfeed` command line: `returnfeed sources` lists what can be switched;
`returnfeed send` puts a program on air over SRT without the desktop app;
`returnfeed ndi-test` is an NDI test sender for when no real NDI source is around."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TextIO

from app import send
from app.director_token import EMAIL_ENV, PASSWORD_ENV
from media import ndi_test_sender
from media.inventory import Inventory, take_inventory
from media.sources.ndi import NdiConfig


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "sources":
        return _sources(args, sys.stdout)
    if args.command == "send":
        return send.main(args)
    if args.command == "ndi-test":
        return ndi_test_sender.run(args)
    parser.print_help()
    return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="returnfeed", description="ReturnFeed director tools")
    commands = parser.add_subparsers(dest="command")
    sources = commands.add_parser("sources", help="list NDI sources, cameras and audio inputs")
    sources.add_argument("--json", action="store_true", help="print JSON instead of a table")
    sources.add_argument(
        "--ndi-extra-ips", default="", metavar="IP,IP", help="ask these machines for NDI sources"
    )
    sources.add_argument(
        "--ndi-discovery-server", default=None, metavar="HOST", help="NDI discovery server"
    )
    sources.add_argument(
        "--timeout", type=float, default=1.0, metavar="S", help="how long to look for NDI sources"
    )
    _add_send(commands)
    ndi_test = commands.add_parser(
        "ndi-test",
        help="send a moving, labelled test picture as an NDI source (until Ctrl+C)",
        description="An NDI test sender on this machine. Receivers find it by IP: "
        "`returnfeed --ndi-extra-ips 127.0.0.1 --source 'ndi:ReturnFeed Test'`.",
    )
    ndi_test_sender.add_arguments(ndi_test)
    return parser


def _add_send(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = commands.add_parser(
        "send",
        help="encode sources into the hi/lo layers and send them over SRT",
        description=(
            "Encode a program from the given sources and send each layer over its own SRT "
            "connection. Prefer the environment for secrets: "
            f"{send.PASSPHRASE_ENV} and {send.TOKEN_ENV} (options show up in `ps`). "
            "With --cloud, viewers who join get their first frame at once: send joins the "
            "session's relay as its director and forces an IDR when the gateway asks for one "
            f"(the director's login goes in {EMAIL_ENV} and {PASSWORD_ENV} and is "
            f"renewed for the whole show, or an access token in {send.DIRECTOR_TOKEN_ENV}, "
            "good until it expires). Without it a viewer waits for the next scheduled IDR "
            "(every 2 s)."
        ),
    )
    cmd.add_argument(
        "--source",
        action="append",
        metavar="KIND:VALUE",
        help="test:NAME, ndi:NDI NAME, file:PATH or camera:DEVICE; noisy:NAME (the test "
        "pattern under moving grain: the encoder at its real bitrate) or sync:NAME (the lip-sync "
        "test: a white frame and a click together); repeat for more (default test:Test)",
    )
    cmd.add_argument(
        "--audio",
        action="append",
        default=[],
        metavar="DEVICE",
        help="an audio input on the program, always live: a device as `returnfeed sources` "
        "lists it (part of its name, or its number), or tone:NAME; repeat for more. Sources "
        "bring their own sound (NDI, files, test tones) and follow the cuts",
    )
    cmd.add_argument("--srt-url", required=True, metavar="srt://HOST:PORT", help="the listener")
    cmd.add_argument("--passphrase", help=f"SRT passphrase (better: {send.PASSPHRASE_ENV})")
    cmd.add_argument("--session", help="session id for the streamid")
    cmd.add_argument("--publish-token", help=f"publish token (better: {send.TOKEN_ENV})")
    cmd.add_argument("--streamid-hi", metavar="SID", help="raw streamid for the hi layer")
    cmd.add_argument("--streamid-lo", metavar="SID", help="raw streamid for the lo layer")
    cmd.add_argument("--layers", default="hi,lo", help="layers to send (default hi,lo)")
    cmd.add_argument(
        "--profile",
        choices=["auto", "lan", "wan"],
        default="auto",
        help="SRT timing to start with: lan (20 ms) or wan (120 ms); auto picks by the "
        "listener's address. The latency then follows the measured round trip and loss",
    )
    cmd.add_argument(
        "--latency-ms",
        type=int,
        help="a fixed SRT latency (0..5000), instead of following the measured link",
    )
    cmd.add_argument(
        "--srt-fec",
        default="off",
        metavar="off|on|CONFIG",
        help="SRT forward error correction (libsrt's packet filter): on = "
        "fec,cols:10,rows:1,layout:staircase,arq:always (10 %% more packets), or a libsrt "
        "config; the listener must accept it (default off)",
    )
    cmd.add_argument("--encoder", default="auto", help="auto, libx264, h264_nvenc, h264_qsv, ...")
    cmd.add_argument(
        "--idr-interval",
        type=float,
        metavar="S",
        help="seconds between scheduled IDRs (default 2); viewers joining or switching wait "
        "for the next one unless --cloud lets them ask for one",
    )
    cmd.add_argument(
        "--cloud",
        metavar="URL",
        help="the backend (http(s)://host:port): answer viewers' keyframe requests from the "
        "session's relay, and fetch the session's SRT credentials again when a layer is "
        "refused for them (an expired or rotated publish token or passphrase); needs "
        f"--session and {EMAIL_ENV}/{PASSWORD_ENV} (or {send.DIRECTOR_TOKEN_ENV})",
    )
    cmd.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")
    cmd.add_argument("--cycle", type=float, metavar="S", help="cut to the next source every S s")
    cmd.add_argument(
        "--genlock",
        metavar="NAME|off",
        help="lock the program clock to this source's pictures, so they are encoded just "
        "after they arrive (default: the first --source; off: free-run)",
    )
    cmd.add_argument(
        "--ndi-extra-ips", default="", metavar="IP,IP", help="ask these machines for NDI sources"
    )
    cmd.add_argument(
        "--json", action="store_true", help="print a JSON summary at the end (stats go to stderr)"
    )


def _sources(args: argparse.Namespace, out: TextIO) -> int:
    ips = tuple(ip.strip() for ip in args.ndi_extra_ips.split(",") if ip.strip())
    config = NdiConfig(extra_ips=ips, discovery_server=args.ndi_discovery_server)
    inventory = take_inventory(config, max(0.0, args.timeout))
    if args.json:
        json.dump(inventory.to_json(), out, indent=2)
        out.write("\n")
    else:
        _print_table(inventory, out)
    return 0


def _print_table(inventory: Inventory, out: TextIO) -> None:
    _section(out, "NDI sources", ["name", "address"], [[s.name, s.url] for s in inventory.ndi])
    _section(
        out,
        "Cameras",
        ["device", "name", "backend"],
        [[c.device, c.name, c.backend] for c in inventory.cameras],
    )
    audio = [
        [str(a.index), a.name, a.host_api, str(a.max_input_channels), f"{a.default_samplerate:g}"]
        for a in inventory.audio
    ]
    _section(out, "Audio inputs", ["#", "name", "host API", "channels", "rate"], audio)
    if inventory.notes:
        out.write("Notes:\n")
        for note in inventory.notes:
            out.write(f"  - {note}\n")


def _section(out: TextIO, title: str, header: Sequence[str], rows: list[list[str]]) -> None:
    out.write(f"{title} ({len(rows)})\n")
    if rows:
        widths = [max(len(str(r[i])) for r in [list(header), *rows]) for i in range(len(header))]
        for row in [list(header), *rows]:
            out.write("  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
            out.write("\n")
    out.write("\n")


if __name__ == "__main__":
    raise SystemExit(main())
