"""The relay's flags, as `returnfeed-cloud --help` shows them and as it refuses bad values."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.support.cloud import CLI


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CLI), *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_help_names_the_relay_flags() -> None:
    out = _run("--help")
    assert out.returncode == 0
    for flag in ("--redis-url", "--relay-heartbeat-s", "--relay-timeout-s", "--relay-queue"):
        assert flag in out.stdout
    assert "--relay-burst" in out.stdout and "--relay-rate" in out.stdout


def test_bad_relay_settings_are_a_clear_error(tmp_path: Path) -> None:
    out = _run("--data-dir", str(tmp_path), "--relay-heartbeat-s", "5", "--relay-timeout-s", "2")
    assert out.returncode == 2 and "timeout must be longer than its heartbeat" in out.stderr
    out = _run("--data-dir", str(tmp_path), "--redis-url", "http://nope")
    assert out.returncode == 2 and "redis://" in out.stderr
