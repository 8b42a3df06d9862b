"""Real haproxy (Debian's /usr/sbin/haproxy) serving the shipped deploy/haproxy.cfg
unchanged, in front of backends on loopback, on a free port."""

from __future__ import annotations

import os
from pathlib import Path

from tests.support.procs import (
    Proc,
    ProcessFailed,
    free_port,
    port_open,
    require_binary,
    wait_until,
)

DEPLOY_HAPROXY = Path(__file__).resolve().parents[2] / "deploy" / "haproxy.cfg"


class Haproxy:
    def __init__(self, workdir: Path, backends: list[str]) -> None:
        """`backends`: "HOST:PORT" of the processes named backend-1, backend-2."""
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "RETURNFEED_LISTEN": f"127.0.0.1:{self.port}"}
        for number, address in enumerate(backends, start=1):
            env[f"RETURNFEED_BACKEND_{number}"] = address
        haproxy = require_binary("/usr/sbin/haproxy", "haproxy")
        self.proc = Proc(
            [haproxy, "-db", "-f", str(DEPLOY_HAPROXY)], workdir / "haproxy.log", env=env
        )
        wait_until(self._serving, 30, f"haproxy on {self.port}")

    def _serving(self) -> bool:
        if not self.proc.alive():
            raise ProcessFailed(f"haproxy exited:\n{self.proc.tail()}")
        return port_open(self.port)

    def stop(self) -> None:
        self.proc.stop()
