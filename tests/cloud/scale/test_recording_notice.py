"""The recording switch set through a process that is not the session's owner: the owner,
the only one that records, hears it over Redis (cloud/scale/notices.py) and ends or begins
the recording at once, not at its next credentials refresh (30 s)."""

from __future__ import annotations

import time
from pathlib import Path

from tests.cloud.gateway.helpers import live, new_show, publisher
from tests.cloud.record.support import recordings, wait_recordings
from tests.cloud.scale.pair import notices_listening, two_processes
from tests.support.api import register
from tests.support.procs import wait_until

AT_ONCE_S = 5.0  # "within about a second", with room for a loaded CI machine


def test_switched_through_another_process_the_owner_records_accordingly(
    tmp_path: Path,
) -> None:
    with two_processes(tmp_path) as (_, a, b):
        with a.client() as api:
            director = register(api)
            show = new_show(api, director)  # A owns the session and records it
        notices_listening(a, b)
        assert a.srt_port is not None
        sid = show.session_id
        switch = f"/api/sessions/{sid}/recording"
        sending = publisher(show, a.srt_port, tmp_path / "send.log", layers="hi")
        with sending as sender, a.client() as api_a, b.client() as api_b:
            wait_until(lambda: live(api_a, show), 30, f"on air at A\n{sender.tail()}")
            (first,) = wait_recordings(api_a, sid, director, 1, "recording")

            r = api_b.patch(switch, json={"on": False}, headers=director.auth)
            assert r.status_code == 200 and r.json()["on"] is False, r.text
            off_at = time.monotonic()

            def stopped() -> bool:
                current = recordings(api_a, sid, director.auth)["current"]
                return current == {
                    "state": "ended",
                    "recording_id": first["id"],
                    "reason": "stopped",
                }

            wait_until(stopped, AT_ONCE_S, f"A ends it\n{a.log_text()[-2000:]}")
            ended = time.monotonic() - off_at

            r = api_b.patch(switch, json={"on": True}, headers=director.auth)
            assert r.status_code == 200 and r.json()["on"] is True, r.text
            on_at = time.monotonic()

            def began() -> bool:
                current = recordings(api_a, sid, director.auth)["current"]
                return bool(current) and current["recording_id"] != first["id"]

            wait_until(began, AT_ONCE_S, f"A begins another\n{a.log_text()[-2000:]}")
            begun = time.monotonic() - on_at
            assert live(api_a, show), "the show went on"
        print(f"\nswitched through B: A ended it after {ended:.2f} s, began after {begun:.2f} s")
