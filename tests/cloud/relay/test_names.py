"""A camera name is checked by one rule wherever it comes from: the REST API and the
relay's `cameras` message refuse the same control and text-direction characters."""

from __future__ import annotations

import json

from tally import PROTOCOL_VERSION, CamerasChange, Role, Snapshot
from tests.cloud.relay.peers import Show, connect_peer

# U+202E turns "Cam 1" around on screen; NUL ends the name early in C clients; U+2066 opens
# a bidi isolate. A joiner (U+200D) stays allowed: emoji sequences need it.
BAD_NAMES = ("\u202e1 maC", "Cam\x001", "Cam \u2066one", "Cam\n1", "Cam\x7f")
GOOD_NAME = "Cam \U0001f3a5\u200d1"


def _cameras(name: str) -> str:
    camera = {"number": 1, "name": name, "source": None}
    message = {"cameras": [camera], "live_only": False}
    return json.dumps({"v": PROTOCOL_VERSION, "type": CamerasChange.TYPE, **message})


async def test_the_relay_refuses_the_names_the_rest_api_refuses(show: Show) -> None:
    with show.http() as c:
        for name in BAD_NAMES:
            r = c.patch(
                f"/api/sessions/{show.session_id}/cameras/1",
                json={"name": name},
                headers=show.director.auth,
            )
            assert r.status_code == 422, (name, r.text)
    async with (
        connect_peer(show.url, show.director.access, Role.DIRECTOR) as director,
        connect_peer(show.url, show.token("viewer"), Role.VIEWER) as viewer,
    ):
        for name in BAD_NAMES:
            await director.send(_cameras(name))
            error = await director.expect_error("bad_message")
            assert "cameras[0].name" in error.message, error
            assert "control or text-direction" in error.message, error
        await viewer.quiet(0.2)  # nothing bad was relayed
        await director.send(_cameras(GOOD_NAME))
        changed = await viewer.expect(Snapshot)
        assert changed.state.cameras[0].name == GOOD_NAME
