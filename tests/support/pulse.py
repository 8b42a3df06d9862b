"""A private PulseAudio server with a null sink, so PortAudio has a real device to open.

It must run before sounddevice is first imported: PortAudio lists devices once, at import.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile


def start_null_sink() -> bool:
    """Start the server if Debian's pulseaudio is installed; True if one now runs."""
    if shutil.which("pulseaudio") is None:
        return False
    runtime = tempfile.mkdtemp(prefix="returnfeed-pulse-")
    env = {**os.environ, "XDG_RUNTIME_DIR": runtime}
    done = subprocess.run(
        [
            "pulseaudio",
            "--daemonize",
            "--exit-idle-time=-1",
            "--no-cpu-limit",
            "-n",
            "--load=module-null-sink sink_name=returnfeed_test",
            "--load=module-native-protocol-unix",
        ],
        env=env,
        capture_output=True,
        check=False,
        timeout=20,
    )
    if done.returncode != 0:
        return False
    # ALSA's pulse plugin, which PortAudio goes through, finds the server by this variable.
    os.environ["XDG_RUNTIME_DIR"] = runtime

    def stop() -> None:
        subprocess.run(["pulseaudio", "--kill"], env=env, capture_output=True, check=False)
        shutil.rmtree(runtime, ignore_errors=True)

    atexit.register(stop)
    return True
