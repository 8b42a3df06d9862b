"""Runs the real `returnfeed-cloud` command on loopback, as a user would."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import httpx

from tests.support.procs import Proc, ProcessFailed, free_port, free_udp_port, wait_until

CLI = Path(sys.executable).with_name("returnfeed-cloud")
# /metrics needs a bearer token on the API's port; every test backend gets this one.
METRICS_TOKEN = "metrics-token-for-tests-only"
METRICS_AUTH = {"Authorization": f"Bearer {METRICS_TOKEN}"}
RELAXED_RATES = [
    "--login-rate",
    "1000/60",
    "--register-rate",
    "1000/60",
    "--redeem-rate",
    "1000/60",
]


class CloudServer:
    def __init__(
        self,
        workdir: Path,
        database_url: str,
        extra_args: list[str] | None = None,
        env: dict[str, str] | None = None,
        srt_port: int | None = None,
    ) -> None:
        self.workdir = workdir
        self.data_dir = workdir / "data"
        self.database_url = database_url
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._args = [
            str(CLI),
            "--port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
            "--database-url",
            database_url,
            *(extra_args or RELAXED_RATES),
            *(["--srt-port", str(srt_port)] if srt_port is not None else []),
        ]
        # A free SRT port per backend: two test backends must never share UDP 8890.
        self._env = {
            **os.environ,
            "RETURNFEED_SRT_PORT": "0",
            "RETURNFEED_METRICS_TOKEN": METRICS_TOKEN,
            **(env or {}),
        }
        self.proc: Proc | None = None
        self.srt_port = srt_port  # known only when the test chose it
        self.start()

    def start(self) -> None:
        self.proc = Proc(self._args, self.workdir / "cloud.log", env=self._env)
        wait_until(self._healthy, 30, f"returnfeed-cloud on {self.base_url}")

    def _healthy(self) -> bool:
        assert self.proc is not None
        if not self.proc.alive():
            raise ProcessFailed(f"returnfeed-cloud exited:\n{self.proc.tail()}")
        try:
            return httpx.get(f"{self.base_url}/api/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def alive(self) -> bool:
        return self.proc is not None and self.proc.alive()

    def log_text(self) -> str:
        return (self.workdir / "cloud.log").read_text(errors="replace")

    def metrics_text(self) -> str:
        r = httpx.get(f"{self.base_url}/metrics", headers=METRICS_AUTH, timeout=5)
        r.raise_for_status()
        return r.text

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=10)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()


def gateway_server(workdir: Path, env: dict[str, str] | None = None) -> CloudServer:
    """A backend on SQLite with its SRT ingest on a known free port (`srt_port`), which it
    keeps across `stop()` and `start()`; `env` adds RETURNFEED_* settings."""
    return CloudServer(
        workdir,
        f"sqlite:///{workdir / 'returnfeed.db'}",
        extra_args=[*RELAXED_RATES, "--log-level", "info"],
        env=env,
        srt_port=free_udp_port(),
    )
