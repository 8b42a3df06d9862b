"""A thousand bad messages on the relay and garbage on the SRT port, all at once, while a
show is live: the backend stays up, the phone keeps its tally, a viewer still decodes, the
director's stream never drops, the abuse is counted, and memory does not run away.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.session_link import events as ev
from media.send.output import SimulcastOutput
from media.srt import RejectReason
from tally import Lamp, Role
from tests.app.test_go_live import lamp_becomes
from tests.cloud.gateway.helpers import run_async, watch_with_aiortc
from tests.cloud.relay.peers import Show, connect_peer
from tests.faults.abuse import flood_relay, srt_garbage, udp_garbage
from tests.faults.chain import Backend, fault_config, gateway_live, live_app, new_show, poll

BAD_MESSAGES = 1000
ABUSERS = 8
# The backend's resident memory may grow by this much under the abuse (measured: about
# 17 MiB, a WebRTC viewer included; a leak per message or connection would be far more).
RSS_GROWTH_KIB = 64 * 1024


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[Backend]:
    backend = Backend(tmp_path, f"sqlite:///{tmp_path / 'returnfeed.db'}")
    yield backend
    backend.stop()


def test_a_thousand_bad_messages_and_srt_garbage_leave_the_show_running(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    outputs: list[SimulcastOutput] = []
    original_start = SimulcastOutput.start

    def start(self: SimulcastOutput) -> None:
        outputs.append(self)
        original_start(self)

    monkeypatch.setattr(SimulcastOutput, "start", start)
    show = new_show(backend)
    relay_show = Show(backend, show.director, show.session_id)
    # A second session whose (right) credentials publish garbage.
    other = new_show(backend, cameras=1)
    with backend.client() as http:
        srt = http.get(f"/api/sessions/{show.session_id}/srt", headers=show.director.auth).json()
        other_srt = http.get(
            f"/api/sessions/{other.session_id}/srt", headers=other.director.auth
        ).json()
    viewer = relay_show.token("viewer")
    tokens = [relay_show.token("viewer") for _ in range(3)]
    tokens += [relay_show.token("camera", 2), "not-a-token", show.director.access[:-4] + "AAAA"]
    tokens += [other.director.access]  # a real token, for another session

    with live_app(backend, show, fault_config(), {1: "test-1", 2: "test-2"}) as app:
        app.post("/api/program/test-1")
        app.post("/api/preview/test-2")
        (output,) = outputs
        poll(lambda: gateway_live(backend, show.session_id, viewer), 15, "the show live")
        before = {
            "rss": backend.rss_kib(),
            "auth": backend.metric("returnfeed_auth_failures", reason="relay_token"),
            "closed": backend.metric("returnfeed_relay_closed"),
            "srt_errors": backend.metric("gateway_srt_stream_errors"),
            **{
                reason: backend.metric("gateway_srt_refused", reason=reason)
                for reason in ("bad_request", "forbidden", "conflict")
            },
        }
        abuse_from = time.monotonic()

        async def scenario() -> None:
            async with connect_peer(
                relay_show.url, relay_show.token("camera", 1), Role.CAMERA, assign=1, beat=1.0
            ) as phone:
                await lamp_becomes(phone, 1, Lamp.PROGRAM)
                flood = asyncio.create_task(
                    flood_relay(relay_show.url, tokens, BAD_MESSAGES, ABUSERS)
                )
                udp = asyncio.create_task(asyncio.to_thread(udp_garbage, backend.srt_port, 1000))
                garbage = asyncio.create_task(
                    asyncio.to_thread(
                        srt_garbage,
                        backend.srt_port,
                        other.session_id,
                        other_srt["publish_token"],
                        other_srt["passphrase"],
                        (show.session_id, srt["publish_token"], srt["passphrase"]),
                    )
                )
                relay = await flood
                srt_out = await garbage
                await udp
                print(f"relay abuse: {relay}; srt abuse: {srt_out}")
                assert relay.sent >= BAD_MESSAGES, relay
                # Most got an `error` answer; the rest ended their connection (a message far
                # over the limit, ten malformed in a row, a wrong token).
                assert relay.answered > BAD_MESSAGES // 2, relay
                assert {"1009", "4400", "4401"} <= set(relay.closes), relay
                assert RejectReason.BAD_REQUEST in srt_out.refused, srt_out
                assert RejectReason.BADSECRET in srt_out.refused, srt_out
                assert RejectReason.FORBIDDEN in srt_out.refused, srt_out
                assert RejectReason.CONFLICT in srt_out.refused, srt_out
                # The phone that was there all along still follows the director.
                await asyncio.to_thread(app.post, "/api/cut")
                await lamp_becomes(phone, 1, Lamp.PREVIEW)
            # And a phone that joins now gets its snapshot.
            async with connect_peer(
                relay_show.url, relay_show.token("camera", 2), Role.CAMERA, assign=2
            ) as late:
                await lamp_becomes(late, 2, Lamp.PROGRAM)

        run_async(scenario())
        took = time.monotonic() - abuse_from

        assert backend.alive(), backend.log_text()[-3000:]
        assert httpx.get(f"{backend.base_url}/api/health", timeout=5).status_code == 200
        # The abuse was counted.
        assert backend.metric("returnfeed_auth_failures", reason="relay_token") > before["auth"]
        assert backend.metric("returnfeed_relay_closed") > before["closed"]
        # (a wrong passphrase is refused by libsrt itself, after the gateway said yes)
        for reason in ("bad_request", "forbidden", "conflict"):
            assert backend.metric("gateway_srt_refused", reason=reason) > before[reason], reason
        poll(
            lambda: backend.metric("gateway_srt_stream_errors") > before["srt_errors"],
            10,
            "the garbage streams to be counted",
        )
        # The director's stream and relay link never dropped.
        assert gateway_live(backend, show.session_id, viewer)
        assert [output.stats().layer(n).connects for n in ("hi", "lo")] == [1, 1]
        drops = [
            e
            for t, e in app.timeline.since(abuse_from)
            if isinstance(e, ev.LiveChanged) and not e.relay_connected
        ]
        assert not drops, drops
        # A viewer decodes the program.
        watched = run_async(watch_with_aiortc(backend.base_url, show.session_id, viewer, 4.0))
        assert watched.status == 201 and watched.video_frames > 10, watched
        rss = backend.rss_kib()
        print(
            f"abuse took {took:.1f} s; backend RSS {before['rss'] // 1024} -> {rss // 1024} MiB; "
            f"viewer decoded {watched.video_frames} frames"
        )
        assert rss - before["rss"] < RSS_GROWTH_KIB, (before["rss"], rss)
