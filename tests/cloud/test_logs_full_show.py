"""A whole show against the real backend in `--log-format json`: a director registers and
signs in (and once mistypes the password), makes a session, hands out invites that are
redeemed, holds relay connections with a phone, a real `returnfeed send --cloud` publishes
with its SRT passphrase, an aiortc viewer watches over WHEP, Prometheus' token scrapes
/metrics, and the director logs out.

Then the backend's and the sender's whole logs are read: no secret the show used and not
the email appears in either; every backend line is a JSON object with the required keys;
the viewer's lines, up to its close by a later DELETE, carry the id of the WHEP POST that
made it; each relay connection's lines carry the id of its upgrade request.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tally import Role
from tests.cloud.gateway.helpers import new_show, on_air, run_async, watch
from tests.cloud.relay.peers import connect_peer
from tests.support.api import invite, redeem, register
from tests.support.cloud import METRICS_TOKEN, CloudServer, gateway_server
from tests.support.jsonlog import json_lines


async def relay_round(cloud: CloudServer, session_id: str, director: str, phone: str) -> list[str]:
    """A director and a camera phone on the session's relay, then a second director who
    takes the session over; the request ids the backend answered their upgrades with."""
    url = cloud.base_url.replace("http://", "ws://") + f"/api/relay/{session_id}"
    async with (
        connect_peer(url, director, Role.DIRECTOR) as desk,
        connect_peer(url, phone, Role.CAMERA, assign=1) as cam,
    ):
        assert desk.snapshot is not None and cam.snapshot is not None
        async with connect_peer(url, director, Role.DIRECTOR, takeover=True) as other:
            assert other.directors is not None
            await desk.closed()
        return [str(peer.ws.response.headers["x-request-id"]) for peer in (desk, cam, other)]


def test_a_show_leaves_no_secret_in_the_logs_and_ids_on_every_caused_line(
    tmp_path: Path,
) -> None:
    cloud = gateway_server(tmp_path, env={"RETURNFEED_LOG_FORMAT": "json"})
    assert cloud.srt_port is not None
    try:
        with cloud.client() as api:
            director = register(api)
            signed_in = api.post(
                "/api/auth/login", json={"email": director.email, "password": director.password}
            ).json()
            wrong = {"email": director.email, "password": "not the password at all"}
            assert api.post("/api/auth/login", json=wrong).status_code == 401
            show = new_show(api, director)
            camera_link = invite(api, director, show.session_id, "camera", 1)
            phone = redeem(api, camera_link["token"]).json()["participant_token"]
            relay_ids = run_async(relay_round(cloud, show.session_id, director.access, phone))
            with on_air(
                api, show, cloud.srt_port, tmp_path, cloud=(cloud.base_url, director.access)
            ):
                watched = watch(cloud, show, 3.0)
            assert watched.status == 201 and watched.video_frames > 0, watched
            assert "simulcast_active_viewers" in cloud.metrics_text()
            for refresh in (director.refresh, signed_in["refresh_token"]):
                assert (
                    api.post("/api/auth/logout", json={"refresh_token": refresh}).status_code == 204
                )
    finally:
        cloud.stop()

    secrets = {
        "email": director.email,
        "password": director.password,
        "access token": director.access,
        "refresh token": director.refresh,
        "second access token": signed_in["access_token"],
        "second refresh token": signed_in["refresh_token"],
        "viewer invite": show.viewer_invite,
        "viewer participant token": show.viewer_token,
        "camera invite": camera_link["token"],
        "camera participant token": phone,
        "SRT passphrase": show.srt["passphrase"],
        "SRT publish token": show.srt["publish_token"],
        "metrics token": METRICS_TOKEN,
    }
    backend_log = cloud.log_text()
    sender_log = (tmp_path / "send.log").read_text(errors="replace")
    for name, secret in secrets.items():
        assert secret not in backend_log, f"the backend logged the {name}"
        assert secret not in sender_log, f"returnfeed send logged the {name}"

    lines = json_lines(backend_log)  # every line, or it fails naming the first that is not
    viewer_id = str(watched.location).rsplit("/", 1)[1]
    post = one(
        lines, logger="uvicorn.access", method="POST", path=f"/whep/{show.session_id}?mode=…"
    )
    delete = one(lines, logger="uvicorn.access", method="DELETE", path=watched.location)
    viewer = [line for line in lines if line.get("viewer_id") == viewer_id]
    assert {line["request_id"] for line in viewer} == {post["request_id"]}, viewer
    said = [line["message"] for line in viewer]
    assert said == [f"viewer {viewer_id} connected", f"viewer {viewer_id} closed"], said
    assert delete["request_id"] != post["request_id"]

    # The SRT ingest's lines are no request's, but they carry the publisher's fields.
    published = [line for line in lines if line["message"].startswith("SRT publisher ")]
    layers = {(line["session_id"], line["layer"]) for line in published}
    assert layers == {(show.session_id, "hi"), (show.session_id, "lo")}, published

    desk, cam, other = relay_ids
    for role, rid in (("director", desk), ("camera", cam), ("director", other)):
        relay = [line for line in lines if line.get("request_id") == rid]
        said = [line["message"] for line in relay]
        assert f"relay: a {role} joined" in said, said
        assert any(text.startswith(f"relay: the {role} left (") for text in said), said
        assert any(
            line["logger"] == "uvicorn.error" and "[accepted]" in line["message"] for line in relay
        )
        assert {line["session_id"] for line in relay if "session_id" in line} == {show.session_id}
    # The room logs the takeover while handling the joining director's hello: that id.
    took = one(lines, message=f"a director took over session {show.session_id}")
    assert took["request_id"] == other

    accounts = [line for line in lines if line["logger"] == "cloud.api.accounts"]
    assert [line["message"].split(" ")[-1] for line in accounts] == ["registered", "in", "password"]


def one(lines: list[dict[str, Any]], **fields: object) -> dict[str, Any]:
    found = [line for line in lines if all(line.get(k) == v for k, v in fields.items())]
    assert len(found) == 1, (fields, found)
    return found[0]
