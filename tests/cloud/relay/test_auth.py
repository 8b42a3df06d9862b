"""Who may connect, with which role: the close codes of docs/relay.md."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from tally import PROTOCOL_VERSION, Assign, Hello, Role
from tests.cloud.relay.peers import Show, connect_peer, new_show
from tests.support.api import register


@pytest.mark.parametrize("header", [False, True], ids=["subprotocol", "header"])
async def test_each_role_connects_with_its_token(show: Show, header: bool) -> None:
    cases = [
        (show.director.access, Role.DIRECTOR),
        (show.token("camera", 1), Role.CAMERA),
        (show.token("viewer"), Role.VIEWER),
    ]
    for token, role in cases:
        async with connect_peer(show.url, token, role, header=header) as peer:
            assert peer.ws.subprotocol == "returnfeed.v1"
            assert peer.snapshot is not None
            assert [c.number for c in peer.snapshot.state.cameras] == [1, 2, 3]


def _forged(user_id: str) -> str:
    now = datetime.now(UTC)
    claims = {"sub": user_id, "fam": "x", "typ": "access", "iss": "returnfeed"}
    claims |= {"iat": int(now.timestamp()), "exp": int((now + timedelta(minutes=5)).timestamp())}
    return jwt.encode(claims, "not-the-server-secret-" * 2, algorithm="HS256")


async def _refused(url: str, token: str | None, header: bool = False) -> tuple[int, str]:
    async with connect_peer(url, token, None, header=header) as peer:
        return await peer.closed()


async def test_refusals_carry_the_documented_codes(show: Show) -> None:
    with show.http() as c:
        stranger = register(c, "Someone else")
        revoked = show.join("camera", 2)
        r = c.delete(
            f"/api/sessions/{show.session_id}/invites/{revoked['invite_id']}",
            headers=show.director.auth,
        )
        assert r.status_code == 204
    other = new_show(show.server)
    cases = {
        "no token": (show.url, None, 4401),
        "garbage token": (show.url, "not-a-token", 4401),
        "forged token": (show.url, _forged("someone"), 4401),
        "revoked invite": (show.url, revoked["participant_token"], 4401),
        "stranger's login": (show.url, stranger.access, 4403),
        "link of another session": (show.url, other.token("camera", 1), 4403),
        "no such session": (
            show.url.rsplit("/", 1)[0] + "/nosuchsession",
            show.director.access,
            4404,
        ),
    }
    for name, (url, token, code) in cases.items():
        got, reason = await _refused(url, token)
        assert got == code, f"{name}: {got} {reason}"
        assert reason, f"{name}: a refusal says why"


async def test_an_ended_session_refuses_everyone(show: Show) -> None:
    phone = show.token("camera", 1)
    with show.http() as c:
        assert c.post(f"/api/sessions/{show.session_id}/end", headers=show.director.auth).is_success
    for token in (show.director.access, phone):
        code, reason = await _refused(show.url, token, header=True)
        assert (code, reason) == (4404, "no such session, or it has ended")


async def test_a_hello_with_another_role_than_the_token_is_refused(show: Show) -> None:
    async with connect_peer(show.url, show.token("viewer"), None) as peer:
        await peer.send(Hello(Role.DIRECTOR, PROTOCOL_VERSION, ()))
        assert await peer.closed() == (4403, "this token is for a viewer")


async def test_messages_before_hello_are_answered_then_the_client_must_say_hello(
    show: Show,
) -> None:
    async with connect_peer(show.url, show.director.access, None) as peer:
        await peer.send('{"v":1,"type":"heartbeat","ts":1}')
        await peer.expect_error("unexpected")
        for _ in range(9):
            await peer.send("{")
        code, _ = await peer.closed()
        assert code == 4400


async def test_access_taken_away_closes_connected_clients(show: Show) -> None:
    """Rights are checked at connect; revoking, removing or ending reaches live sockets too."""
    revoked = show.join("camera", 1)
    removed = show.join("viewer")
    kept = show.join("camera", 2)
    roles = [(revoked, Role.CAMERA), (removed, Role.VIEWER), (kept, Role.CAMERA)]
    async with (
        connect_peer(show.url, revoked["participant_token"], roles[0][1]) as p_revoked,
        connect_peer(show.url, removed["participant_token"], roles[1][1]) as p_removed,
        connect_peer(show.url, kept["participant_token"], roles[2][1]) as p_kept,
        connect_peer(show.url, show.director.access, Role.DIRECTOR) as director,
    ):
        for phone in (p_revoked, p_kept):
            await phone.expect(Assign)  # a phone is first told which camera it is
        base = f"/api/sessions/{show.session_id}"
        with show.http() as c:
            r = c.delete(f"{base}/invites/{revoked['invite_id']}", headers=show.director.auth)
            assert r.status_code == 204
            await p_revoked.expect_error("revoked")
            assert await p_revoked.closed() == (4401, "access was revoked by the director")

            pid = removed["participant"]["id"]
            r = c.delete(f"{base}/participants/{pid}", headers=show.director.auth)
            assert r.status_code == 204
            await p_removed.expect_error("revoked")
            assert await p_removed.closed() == (4401, "access was revoked by the director")

            await p_kept.quiet(0.3)  # the others were not touched
            assert c.post(f"{base}/end", headers=show.director.auth).is_success
        await p_kept.expect_error("revoked")
        assert await p_kept.closed() == (4404, "the session has ended")
        await director.quiet(0.3)  # the director keeps the link to see the end
