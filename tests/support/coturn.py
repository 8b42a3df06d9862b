"""A real coturn (Debian's /usr/bin/turnserver) on loopback, run from the shipped
deploy/turnserver.conf with the test's own secret, ports and log, and loopback peers allowed
(the gateway is on 127.0.0.1 in tests; production refuses loopback and private peers)."""

from __future__ import annotations

import os
import random
import re
import secrets
import shutil
import socket
import struct
from pathlib import Path

from tests.support.procs import Proc, ProcessFailed, free_udp_port, wait_until

TURNSERVER = "/usr/bin/turnserver"
REFERENCE = Path(__file__).resolve().parents[2] / "deploy" / "turnserver.conf"
REALM = "returnfeed.test"
# What the test sets itself; everything else is the reference file's.
OVERRIDDEN = {
    "listening-port",
    "listening-ip",
    "relay-ip",
    "external-ip",
    "min-port",
    "max-port",
    "static-auth-secret",
    "realm",
    "syslog",
    "log-file",
    "pidfile",
    "userdb",
}
_STUN_MAGIC = 0x2112A442


def free_udp_ports(count: int, low: int = 20000, high: int = 32000) -> tuple[int, int]:
    """A run of `count` consecutive UDP ports that nothing holds on any address now."""
    for _ in range(200):
        first = random.randrange(low, high - count)
        if all(_udp_free(p) for p in range(first, first + count)):
            return first, first + count - 1
    raise RuntimeError(f"no {count} consecutive free UDP ports in {low}-{high}")


def _udp_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


def coturn_config(port: int, relay_ports: tuple[int, int], secret: str, workdir: Path) -> str:
    """deploy/turnserver.conf with the test's listener, relay ports, secret and files."""
    kept = [
        line
        for line in REFERENCE.read_text().splitlines()
        if line.split("=", 1)[0].strip() not in OVERRIDDEN
    ]
    return "\n".join(
        [
            *kept,
            "listening-ip=127.0.0.1",
            "relay-ip=127.0.0.1",
            f"listening-port={port}",
            f"min-port={relay_ports[0]}",
            f"max-port={relay_ports[1]}",
            f"static-auth-secret={secret}",
            f"realm={REALM}",
            f"log-file={workdir / 'turn.log'}",
            "simple-log",
            "verbose",
            f"pidfile={workdir / 'turnserver.pid'}",
            f"userdb={workdir / 'turndb'}",
            # Tests only: the gateway is on loopback.
            "allow-loopback-peers",
            "allowed-peer-ip=127.0.0.1",
            "",
        ]
    )


class Coturn:
    """turnserver on 127.0.0.1:`port` with a fresh shared secret; `url` is what
    `--turn-url` takes."""

    def __init__(self, workdir: Path) -> None:
        if shutil.which(TURNSERVER) is None:
            raise RuntimeError(f"{TURNSERVER} is missing: apt-get install coturn")
        workdir.mkdir(parents=True, exist_ok=True)
        self.workdir = workdir
        self.secret = secrets.token_hex(32)
        self.port = free_udp_port()
        self.relay_ports = free_udp_ports(40)
        self.url = f"turn:127.0.0.1:{self.port}"
        self.config = workdir / "turnserver.conf"
        self.config.write_text(coturn_config(self.port, self.relay_ports, self.secret, workdir))
        os.chmod(self.config, 0o600)
        self.proc = Proc([TURNSERVER, "-c", str(self.config)], workdir / "turnserver.out")
        wait_until(self._answers, 20, f"turnserver on 127.0.0.1:{self.port}")

    def _answers(self) -> bool:
        """A STUN binding request gets a response (coturn is listening)."""
        if not self.proc.alive():
            raise ProcessFailed(f"turnserver exited:\n{self.proc.tail()}\n{self.log()[-2000:]}")
        transaction = secrets.token_bytes(12)
        request = struct.pack("!HHI", 0x0001, 0, _STUN_MAGIC) + transaction
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.3)
            s.sendto(request, ("127.0.0.1", self.port))
            try:
                data = s.recv(2048)
            except OSError:
                return False
        return data[8:20] == transaction

    def log(self) -> str:
        """coturn's log (its name gets the date appended unless simple-log; both looked at)."""
        text = ""
        for path in sorted(self.workdir.glob("turn*.log")):
            text += path.read_text(errors="replace")
        return text

    def allocations(self) -> list[str]:
        """The usernames of successful allocations, from the log."""
        return re.findall(
            r"user <([^>]*)>: incoming packet ALLOCATE processed, success", self.log()
        )

    def stop(self) -> None:
        self.proc.stop()
