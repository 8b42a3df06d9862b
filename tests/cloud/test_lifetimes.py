"""Token lifetimes as flags, so a day of tokens lasts seconds: access, refresh, invite and
participant tokens each expire when the flags say, and the page-style renewal outlives
them all."""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from cloud.cli import build_parser, settings_from_args
from cloud.config import ConfigError
from tests.support.api import bearer, create_session, invite, redeem, register
from tests.support.cloud import CLI, RELAXED_RATES, CloudServer

ACCESS_S, REFRESH_S, INVITE_S, PARTICIPANT_S = 2, 6, 3, 3


@pytest.fixture(scope="module")
def fast_day(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudServer]:
    work = tmp_path_factory.mktemp("cloud-fast-day")
    flags = [*RELAXED_RATES, "--access-ttl-s", str(ACCESS_S), "--refresh-ttl-s", str(REFRESH_S)]
    # Two by the environment, as a deployment would set them.
    env = {
        "RETURNFEED_INVITE_TTL_S": str(INVITE_S),
        "RETURNFEED_PARTICIPANT_TTL_S": str(PARTICIPANT_S),
    }
    server = CloudServer(work, f"sqlite:///{work / 'returnfeed.db'}", flags, env=env)
    yield server
    server.stop()


def test_help_names_the_lifetimes() -> None:
    text = build_parser({}).format_help()
    for flag in ("--access-ttl-s", "--refresh-ttl-s", "--refresh-grace-s", "--invite-ttl-s"):
        assert flag in text
    assert "--participant-ttl-s" in text and "/api/participant/token" in text


@pytest.mark.parametrize(
    ("args", "env", "words"),
    [
        (["--access-ttl-s", "0"], {}, "the access token TTL must be 1..86400 s, not 0"),
        (["--refresh-ttl-s", "-5"], {}, "the refresh token TTL must be 1.."),
        (["--invite-ttl-s", str(31 * 24 * 3600)], {}, "the invite TTL must be 1..2592000 s"),
        ([], {"RETURNFEED_PARTICIPANT_TTL_S": "0"}, "the participant token TTL must be 1.."),
        ([], {"RETURNFEED_REFRESH_GRACE_S": "301"}, "the refresh grace must be 0..300 s"),
    ],
)
def test_lifetimes_out_of_range_are_refused(
    tmp_path: Path, args: list[str], env: dict[str, str], words: str
) -> None:
    parsed = build_parser(env).parse_args(["--data-dir", str(tmp_path), *args])
    with pytest.raises(ConfigError, match=re.escape(words)):
        settings_from_args(parsed, env)


def test_a_malformed_lifetime_in_the_environment_is_a_clear_error(tmp_path: Path) -> None:
    out = subprocess.run(
        [str(CLI), "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "RETURNFEED_INVITE_TTL_S": "a week"},
        check=False,
    )
    assert out.returncode == 2, out.stderr
    assert out.stderr == "returnfeed-cloud: RETURNFEED_INVITE_TTL_S='a week' is not an integer\n"


def _poll(
    request: Callable[[], httpx.Response],
    done: Callable[[httpx.Response], bool],
    within: float,
    what: str,
) -> httpx.Response:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        r = request()
        if done(r):
            return r
        time.sleep(0.1)
    raise AssertionError(f"{what} within {within} s")


def test_access_and_refresh_tokens_expire_when_the_flags_say(fast_day: CloudServer) -> None:
    with fast_day.client() as c:
        d = register(c)
        login = c.post("/api/auth/login", json={"email": d.email, "password": d.password}).json()
        assert (login["expires_in"], login["refresh_expires_in"]) == (ACCESS_S, REFRESH_S)

        expired = _poll(
            lambda: c.get("/api/auth/me", headers=bearer(login["access_token"])),
            lambda r: r.status_code == 401,
            ACCESS_S + 5,
            "the access token did not expire",
        )
        assert "expired" in expired.json()["error"]["message"]
        fresh = c.post("/api/auth/refresh", json={"refresh_token": login["refresh_token"]})
        assert fresh.status_code == 200, fresh.text
        assert c.get("/api/auth/me", headers=bearer(fresh.json()["access_token"])).is_success

        # A refresh token left unused past its lifetime ends the login.
        time.sleep(fresh.json()["refresh_expires_in"] + 0.5)
        late = c.post("/api/auth/refresh", json={"refresh_token": fresh.json()["refresh_token"]})
        assert late.status_code == 401
        assert "expired" in late.json()["error"]["message"]


def _at(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def test_invites_default_to_the_flag_and_participants_outlive_their_tokens(
    fast_day: CloudServer,
) -> None:
    with fast_day.client() as c:
        d = register(c)
        sid = create_session(c, d)["id"]
        inv = invite(c, d, sid, "camera", camera=1)
        lasts = _at(inv["expires_at"]) - _at(inv["created_at"])
        assert lasts.total_seconds() == INVITE_S
        asked = invite(c, d, sid, "viewer", ttl_seconds=120)  # a director's choice still wins
        assert (_at(asked["expires_at"]) - _at(asked["created_at"])).total_seconds() == 120

        joined = redeem(c, inv["token"]).json()
        assert joined["expires_in"] == PARTICIPANT_S, "the token's own lifetime, not the link's"
        first = joined["participant_token"]

        # Renew as the pages do, past half of each token's life, for several lifetimes: the
        # invite and the first tokens expire meanwhile, the membership does not.
        token, renewed_at, renewals = first, time.monotonic(), 0
        while renewals < 4:
            time.sleep(max(0.0, renewed_at + PARTICIPANT_S / 2 - time.monotonic()))
            r = c.post("/api/participant/token", headers=bearer(token))
            assert r.status_code == 200, r.text
            assert r.json()["expires_in"] == PARTICIPANT_S
            token, renewed_at, renewals = (
                r.json()["participant_token"],
                time.monotonic(),
                renewals + 1,
            )
        assert redeem(c, inv["token"]).json()["error"]["details"]["reason"] == "expired"
        me = c.get("/api/participant", headers=bearer(token))
        assert me.status_code == 200 and me.json()["id"] == joined["participant"]["id"]

        # The first token expired long ago: it is refused, and cannot be renewed either.
        for method, path in (("GET", "/api/participant"), ("POST", "/api/participant/token")):
            r = c.request(method, path, headers=bearer(first))
            assert r.status_code == 401, (path, r.text)
            assert r.json()["error"]["details"]["reason"] == "token_expired"
