"""The gateway's flags and settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloud.cli import build_parser, settings_from_args
from cloud.config import ConfigError
from cloud.gateway.gateway import parse_ice_server
from cloud.gateway.ingest import wants_takeover


def settings(tmp_path: Path, *argv: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    env = {"RETURNFEED_JWT_SECRET": "x" * 40, **(env or {})}
    args = build_parser(env).parse_args(["--data-dir", str(tmp_path), *argv])
    return settings_from_args(args, env)


def test_defaults(tmp_path: Path) -> None:
    s = settings(tmp_path)
    assert (s.srt_enabled, s.srt_listen_host, s.srt_port, s.srt_latency_ms) == (
        True,
        "127.0.0.1",
        8890,
        20,
    )
    assert s.ice_servers == ()
    assert s.srt_public_host == "127.0.0.1"


def test_flags_and_environment(tmp_path: Path) -> None:
    s = settings(
        tmp_path,
        "--host",
        "0.0.0.0",
        "--srt-port",
        "9000",
        "--srt-latency-ms",
        "120",
        "--ice-server",
        "stun:stun.example:3478",
        "--ice-server",
        "turn:u:p@turn.example:3478",
        "--public-url",
        "https://live.example",
    )
    assert s.srt_listen_host == "0.0.0.0"
    assert s.srt_port == 9000 and s.srt_latency_ms == 120
    assert len(s.ice_servers) == 2
    assert s.srt_public_host == "live.example"
    assert "u:p@" not in repr(s), "ICE URLs may carry TURN passwords"
    off = settings(tmp_path, env={"RETURNFEED_NO_SRT": "1", "RETURNFEED_SRT_HOST": "10.0.0.2"})
    assert not off.srt_enabled and off.srt_listen_host == "10.0.0.2"
    with pytest.raises(ConfigError):
        settings(tmp_path, "--ice-server", "http://nope")
    with pytest.raises(ConfigError):
        settings(tmp_path, "--srt-port", "70000")


def test_ice_server_urls() -> None:
    stun = parse_ice_server("stun:stun.example:3478")
    assert stun.urls == "stun:stun.example:3478" and stun.username is None
    turn = parse_ice_server("turn:user:secret@turn.example:3478?transport=udp")
    assert turn.urls == "turn:turn.example:3478?transport=udp"
    assert (turn.username, turn.credential) == ("user", "secret")
    with pytest.raises(ValueError, match="stun"):
        parse_ice_server("turn")


def test_takeover_key() -> None:
    assert wants_takeover("#!::r=abc/hi,m=publish,s=tok,o=takeover")
    assert not wants_takeover("#!::r=abc/hi,m=publish,s=o=takeover")
    assert not wants_takeover("#!::r=abc/hi,m=publish,s=tok")
