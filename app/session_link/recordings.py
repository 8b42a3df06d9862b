"""The director's recordings: the session's recording switch, the list, download, play and
delete (docs/recording.md).

Everything runs on the runtime loop; a download streams to disk there (its writes on a
worker thread), never on the UI thread. Play downloads to a scratch folder and opens the
file with the system's player (through the browser opener). While on air, the list and the
state of the recording being written come from the on-air poll (onair.py); these calls
answer at once and also publish what they changed, so the window follows what the control
API does.
"""

from __future__ import annotations

import asyncio
import logging
import re
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from . import events as ev
from .cloud_api import CloudError, SessionInfo
from .login import Login
from .recording_info import NO_RECORDINGS, RecordingList, RecordingSwitch, unavailable

log = logging.getLogger(__name__)

# The backend's own pattern (cloud/record/store.py): checked here too, so an id never
# names a path outside the scratch folder.
RECORDING_ID = re.compile(r"\d{8}T\d{6}Z-[0-9a-f]{6}")
SCRATCH = Path(tempfile.gettempdir()) / "returnfeed-recordings"


class RecordingRefused(CloudError):
    """A recording call that cannot be done as asked; `status` is what the control API
    answers (404 unknown recording, 409 not logged in)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message, code, status)


def checked_id(recording_id: str) -> str:
    if not RECORDING_ID.fullmatch(recording_id):
        raise RecordingRefused(404, "unknown_recording", f"no recording {recording_id[:40]!r}")
    return recording_id


class Recordings:
    def __init__(
        self,
        login: Callable[[], Login | None],
        session: Callable[[], SessionInfo | None],
        session_changed: Callable[[SessionInfo], None],
        emit: Callable[[ev.LinkEvent], None],
        open_file: Callable[[str], object],
        scratch: Path = SCRATCH,
    ) -> None:
        self._login = login
        self._session = session
        self._session_changed = session_changed  # the link keeps the chosen session
        self._emit = emit
        self._open_file = open_file
        self._scratch = scratch

    async def set_switch(self, session_id: str, on: bool) -> RecordingSwitch:
        """Off: the next Go Live records nothing and one being written ends; on during the
        show: a recording begins at the next keyframe."""
        login = self._need_login()
        switch = await login.api.set_recording(await login.access(), session_id, on)
        chosen = self._session()
        if chosen is not None and chosen.id == session_id:
            self._session_changed(replace(chosen, recording=switch.on))
        await self._publish(login, session_id)
        return switch

    async def listing(self, session_id: str) -> RecordingList:
        """The session's recordings; a backend that keeps none answers an empty list whose
        state says so (`unavailable`), not an error."""
        login = self._need_login()
        try:
            listing = await login.api.recordings(await login.access(), session_id)
        except CloudError as exc:
            if exc.code != NO_RECORDINGS:
                raise
            chosen = self._session()
            on = chosen.recording if chosen is not None and chosen.id == session_id else True
            listing = unavailable(session_id, on)
        self._emit(ev.RecordingsListed(listing))
        return listing

    async def download(self, session_id: str, recording_id: str, dest: Path) -> int:
        """The recording as one MP4 at `dest` (written whole or not at all); its size."""
        login = self._need_login()
        checked_id(recording_id)
        size = await login.api.download_recording(
            await login.access(), session_id, recording_id, dest
        )
        log.info("recording %s saved to %s (%d bytes)", recording_id, dest, size)
        self._emit(ev.RecordingSaved(session_id, recording_id, str(dest), size))
        return size

    async def play(self, session_id: str, recording_id: str) -> Path:
        """Download to the scratch folder and open it in the system's player."""
        self._scratch.mkdir(parents=True, exist_ok=True)
        dest = self._scratch / f"{checked_id(recording_id)}.mp4"
        await self.download(session_id, recording_id, dest)
        # The opener may wait on a launcher (xdg-open, a browser): off the loop.
        await asyncio.to_thread(self._open_file, dest.as_uri())
        return dest

    async def delete(self, session_id: str, recording_id: str) -> None:
        """Gone for good; the one being written is refused (switch off or stop first)."""
        login = self._need_login()
        checked_id(recording_id)
        await login.api.delete_recording(await login.access(), session_id, recording_id)
        await self._publish(login, session_id)

    async def _publish(self, login: Login, session_id: str) -> None:
        try:
            await self.listing(session_id)
        except CloudError as exc:  # done all the same; the list follows at the next read
            log.info("recordings of %s not listed again: %s", session_id, exc.message)

    def _need_login(self) -> Login:
        login = self._login()
        if login is None:
            raise RecordingRefused(409, "not_logged_in", "Log in to the ReturnFeed cloud first.")
        return login
