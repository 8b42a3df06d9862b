"""A network namespace joined to this one by a veth pair: an address that is neither
loopback nor this test's own, so a page loaded from it is what a phone sees on a LAN.

Needs root (`ip netns`, `ip link ... type veth`); names are unique per run, and everything
is removed on exit, also when the test fails.
"""

from __future__ import annotations

import random
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from tests.support.procs import require_binary


@dataclass(frozen=True)
class Netns:
    name: str
    host_ip: str  # this side's end of the veth
    ns_ip: str  # the namespace's end: serve there, browse to it from here

    @property
    def prefix(self) -> list[str]:
        """Put before a command to run it inside the namespace."""
        return ["ip", "netns", "exec", self.name]


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=20)


def _used_subnets() -> set[int]:
    out = subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True, text=True, check=True)
    return {int(w.split(".")[2]) for w in out.stdout.split() if w.startswith("10.213.")}


@contextmanager
def veth_namespace() -> Iterator[Netns]:
    require_binary("ip", "iproute2")
    tag = uuid.uuid4().hex[:8]
    name, here, there = f"rf-{tag}", f"rfh{tag}", f"rfn{tag}"
    free = sorted(set(range(1, 255)) - _used_subnets())
    third = random.choice(free)  # a /30 of 10.213.0.0/16 no other run is using
    ns = Netns(name, f"10.213.{third}.1", f"10.213.{third}.2")
    _ip("netns", "add", name)
    try:
        _ip("link", "add", here, "type", "veth", "peer", "name", there)
        try:
            _ip("link", "set", there, "netns", name)
            _ip("addr", "add", f"{ns.host_ip}/30", "dev", here)
            _ip("link", "set", here, "up")
            _ip("-n", name, "addr", "add", f"{ns.ns_ip}/30", "dev", there)
            _ip("-n", name, "link", "set", there, "up")
            _ip("-n", name, "link", "set", "lo", "up")
            yield ns
        finally:
            subprocess.run(["ip", "link", "del", here], capture_output=True, timeout=20)
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=20)
