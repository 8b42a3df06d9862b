"""`returnfeed send` says which encoder it uses and why, before the first stats line.

A real SRT listener (the CLI tests' Recorder) takes the stream; the line must name the
encoder auto chose on this machine (whatever opens here first, else libx264 with what was
tried) or the one named with --encoder.
"""

from __future__ import annotations

import pytest

from app.cli import main
from media.encode.detect import choose_encoder
from tests.app.test_send_cli import Recorder, recorder, url

__all__ = ["recorder"]  # the fixture, used by name below


@pytest.mark.parametrize("setting", ["auto", "libx264"])
def test_send_names_its_encoder_and_why(
    recorder: Recorder,
    capsys: pytest.CaptureFixture[str],
    setting: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RETURNFEED_SRT_PASSPHRASE", "correct-horse-battery-staple")
    argv = ["send", "--duration", "1.0", "--srt-url", url(recorder), "--layers", "hi"]
    argv += ["--streamid-hi", "rf-hi", "--encoder", setting]
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    encoder = [line for line in lines if line.startswith("encoder: ")]
    assert encoder == [f"encoder: {choose_encoder(setting).describe()}"], lines
    assert lines.index(encoder[0]) < min(i for i, line in enumerate(lines) if " fps " in line)
    if setting == "auto":
        assert "(auto: " in encoder[0]
    else:
        assert encoder[0] == "encoder: libx264 (as set)"
