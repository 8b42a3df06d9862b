"""The PyInstaller bundle of the director's app builds and starts without import errors."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYINSTALLER = Path(sys.executable).with_name("pyinstaller")


def _runs_for(argv: list[str], seconds: float, env: dict[str, str]) -> str:
    """Start the frozen app; it must still be running after `seconds`. Returns its output."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    time.sleep(seconds)
    alive = proc.poll() is None
    proc.terminate()
    out = proc.communicate(timeout=20)[0].decode(errors="replace")
    assert alive, f"the frozen app exited early:\n{out}"
    return out


def test_frozen_app_starts(tmp_path: Path) -> None:
    build = subprocess.run(
        [
            str(PYINSTALLER),
            "--noconfirm",
            "--distpath",
            str(tmp_path / "dist"),
            "--workpath",
            str(tmp_path / "build"),
            str(ROOT / "pyinstaller.spec"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    exe = tmp_path / "dist" / "returnfeed" / "returnfeed-desktop"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    headless = _runs_for(
        [str(exe), "--headless", "--test-sources", "2", "--control-port", "0"], 4, env
    )
    assert "Control API" in headless and "Traceback" not in headless
    window = _runs_for([str(exe), "--test-sources", "2", "--no-control"], 6, env)
    for bad in ("Traceback", "ModuleNotFoundError", "Could not load the Qt platform plugin"):
        assert bad not in window, window
