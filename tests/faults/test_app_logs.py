"""The director's app on air against a JSON-logging backend: it logs in with email and
password, chooses the session (invite links made), goes live (relay, SRT with the session's
passphrase), and a camera phone's invite is redeemed and its phone joins the relay. Neither
the app's own log lines (INFO and above, every logger of this process) nor the backend's
hold the email, the password, an invite or participant token, the SRT passphrase or publish
token, or any JWT; every backend line is JSON."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tally import Role
from tests.cloud.gateway.helpers import run_async
from tests.cloud.relay.peers import connect_peer
from tests.faults.chain import Backend, fault_config, live_app, new_show
from tests.support.api import redeem
from tests.support.jsonlog import json_lines


async def phone_joins(url: str, token: str) -> None:
    async with connect_peer(url, token, Role.CAMERA, assign=1) as phone:
        assert phone.snapshot is not None


def test_the_director_app_on_air_logs_no_secret(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    backend = Backend(
        tmp_path, f"sqlite:///{tmp_path / 'returnfeed.db'}", env={"RETURNFEED_LOG_FORMAT": "json"}
    )
    try:
        show = new_show(backend)
        caplog.set_level(logging.INFO)
        with live_app(backend, show, fault_config(), {1: "test-1", 2: "test-2"}) as app:
            invite_token = app.invite_url("camera", 1).rsplit("#", 1)[1]
            with backend.client() as api:
                srt = api.get(f"/api/sessions/{show.session_id}/srt", headers=show.director.auth)
                joined = redeem(api, invite_token)
            assert joined.status_code == 201, joined.text
            phone = joined.json()["participant_token"]
            relay = backend.base_url.replace("http", "ws", 1) + f"/api/relay/{show.session_id}"
            run_async(phone_joins(relay, phone))
        assert backend.alive(), backend.log_text()[-3000:]
    finally:
        backend.stop()

    secrets = {
        "email": show.director.email,
        "password": show.director.password,
        "camera invite": invite_token,
        "camera participant token": phone,
        "SRT passphrase": srt.json()["passphrase"],
        "SRT publish token": srt.json()["publish_token"],
        "a JWT (access or participant token)": "eyJ",
    }
    every_invite = [i.url.rsplit("#", 1)[1] for i in app.chosen.invites]
    app_log = caplog.text
    backend_log = backend.log_text()
    assert len(caplog.records) > 10, app_log  # the app did log: relay, SRT, encoder lines
    for name, secret in [*secrets.items(), *(("an invite", t) for t in every_invite)]:
        assert secret not in app_log, f"the director's app logged {name}"
        assert secret not in backend_log, f"the backend logged {name}"
    json_lines(backend_log)
