"""A day of show in a minute: outages that land on a token refresh, links that outlive
their invites, and odd failures injected in each long-lived task of Go Live.

`returnfeed-cloud` runs on loopback with lifetimes of seconds (--access-ttl-s,
--invite-ttl-s); the app is the real core signed in as the director (tests/app/live.py).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.session_link import events as ev
from app.session_link.cloud_api import CloudApi, Participant
from media.send.output import OutputStats, SimulcastOutput
from tests.app.conftest import sqlite_backend
from tests.app.live import Recorder, director_runtime, wait
from tests.support.api import create_session, redeem, register
from tests.support.cloud import CloudServer

ACCESS_TTL_S = 4
INVITE_TTL_S = 12


@pytest.fixture
def server(tmp_path: Path) -> Iterator[CloudServer]:
    env = {
        "RETURNFEED_ACCESS_TTL_S": str(ACCESS_TTL_S),
        "RETURNFEED_INVITE_TTL_S": str(INVITE_TTL_S),
    }
    with sqlite_backend(tmp_path, env) as server:
        yield server


def relay_up(seen: Recorder) -> bool:
    live = [e for e in seen.events if isinstance(e, ev.LiveChanged)]
    return bool(live) and live[-1].live and live[-1].relay_connected


def degraded(seen: Recorder) -> tuple[ev.Degraded, ...]:
    health = [e for e in seen.events if isinstance(e, ev.HealthChanged)]
    return health[-1].degraded if health else ()


def down(seen: Recorder, link: str) -> ev.Degraded | None:
    return next((d for d in degraded(seen) if d.link == link), None)


def test_the_relay_comes_back_when_its_token_expired_during_the_outage(
    server: CloudServer,
) -> None:
    """The access token needs refreshing while the backend is down: the failed refresh is
    retried like any failure, and the phones get tally again once it is back."""
    with server.client() as http:
        director = register(http)
        session = create_session(http, director, name="All day", cameras=1)
    with director_runtime(server, director, session["id"]) as (rt, seen):
        rt.call(lambda link: link.go_live()).result(20)
        wait(lambda: relay_up(seen), 20, lambda: seen.events[-5:])
        server.stop()
        wait(lambda: down(seen, "relay") is not None, 20, lambda: seen.events[-5:])
        outage = down(seen, "relay")
        assert outage is not None and outage.since <= time.time()
        # Longer than the access token lives: every reconnect now must refresh it first.
        time.sleep(ACCESS_TTL_S + 1)
        server.start()
        wait(lambda: relay_up(seen), 20, lambda: (seen.events[-5:], server.log_text()[-2000:]))
        wait(lambda: down(seen, "relay") is None, 10, lambda: degraded(seen))
        stopped = [e for e in seen.events if isinstance(e, ev.LiveChanged) and not e.live]
        assert stopped == [], "the show never stopped by itself"


def test_links_are_reissued_before_they_expire_and_the_new_ones_let_a_phone_in(
    server: CloudServer,
) -> None:
    with server.client() as http:
        director = register(http)
        session = create_session(http, director, name="A week and more", cameras=2)
    with director_runtime(server, director, session["id"]) as (rt, seen):
        chosen = seen.wait_for(ev.SessionChosen)
        assert isinstance(chosen, ev.SessionChosen)
        first = {i.url for i in chosen.invites}
        rt.call(lambda link: link.go_live()).result(20)
        # A quarter of the lifetime before the old links expire, new ones replace them.
        renewed = seen.wait_for(ev.InvitesChanged, INVITE_TTL_S + 10)
        assert isinstance(renewed, ev.InvitesChanged)
        assert not first & {i.url for i in renewed.invites}
        assert {i.camera_number for i in renewed.invites if i.role == "camera"} == {1, 2}
        with server.client() as http:
            for invite in renewed.invites:
                r = redeem(http, invite.url.split("#", 1)[1])
                assert r.status_code == 201, r.text


def test_a_reused_session_gets_new_links_for_expired_ones(server: CloudServer) -> None:
    with server.client() as http:
        director = register(http)
        session = create_session(http, director, name="Tomorrow again", cameras=1)
    with director_runtime(server, director, session["id"]) as (rt, seen):
        chosen = seen.wait_for(ev.SessionChosen)
        assert isinstance(chosen, ev.SessionChosen)
        old = {i.url for i in chosen.invites}
        time.sleep(INVITE_TTL_S)  # every link the first choice made has expired now
        seen.events.clear()
        rt.call(lambda link: link.choose_session(session["id"])).result(20)
        again = seen.wait_for(ev.SessionChosen)
        assert isinstance(again, ev.SessionChosen)
        assert not old & {i.url for i in again.invites}
        assert len(again.invites) == 2


def test_a_failing_phones_poll_is_restarted_and_shown_meanwhile(
    server: CloudServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An exception nobody expected in a supervised task: shown, retried, gone."""
    real = CloudApi.participants
    calls = {"n": 0}

    async def odd(self: CloudApi, access: str, session_id: str) -> list[Participant]:
        calls["n"] += 1
        if calls["n"] == 2:
            raise ZeroDivisionError("a bug in the phones poll")
        return await real(self, access, session_id)

    monkeypatch.setattr(CloudApi, "participants", odd)
    with server.client() as http:
        director = register(http)
        session = create_session(http, director, name="Bugs happen", cameras=1)
    with director_runtime(server, director, session["id"]) as (rt, seen):
        rt.call(lambda link: link.go_live()).result(20)
        wait(lambda: down(seen, "phones") is not None, 20, lambda: seen.events[-5:])
        failure = down(seen, "phones")
        assert failure is not None and "ZeroDivisionError" in failure.detail
        wait(lambda: calls["n"] >= 3 and down(seen, "phones") is None, 20, lambda: degraded(seen))
        polls = [e for e in seen.events if isinstance(e, ev.PhonesChanged)]
        assert len(polls) >= 2  # before and after the failure


def test_a_failing_program_stream_is_rebuilt_and_shown_meanwhile(
    server: CloudServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug in the output's stats ends that output; the supervisor builds a new one."""
    real = SimulcastOutput.stats
    calls = {"n": 0}

    def odd(self: SimulcastOutput) -> OutputStats:
        calls["n"] += 1
        if calls["n"] == 5:
            raise RuntimeError("a bug in the output's stats")
        return real(self)

    monkeypatch.setattr(SimulcastOutput, "stats", odd)
    with server.client() as http:
        director = register(http)
        session = create_session(http, director, name="Encoders crash", cameras=1)
    with director_runtime(server, director, session["id"]) as (rt, seen):
        rt.call(lambda link: link.go_live()).result(20)
        wait(lambda: down(seen, "program stream") is not None, 30, lambda: seen.events[-5:])
        failure = down(seen, "program stream")
        assert failure is not None and "a bug in the output" in failure.detail
        failed_at = len(seen.events)
        wait(lambda: down(seen, "program stream") is None, 20, lambda: degraded(seen))
        wait(
            lambda: seen.streaming() and len(seen.events) > failed_at,
            30,
            lambda: seen.events[-3:],
        )
        stopped = [e for e in seen.events if isinstance(e, ev.LiveChanged) and not e.live]
        assert stopped == []
