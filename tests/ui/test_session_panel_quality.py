"""A link's quality ceiling on the Session tab, against the real backend: the box shows the
chosen link's, a change waits for Re-issue (and says so), and the new link carries it; the
viewer who redeems it is held to it by the gateway. The session's defaults for new links
are set there too."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from tests.app.conftest import sqlite_backend
from tests.app.live import director_runtime
from tests.app.test_link_quality import ceiling_for
from tests.cloud.relay.peers import new_show
from tests.support.cloud import CloudServer
from ui.main_window import MainWindow
from ui.settings import Settings

WAIT_MS = 15000


@pytest.fixture
def server(tmp_path: Path) -> Iterator[CloudServer]:
    with sqlite_backend(tmp_path) as server:
        yield server


def test_a_links_quality_is_chosen_and_applied_by_reissuing(
    qtbot: QtBot, server: CloudServer
) -> None:
    show = new_show(server, cameras=1)
    with director_runtime(server, show.director, show.session_id) as (rt, _):
        win = MainWindow(rt, Settings())
        qtbot.addWidget(win)
        panel, link = win.session_panel, win.link
        rt.call(lambda link: link.choose_session(show.session_id)).result(20)
        qtbot.waitUntil(lambda: link.invite_for(1, "camera") is not None, timeout=WAIT_MS)

        panel.pick(1)  # a camera's link: lo only, the session's default
        assert panel.quality.currentData() == "lo" and panel.quality_hint.isHidden()
        panel.pick(None)  # the viewers': auto
        old = panel.current()
        assert old is not None and panel.quality.currentData() == "auto"

        panel.quality.setCurrentIndex(panel.quality.findData("lo"))
        assert not panel.quality_hint.isHidden(), "the change waits for Re-issue, and says so"
        assert panel.current() is old
        panel.reissue_button.click()
        qtbot.waitUntil(lambda: (panel.current() or old).url != old.url, timeout=WAIT_MS)
        new = panel.current()
        assert new is not None and new.quality == "lo"
        assert panel.quality.currentData() == "lo" and panel.quality_hint.isHidden()
        assert ceiling_for(show, new.url) == "lo"

        # The session's defaults for new links, shown and changed on the same tab.
        assert panel.camera_default.currentData() == "lo"
        assert panel.viewer_default.currentData() == "auto"
        panel.viewer_default.setCurrentIndex(panel.viewer_default.findData("lo"))
        panel.viewer_default.activated.emit(panel.viewer_default.currentIndex())
        qtbot.waitUntil(
            lambda: link.session is not None and link.session.viewer_quality == "lo",
            timeout=WAIT_MS,
        )
        with server.client() as c:
            session = c.get(f"/api/sessions/{show.session_id}", headers=show.director.auth)
        assert session.json()["quality"] == {"camera": "lo", "viewer": "lo"}
        win.close()
