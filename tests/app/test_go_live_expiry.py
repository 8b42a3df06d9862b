"""Go Live outlasts its publish token: after a 1403 it fetches the credentials again.

`returnfeed-cloud` runs on loopback with tokens that live a few seconds and its SRT
listener on a port it keeps across a restart. The app goes live; once every token it could
hold has expired the backend restarts (the director "loses the link"). The reconnect is
refused as expired, and the app must fetch the session's credentials again (which renews
the token) and be back on air by itself, both layers.

Before that, what decides when to fetch (app/srt_renewal.py), on its own: every refusal is
seen whenever the look lands, and a failed fetch is tried again soon, not at the next
refusal.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from app import srt_renewal
from app.session_link import events as ev
from app.session_link.cloud_api import CloudError, CloudUnreachable
from app.srt_renewal import CredentialRenewal, RefusalWatch
from media.clock import ClockConfig, ProgramClock
from media.encode.config import EncoderConfig
from media.send.link import LinkPhase
from media.send.output import LayerStats, OutputStats, SimulcastOutput
from media.srt import RejectReason, SrtConnection, SrtOptions, SrtRejected
from media.switcher import SwitcherState
from tests.app.live import director_runtime, wait, wait_status
from tests.cloud.relay.peers import Show
from tests.media.encode.show import target
from tests.media.encode.support import HoldAtRefusal
from tests.support.api import create_session, register
from tests.support.cloud import CloudServer, gateway_server

TTL_S = 8
FORBIDDEN = RejectReason.FORBIDDEN


@pytest.fixture
def server(tmp_path: Path) -> Iterator[CloudServer]:
    server = gateway_server(tmp_path, env={"RETURNFEED_SRT_TOKEN_TTL_S": str(TTL_S)})
    yield server
    assert server.alive(), server.log_text()[-3000:]
    server.stop()


def test_go_live_reconnects_after_its_token_expired(
    server: CloudServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A layer down for UNREACHABLE_S reads the target again (a moved owner, docs/scale.md),
    # which renews the token too: a restart slower than that (a loaded CI machine) never
    # showed the refusal this test is about. That path has its own tests.
    monkeypatch.setattr(srt_renewal, "UNREACHABLE_S", 3600.0)
    with server.client() as http:
        director = register(http)
        session = create_session(http, director, name="Long show", cameras=1)
    show = Show(server, director, session["id"])
    viewer = show.token("viewer")
    with director_runtime(server, director, session["id"]) as (rt, seen):
        chosen = seen.wait_for(ev.SessionChosen)
        assert isinstance(chosen, ev.SessionChosen) and chosen.srt.expires_at is not None
        rt.call(lambda link: link.go_live()).result(20)
        wait(seen.streaming, 20, lambda: "the program stream")
        # Every token the app fetched before it streamed has expired by now.
        time.sleep(TTL_S + 0.5)
        assert seen.streaming(), "expiry must not cut a connected stream"

        server.stop()
        server.start()

        # Both layers: reading "live" and then the layers was the flaky part.
        status = wait_status(server, show, viewer, True, 30, ["hi", "lo"])
        assert status["layers"] == ["hi", "lo"], (status, seen.events[-3:])
        assert "publish token expired" in server.log_text()
        wait(seen.streaming, 10, lambda: "the panel to say connected again")


# --- when to fetch (app/srt_renewal.py) ------------------------------------------------


def refused_forbidden(host: str, port: int, options: SrtOptions) -> SrtConnection:
    raise SrtRejected(FORBIDDEN)


def test_a_refusal_counts_when_the_look_lands_before_the_layer_shows_it() -> None:
    """The stats poll runs on its own loop: a busy machine can have it look after a refusal
    was counted and before the layer says "rejected" (or after a retarget woke it). Each
    credentials refusal must still ask for a fetch, once."""
    clock = ProgramClock(lambda: SwitcherState(program="Cam1"), ClockConfig())  # not started
    output = SimulcastOutput(
        clock,
        {"lo": target(9, "lo")},
        EncoderConfig(encoder="libx264"),
        connect_fn=refused_forbidden,
    )
    watch = RefusalWatch()
    with HoldAtRefusal() as hold:
        try:
            output.start()
            assert hold.reached.wait(5)
            in_the_window = output.stats()
            assert in_the_window.layer("lo").phase is LinkPhase.CONNECTING
            looks = [watch.credentials_refused(in_the_window)]
            hold.resume.set()
            wait(lambda: output.stats().layer("lo").phase is LinkPhase.REJECTED, 5, output.stats)
            looks.append(watch.credentials_refused(output.stats()))
        finally:
            output.stop()
    assert looks == [True, False]


Refusals = Mapping[RejectReason, int]


def layer(name: str, refusals: Refusals, phase: LinkPhase) -> LayerStats:
    code = next(iter(refusals), None) if phase is LinkPhase.REJECTED else None
    return LayerStats(
        name, 320, 180, phase.value, phase, code, None, 0.0, 0.0, 0.0, 0.0, 0.0, 0, 0, 0,
        None, None, None, None, None, 0, sum(refusals.values()), 0, 0, 0,
        {int(k): n for k, n in refusals.items()},
    )  # fmt: skip


def stats(**layers: tuple[Refusals, LinkPhase]) -> OutputStats:
    return OutputStats("libx264", 0, tuple(layer(n, r, p) for n, (r, p) in layers.items()))


def test_a_layer_woken_by_new_credentials_is_neither_missed_nor_counted_twice() -> None:
    watch = RefusalWatch()
    connecting = LinkPhase.CONNECTING
    assert not watch.credentials_refused(stats(hi=({}, connecting), lo=({}, connecting)))
    # hi refused; lo refused too, and already woken by the retarget hi's refusal brought.
    refused = stats(hi=({FORBIDDEN: 1}, LinkPhase.REJECTED), lo=({FORBIDDEN: 1}, connecting))
    assert watch.credentials_refused(refused)
    assert not watch.credentials_refused(refused)
    # A conflict (1409) is no credentials refusal; a wrong passphrase (10) is one.
    conflict = {FORBIDDEN: 1, RejectReason.CONFLICT: 3}
    assert not watch.credentials_refused(
        stats(hi=(conflict, connecting), lo=({FORBIDDEN: 1}, connecting))
    )
    badsecret = {FORBIDDEN: 1, RejectReason.BADSECRET: 1}
    assert watch.credentials_refused(stats(hi=(conflict, connecting), lo=(badsecret, connecting)))


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_failed_fetch_is_tried_again_soon_not_at_the_next_refusal() -> None:
    """After a restart the SRT listener can refuse before the HTTP side answers: the fetch
    fails, and the layers' next refusals are 5-60 s away on their slow schedule."""
    clock = FakeClock()
    renewal = CredentialRenewal(clock=clock, rng=random.Random(1))
    quiet = stats(hi=({}, LinkPhase.RETRYING), lo=({}, LinkPhase.RETRYING))
    refused = stats(
        hi=({FORBIDDEN: 1}, LinkPhase.REJECTED), lo=({FORBIDDEN: 1}, LinkPhase.REJECTED)
    )
    assert not renewal.due(quiet)
    assert renewal.due(refused)

    delays = []
    for _ in range(5):  # the backend does not answer yet
        delay = renewal.failed(CloudUnreachable("cannot reach it", "unreachable"))
        assert delay is not None
        delays.append(delay)
        clock.now += delay - 0.01
        assert not renewal.due(refused)  # the same refusals: not yet
        clock.now += 0.02
        assert renewal.due(refused)  # no new refusal needed
    assert 0.4 <= delays[0] <= 0.6 and max(delays) <= 2.4, delays

    renewal.renewed()
    clock.now += 60
    assert not renewal.due(refused)
    assert renewal.retry_in is None
    again = stats(hi=({FORBIDDEN: 2}, LinkPhase.REJECTED), lo=({FORBIDDEN: 1}, LinkPhase.CONNECTED))
    assert renewal.due(again)
    assert 0.4 <= (renewal.failed(CloudError("busy", "http_error", 503)) or 0) <= 0.6


def test_a_fetch_that_retrying_cannot_cure_waits_for_the_next_refusal() -> None:
    clock = FakeClock()
    renewal = CredentialRenewal(clock=clock)
    assert renewal.due(stats(hi=({FORBIDDEN: 1}, LinkPhase.REJECTED)))
    assert renewal.failed(CloudError("no such session", "not_found", 404)) is None
    clock.now += 600
    assert not renewal.due(stats(hi=({FORBIDDEN: 1}, LinkPhase.REJECTED)))
    assert renewal.due(stats(hi=({FORBIDDEN: 2}, LinkPhase.REJECTED)))
    # An owner that reports nothing: the retry was handed out once, no loop of fetches.
    assert renewal.failed() is not None
    clock.now += 10
    assert renewal.due(stats(hi=({FORBIDDEN: 2}, LinkPhase.REJECTED)))
    assert not renewal.due(stats(hi=({FORBIDDEN: 2}, LinkPhase.REJECTED)))
