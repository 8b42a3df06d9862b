"""`returnfeed-desktop --headless`: the same core and control API, and never a Qt import."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def test_headless_runs_without_qt_and_takes_a_cut(tmp_path: Path) -> None:
    # A PySide6 that cannot be imported: the headless path must never try.
    fake = tmp_path / "PySide6"
    fake.mkdir()
    (fake / "__init__.py").write_text("raise ImportError('the headless path imported PySide6')\n")
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}"}
    argv = [
        "--headless",
        "--test-sources",
        "2",
        "--fps",
        "30",
        "--control-port",
        "0",
        "--control-token",
        "tok",
    ]
    proc = subprocess.Popen(
        [sys.executable, "-c", "from ui.main import main; raise SystemExit(main())", *argv],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("Control API:"):
                break
        url = lines[-1].split()[2]
        assert lines[-1].split()[-1] == "tok", lines
        r = httpx.post(f"{url}/api/cut", headers={"Authorization": "Bearer tok"}, timeout=5)
        assert r.status_code == 200 and r.json()["state"]["program"] == "test-2"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_bad_source_spec_is_a_usage_error_not_a_traceback() -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "from ui.main import main; raise SystemExit(main())",
            "--headless",
            "--source",
            "wipe:left",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert out.returncode == 2
    assert "unknown source kind 'wipe'" in out.stderr and "Traceback" not in out.stderr
