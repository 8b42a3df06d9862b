"""Shared steps of the Go Live tests: a runtime signed in to a real backend, its events,
and waits on what the gateway and the panel say."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from app.relay_client import RelayClient, TokenSource
from app.runtime import AnyEvent, Runtime
from app.session_link import events as ev
from app.session_link.vault import MemoryVault
from tests.app.core_config import light_config
from tests.cloud.relay.peers import Show
from tests.support.api import Director, bearer
from tests.support.cloud import CloudServer


class Recorder:
    """Every event the runtime emits, in order, for the test thread to wait on."""

    def __init__(self) -> None:
        self.events: list[AnyEvent] = []
        self._changed = threading.Condition()

    def __call__(self, event: AnyEvent) -> None:
        with self._changed:
            self.events.append(event)
            self._changed.notify_all()

    def wait_for(self, check: type, within: float = 10.0) -> AnyEvent:
        with self._changed:
            found = self._changed.wait_for(
                lambda: next((e for e in self.events if isinstance(e, check)), None), within
            )
            assert found, f"no {check.__name__} in {self.events}"
            return found

    def streams(self) -> list[ev.StreamChanged]:
        """The panel's stream stats that had layers in them."""
        return [e for e in self.events if isinstance(e, ev.StreamChanged) and e.layers]

    def streaming(self) -> bool:
        """The latest stats say every layer is connected and sending."""
        stream = self.streams()
        return bool(stream) and all(
            layer.connected and layer.fps > 0 for layer in stream[-1].layers
        )


def fast_relay(url: str, token: TokenSource) -> RelayClient:
    return RelayClient(url, token, heartbeat_s=0.5, backoff_s=(0.1, 0.5))


@contextmanager
def director_runtime(
    server: CloudServer, director: Director, session_id: str | None = None, **config: Any
) -> Iterator[tuple[Runtime, Recorder]]:
    """The app's core, signed in as `director` (and on `session_id` when given); on the
    way out it stops any stream it started and the runtime itself. `config` overrides
    RuntimeConfig fields (sources, audio ...)."""
    seen = Recorder()
    base = light_config(control=False, relay_factory=fast_relay)
    rt = Runtime(replace(base, **config), vault=MemoryVault())
    rt.start()
    rt.subscribe(seen)
    try:
        logged_in = rt.call(
            lambda link: link.login(server.base_url, director.email, director.password)
        )
        assert logged_in.result(20) is True, seen.events
        if session_id is not None:
            rt.call(lambda link: link.choose_session(session_id)).result(20)
        yield rt, seen
    finally:
        rt.call(lambda link: link.stop_live()).result(10)
        rt.stop()


def wait(check: Callable[[], bool], within: float, what: Callable[[], object]) -> None:
    deadline = time.monotonic() + within
    while not check() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert check(), what()


def wait_status(
    server: CloudServer,
    show: Show,
    viewer: str,
    live: bool,
    within: float,
    layers: list[str] | None = None,
) -> Any:
    """The gateway's /whep status once it says `live` and, when given, has `layers` (or
    whatever it says at `within`). The gateway is live from the first layer on; the second
    may publish a moment later, so a test that needs both must say so here."""
    deadline = time.monotonic() + within
    with server.client() as http:
        while True:
            r = http.get(f"/whep/{show.session_id}/status", headers=bearer(viewer))
            assert r.status_code == 200, r.text
            status = r.json()
            wanted = status["live"] == live and (layers is None or status["layers"] == layers)
            if wanted or time.monotonic() > deadline:
                return status
            time.sleep(0.2)
