"""The scale-out settings refuse what they cannot use, with a clear error (exit 2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cloud.test_cli import _run


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--process-id", "Backend_1"], "the process id is 1..15 of a-z, 0-9 and -"),
        (["--process-id", "a-very-long-process"], "the process id is 1..15"),
        (["--srt-advertise", "203.0.113.7"], "the SRT advertise address is HOST:PORT"),
        (["--srt-advertise", "host:99999"], "port 1..65535"),
        (["--srt-advertise", ":8890"], "HOST:PORT"),
    ],
)
def test_bad_scale_settings_are_a_clear_error(tmp_path: Path, args: list[str], error: str) -> None:
    out = _run("--data-dir", str(tmp_path), *args)
    assert out.returncode == 2 and error in out.stderr, out.stderr
