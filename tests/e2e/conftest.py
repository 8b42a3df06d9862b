"""Whole-chain helpers: the real `returnfeed` processes, their printed links, a WebRTC browser."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from tests.support.browser import webrtc_chromium

RETURNFEED = Path(sys.executable).with_name("returnfeed")
ROOT = Path(__file__).resolve().parents[2]
# No OS keyring in tests: logins stay in memory, the demo login goes to the data dir.
NO_KEYRING = {"PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"}


class Printed:
    """A child process whose stdout lines are collected on a thread, for waiting on."""

    def __init__(self, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.lines: list[str] = []
        self._log = log.open("w")
        self._changed = threading.Condition()
        self.popen = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            start_new_session=True,  # a Ctrl+C in a terminal reaches a process group
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self._log.write(line)
            self._log.flush()
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def wait_line(self, pattern: str, within: float) -> re.Match[str]:
        """The first printed line matching `pattern`; fails with the output so far."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + within
        with self._changed:
            while True:
                for line in self.lines:
                    if found := regex.search(line):
                        return found
                left = deadline - time.monotonic()
                if left <= 0 or (self.popen.poll() is not None and not self._reader.is_alive()):
                    text = "\n".join(self.lines[-60:])
                    raise AssertionError(f"no line matching {pattern!r}; output:\n{text}")
                self._changed.wait(min(left, 0.5))

    def text(self) -> str:
        with self._changed:
            return "\n".join(self.lines)

    def stop(self, timeout: float = 30) -> int:
        """SIGINT (Ctrl+C) to the group, then SIGKILL if it does not end in time."""
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, 2)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, 9)
                self.popen.wait()
        self._reader.join(5)
        self._log.close()
        return self.popen.returncode


@pytest.fixture(scope="module")
def webrtc_browser() -> Iterator[Browser]:
    with webrtc_chromium() as browser:
        yield browser
