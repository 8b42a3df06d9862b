"""A throwaway redis-server on a random loopback port, private to one test run."""

from __future__ import annotations

import socket
from pathlib import Path

from tests.support.procs import Proc, ProcessFailed, free_port, require_binary, wait_until


class RedisServer:
    def __init__(self, workdir: Path) -> None:
        self._binary = require_binary("/usr/bin/redis-server", "redis-server")
        self.workdir = workdir
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: Proc | None = None
        self.start()

    def start(self) -> None:
        """Start (again) on the same port; nothing is kept from a previous run."""
        argv = [self._binary, "--port", str(self.port), "--bind", "127.0.0.1"]
        argv += ["--save", "", "--appendonly", "no", "--dir", str(self.workdir)]
        self.proc = Proc(argv, self.workdir / "redis.log")
        wait_until(self._ready, 15, f"redis-server on port {self.port}")

    def _ready(self) -> bool:
        assert self.proc is not None
        if not self.proc.alive():
            raise ProcessFailed(f"redis-server exited:\n{self.proc.tail()}")
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()
            self.proc = None
