"""The switch as the gateway's refresh reads it from the database (a change made through
another backend process): it reaches the recorder, but a switch just set through this
process's own API is not undone by a read that may have begun before it was committed."""

from __future__ import annotations

import asyncio
from pathlib import Path

from prometheus_client import CollectorRegistry

from cloud.record.recorder import SWITCH_SETTLE_S, Recorder
from cloud.record.store import RecordingStore


def test_refresh_applies_the_databases_switch_unless_just_set_here(tmp_path: Path) -> None:
    async def run() -> None:
        recorder = Recorder(RecordingStore(tmp_path, 1 << 30, 3600.0), CollectorRegistry())
        recorder.publisher_up("s1", "hi")
        assert recorder.armed("s1")  # waits for the first IDR

        recorder.switches({"s1": False})  # switched off through another process
        assert not recorder.wanted("s1") and not recorder.armed("s1")
        await recorder.close()  # joins the segmenter: its status is final
        status = recorder.status("s1")
        assert status is not None and (status.state, status.reason) == ("ended", "stopped")

        recorder.switch("s1", True)  # on, here; a read from before the commit says off
        recorder.switches({"s1": False})
        assert recorder.wanted("s1") and recorder.armed("s1")

        recorder.switches({})  # the session ended: forgotten (its switch back to the default)
        recorder.publisher_down("s1", "hi")
        assert recorder.wanted("s1") and not recorder.armed("s1")
        await recorder.close()

    assert SWITCH_SETTLE_S > 0
    asyncio.run(run())
