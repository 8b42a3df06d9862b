"""Private PulseAudio servers with null sinks, so PortAudio has real devices to open.

`start_null_sink` must run before sounddevice is first imported: PortAudio lists devices
once, at import, and its "pulse" device is only listed when a server answers then.
Later tests start their own `PulseServer` and point the ALSA pulse plugin (which PortAudio
goes through) at it with PULSE_SERVER, read at each stream open.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class PulseServer:
    """One pulseaudio daemon in its own runtime directory; kill and start it at will."""

    runtime: str = field(default_factory=lambda: tempfile.mkdtemp(prefix="returnfeed-pulse-"))
    sinks: list[str] = field(default_factory=list)  # module-null-sink arguments, per start

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "XDG_RUNTIME_DIR": self.runtime, "PULSE_SERVER": self.address}

    @property
    def address(self) -> str:
        return f"unix:{self.runtime}/pulse/native"

    def start(self) -> bool:
        loads = [f"--load=module-null-sink {args}" for args in self.sinks]
        done = subprocess.run(
            [
                *("pulseaudio", "--daemonize", "--exit-idle-time=-1", "--no-cpu-limit", "-n"),
                *loads,
                "--load=module-native-protocol-unix",
            ],
            env=self.env,
            capture_output=True,
            check=False,
            timeout=20,
        )
        return done.returncode == 0

    def running(self) -> bool:
        done = subprocess.run(["pulseaudio", "--check"], env=self.env, check=False)
        return done.returncode == 0

    def kill(self, timeout: float = 10.0) -> None:
        """Stop the daemon and wait until it is gone (its socket can then be reused)."""
        subprocess.run(["pulseaudio", "--kill"], env=self.env, capture_output=True, check=False)
        deadline = time.monotonic() + timeout
        while self.running() and time.monotonic() < deadline:
            time.sleep(0.02)

    def close(self) -> None:
        self.kill()
        shutil.rmtree(self.runtime, ignore_errors=True)

    def pactl(self, *args: str) -> str:
        done = subprocess.run(
            ["pactl", *args], env=self.env, capture_output=True, text=True, check=True, timeout=10
        )
        return done.stdout

    def play(self, sink: str, samples: Path, rate: int) -> subprocess.Popen[bytes]:
        """Play raw mono float32 samples into `sink`. A latency is asked for so the sink
        renders in small blocks (an idle null sink renders every 2 s); 100 ms is enough
        buffer for pacat not to run dry on a loaded machine."""
        with samples.open("rb") as source:
            return subprocess.Popen(
                [
                    *("pacat", "--playback", f"--device={sink}", "--raw", "--format=float32le"),
                    *(f"--rate={rate}", "--channels=1", "--latency-msec=100"),
                ],
                stdin=source,
                env=self.env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )


def write_tone(path: Path, freq: float, rate: int, seconds: float, amplitude: float) -> Path:
    """A sine as raw float32 mono, for `PulseServer.play`."""
    t = np.arange(int(seconds * rate)) / rate
    (amplitude * np.sin(2 * np.pi * freq * t)).astype("<f4").tofile(path)
    return path


def start_null_sink() -> bool:
    """Start the shared server if Debian's pulseaudio is installed; True if one now runs."""
    if shutil.which("pulseaudio") is None:
        return False
    server = PulseServer(sinks=["sink_name=returnfeed_test"])
    if not server.start():
        return False
    # ALSA's pulse plugin, which PortAudio goes through, finds the server by this variable.
    os.environ["XDG_RUNTIME_DIR"] = server.runtime
    atexit.register(server.close)
    return True
