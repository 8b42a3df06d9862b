"""A lossy, delaying UDP relay on loopback: the impaired network for tests, without netem.

netem needs the sch_netem kernel module, which this machine lacks ("Specified qdisc kind is
unknown"), so the impairment lives in user space instead. Peers send to `address`; each
peer address gets its own upstream socket toward `target`, as a NAT would, so replies find
their way back and several peers (two SRT layers, several ICE candidates) share one relay.
The relay only moves bytes: it never parses what it forwards, so garbage passes like
anything else.

Loss, one-way delay and jitter apply to each direction alike (RTT = 2 x delay) and can be
changed while packets flow (`impair`, then `heal`). Drops come from a seeded
`random.Random`, so a run's drop pattern depends only on the seed and the packet order.
Jitter draws each packet's delay from delay +- jitter, which reorders packets, as netem does.
"""

from __future__ import annotations

import heapq
import itertools
import random
import selectors
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Literal

Address = tuple[str, int]
Direction = Literal["up", "down"]  # up: peer -> target; down: target -> peer
MAX_DATAGRAM = 65535
MAX_PEERS = 64  # a flood from many source ports must not open sockets without end


@dataclass(frozen=True, slots=True)
class Impairment:
    loss: float = 0.0  # fraction 0..1 of datagrams dropped, each direction
    delay_ms: float = 0.0  # one-way, each direction
    jitter_ms: float = 0.0  # each datagram's delay is uniform in delay +- jitter

    def __post_init__(self) -> None:
        if not 0.0 <= self.loss <= 1.0:
            raise ValueError(f"loss must be a fraction 0..1, not {self.loss}")
        if self.delay_ms < 0 or self.jitter_ms < 0:
            raise ValueError("delay and jitter must be >= 0")


CLEAN = Impairment()


@dataclass(slots=True)
class Counters:
    """Datagrams seen by the relay thread (which alone writes them)."""

    forwarded: dict[Direction, int] = field(default_factory=lambda: {"up": 0, "down": 0})
    dropped: dict[Direction, int] = field(default_factory=lambda: {"up": 0, "down": 0})
    stray: int = 0  # nowhere to go (no target yet), or not from the target
    refused_peers: int = 0  # datagrams from peers beyond MAX_PEERS
    errors: int = 0  # send/receive errors (an ICMP "port unreachable" from a gone target)

    @property
    def total_forwarded(self) -> int:
        return self.forwarded["up"] + self.forwarded["down"]

    @property
    def total_dropped(self) -> int:
        return self.dropped["up"] + self.dropped["down"]


@dataclass(order=True, slots=True)
class _Due:
    at: float
    seq: int
    sock: socket.socket = field(compare=False)
    to: Address = field(compare=False)
    data: bytes = field(compare=False)
    direction: Direction = field(compare=False)


