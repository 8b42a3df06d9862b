"""Helpers the benchmarks share: start real servers on loopback, read a process's CPU and RSS."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

CLOUD = Path(sys.executable).with_name("returnfeed-cloud")
_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def raise_open_files_limit() -> int:
    """Thousands of sockets need thousands of descriptors; children inherit the limit."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


@dataclass(frozen=True)
class ProcStats:
    cpu_s: float  # user + system seconds so far
    rss_mb: float
    peak_rss_mb: float


def proc_stats(pid: int) -> ProcStats:
    """From /proc (Linux): the benchmark measures the server, not itself."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime
    status = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )

    def mb(key: str) -> float:
        return int(status[key].split()[0]) / 1024

    return ProcStats(cpu, mb("VmRSS"), mb("VmHWM"))


class Server:
    """A child process whose output goes to a log file."""

    def __init__(
        self,
        argv: list[str],
        log: Path,
        ready_port: int | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.log = log
        self._fh = log.open("ab")
        self.popen = subprocess.Popen(
            argv,
            stdout=self._fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, **(env or {})},
        )
        if ready_port is not None:
            self._wait_port(ready_port)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def _wait_port(self, port: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise RuntimeError(f"{self.log.name}: exited\n{self.log.read_text()[-2000:]}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError(f"{self.log.name}: not listening on {port}")

    def stop(self) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()
        self._fh.close()


def start_redis(workdir: Path) -> tuple[Server, str]:
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    port = free_port()
    argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    argv += ["--appendonly", "no", "--dir", str(workdir)]
    return Server(argv, workdir / "redis.log", ready_port=port), f"redis://127.0.0.1:{port}/0"


_SCRAPE = secrets.token_urlsafe(24)  # /metrics' bearer token for the backends benches start


def metrics_text(base: str) -> str:
    """A scrape of /metrics of a backend start_cloud started."""
    # A gateway at its limit answers slowly: that is a result, not a reason to give up.
    auth = {"Authorization": f"Bearer {_SCRAPE}"}
    r = httpx.get(f"{base}/metrics", headers=auth, timeout=60)
    r.raise_for_status()
    return r.text


def start_cloud(workdir: Path, database_url: str, *extra: str) -> tuple[Server, str]:
    """The real `returnfeed-cloud`, with relaxed REST limits; returns it and its base URL."""
    port = free_port()
    argv = [str(CLOUD), "--port", str(port), "--data-dir", str(workdir / "data")]
    argv += ["--database-url", database_url, "--log-level", "warning"]
    for name in ("login", "register", "redeem"):
        argv += [f"--{name}-rate", "100000/60"]
    server = Server(
        [*argv, *extra], workdir / f"cloud-{port}.log", env={"RETURNFEED_METRICS_TOKEN": _SCRAPE}
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.popen.poll() is not None:
            raise RuntimeError(f"returnfeed-cloud exited:\n{server.log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{base}/api/health", timeout=1).status_code == 200:
                return server, base
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError("returnfeed-cloud did not become healthy")