class LossyRelay:
    """A UDP forwarder between `address` (where peers send) and `target`, on one thread."""

    def __init__(
        self, target: Address | None = None, seed: int = 0, host: str = "127.0.0.1"
    ) -> None:
        self.counters = Counters()
        self._impairment = CLEAN
        self._random = random.Random(seed)
        self._target = target
        self._listen = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._listen.bind((host, 0))
        self._listen.setblocking(False)
        self._host = host
        self._upstream: dict[Address, socket.socket] = {}  # peer -> its socket to the target
        self._peer_of: dict[socket.socket, Address] = {}
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._listen, selectors.EVENT_READ)
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ)
        self._queue: list[_Due] = []
        self._seq = itertools.count()
        self._retarget: Address | None = None
        self._lock = threading.Lock()  # guards _retarget, handed from callers to the thread
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lossy-relay", daemon=True)
        self._thread.start()

    # --- what tests call ----------------------------------------------------------------

    @property
    def address(self) -> Address:
        host, port = self._listen.getsockname()
        return str(host), int(port)

    @property
    def port(self) -> int:
        return self.address[1]

    @property
    def impairment(self) -> Impairment:
        return self._impairment

    @property
    def peers(self) -> int:
        return len(self._upstream)

    def impair(self, loss: float = 0.0, delay_ms: float = 0.0, jitter_ms: float = 0.0) -> None:
        """From now on, drop and delay datagrams so (one attribute swap: no lock needed)."""
        self._impairment = Impairment(loss, delay_ms, jitter_ms)
        self._wake()

    def heal(self) -> None:
        """Clean from now on; datagrams already delayed still arrive when they are due."""
        self.impair()

    def set_target(self, target: Address) -> None:
        """Forward to `target` from now on; peers get fresh upstream sockets (new sessions)."""
        with self._lock:
            self._retarget = target
        self._wake()

    def close(self) -> None:
        self._stopping.set()
        self._wake()
        self._thread.join(5)
        for sock in [*self._upstream.values(), self._listen, self._wake_r, self._wake_w]:
            sock.close()
        self._selector.close()

    # --- the relay thread --------------------------------------------------------------------

    def _wake(self) -> None:
        with suppress(OSError):
            self._wake_w.send(b"\0")

    def _run(self) -> None:
        while not self._stopping.is_set():
            timeout = None
            if self._queue:
                timeout = max(0.0, self._queue[0].at - time.monotonic())
            for key, _ in self._selector.select(timeout):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                if sock is self._wake_r:
                    with suppress(OSError):
                        self._wake_r.recv(4096)
                else:
                    self._drain(sock)
            self._take_retarget()
            self._send_due()

    def _take_retarget(self) -> None:
        with self._lock:
            target, self._retarget = self._retarget, None
        if target is None:
            return
        self._target = target
        for sock in self._upstream.values():
            self._selector.unregister(sock)
            sock.close()
        self._upstream.clear()
        self._peer_of.clear()
        self._queue = [d for d in self._queue if d.direction == "down"]
        heapq.heapify(self._queue)

    def _drain(self, sock: socket.socket) -> None:
        while True:
            try:
                data, source = sock.recvfrom(MAX_DATAGRAM)
            except BlockingIOError:
                return
            except OSError:  # an ICMP error from an earlier send surfaces here
                self.counters.errors += 1
                continue
            if sock is self._listen:
                self._from_peer(data, source)
            else:
                self._from_target(sock, data, source)

    def _from_peer(self, data: bytes, peer: Address) -> None:
        if self._target is None:
            self.counters.stray += 1
            return
        upstream = self._upstream.get(peer)
        if upstream is None:
            if len(self._upstream) >= MAX_PEERS:
                self.counters.refused_peers += 1
                return
            upstream = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            upstream.bind((self._host, 0))
            upstream.setblocking(False)
            self._upstream[peer] = upstream
            self._peer_of[upstream] = peer
            self._selector.register(upstream, selectors.EVENT_READ)
        self._schedule(upstream, self._target, data, "up")

    def _from_target(self, sock: socket.socket, data: bytes, source: Address) -> None:
        peer = self._peer_of.get(sock)
        if peer is None or source != self._target:
            self.counters.stray += 1
            return
        self._schedule(self._listen, peer, data, "down")

    def _schedule(self, sock: socket.socket, to: Address, data: bytes, way: Direction) -> None:
        imp = self._impairment
        if imp.loss > 0 and self._random.random() < imp.loss:
            self.counters.dropped[way] += 1
            return
        delay = imp.delay_ms
        if imp.jitter_ms > 0:
            delay = max(0.0, delay + self._random.uniform(-imp.jitter_ms, imp.jitter_ms))
        if delay <= 0 and not self._queue:
            self._send(sock, to, data, way)
            return
        due = _Due(time.monotonic() + delay / 1000.0, next(self._seq), sock, to, data, way)
        heapq.heappush(self._queue, due)

    def _send_due(self) -> None:
        now = time.monotonic()
        while self._queue and self._queue[0].at <= now:
            due = heapq.heappop(self._queue)
            if due.sock.fileno() >= 0:  # its peer's socket may have gone with a retarget
                self._send(due.sock, due.to, due.data, due.direction)

    def _send(self, sock: socket.socket, to: Address, data: bytes, way: Direction) -> None:
        try:
            sock.sendto(data, to)
        except OSError:
            self.counters.errors += 1
            return
        self.counters.forwarded[way] += 1


@contextmanager
def lossy_relay(target: Address | None = None, seed: int = 0) -> Iterator[LossyRelay]:
    relay = LossyRelay(target, seed)
    try:
        yield relay
    finally:
        relay.close()
