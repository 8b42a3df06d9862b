"""Recordings of a session (docs/recording.md):

    GET    /api/sessions/{id}/recordings                      the list, and the current one's state
    GET    /api/sessions/{id}/recordings/{rec}/program.mp4    one MP4 (remuxed, faststart)
    GET    /api/sessions/{id}/recordings/{rec}/{file}         init.mp4 or a segment
    DELETE /api/sessions/{id}/recordings/{rec}                the director only

The director (owner's login) and the session's camera and viewer links read; files honour
Range (cloud/record/ranges.py). The files are the hi layer's: a link capped at lo lists the
recordings but gets its files only as the lo copy, through HLS (cloud/api/hls.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from starlette.background import BackgroundTask

from cloud.api.recording_access import (
    DirectorDep,
    Reader,
    ReaderDep,
    RecorderDep,
    SessionId,
)
from cloud.errors import ApiError, Forbidden, NotFound
from cloud.record.download import program_mp4
from cloud.record.ranges import file_response
from cloud.record.recorder import Recorder
from cloud.record.store import INIT, BadId, NoLayer, NoRecording, RecordingInfo

router = APIRouter(tags=["recordings"])
RecordingId = Annotated[str, Path(min_length=1, max_length=64)]
FileName = Annotated[str, Path(min_length=1, max_length=64)]


class BadRecordingId(ApiError):
    code = "bad_recording_id"


class NoLoCopy(NotFound):
    """A recording without a lo copy (its publisher sent hi only, or lo has not begun yet),
    asked for by a link capped at lo: a code of its own, and never hi instead."""

    code = "no_lo_recording"


def hi_allowed(reader: Reader) -> None:
    """A link capped at lo never gets the hi layer, live or recorded (docs/gateway.md)."""
    if reader.ceiling == "lo":
        raise Forbidden(
            "this link is capped at low quality: it replays the recording's low-quality copy",
            {"reason": "quality_ceiling"},
        )


def described(recorder: Recorder, info: RecordingInfo) -> dict[str, Any]:
    state = info.state
    if state == "recording" and info.id not in recorder.writing(info.session_id):
        state = "interrupted"  # the backend stopped (or crashed) while it was written
    return {
        "id": info.id,
        "started_at": datetime.fromtimestamp(info.started_at, UTC).isoformat(),
        "state": state,
        "reason": info.reason,
        "segments": info.segments,
        "duration_s": info.duration_s,
        "bytes": info.bytes,
        "lo_bytes": info.lo_bytes,
    }


@contextmanager
def store_errors() -> Iterator[None]:
    """The store's refusals as API errors: a bad id is 400, a missing (or deleted) one 404."""
    try:
        yield
    except BadId as exc:
        raise BadRecordingId(str(exc)) from exc
    except NoLayer as exc:
        raise NoLoCopy("this recording has no low-quality copy (yet)") from exc
    except (NoRecording, FileNotFoundError) as exc:
        raise NotFound("no such recording (or it was deleted)") from exc


@router.get("/api/sessions/{session_id}/recordings")
async def list_recordings(
    session_id: SessionId, _reader: ReaderDep, recorder: RecorderDep
) -> dict[str, Any]:
    with store_errors():
        infos = await asyncio.to_thread(recorder.store.recordings, session_id)
    status = recorder.status(session_id)
    return {
        "on": recorder.wanted(session_id),  # the session's switch, as this process knows it
        "current": (
            {"state": status.state, "recording_id": status.recording_id, "reason": status.reason}
            if status is not None
            else None
        ),
        "recordings": [described(recorder, i) for i in infos],
    }


@router.get("/api/sessions/{session_id}/recordings/{recording_id}/program.mp4")
async def download(
    session_id: SessionId,
    recording_id: RecordingId,
    request: Request,
    reader: ReaderDep,
    recorder: RecorderDep,
) -> Response:
    hi_allowed(reader)
    recorder.metrics.hls_requests.labels("download").inc()
    with store_errors():
        folder = recorder.store.folder(session_id, recording_id)
        segments = recorder.store.segments(session_id, recording_id)
        if not segments:
            raise NotFound("the recording has no complete segment yet")
        ended = recording_id not in recorder.writing(session_id)
        scratch = recorder.store.root / ".scratch"
        path = await asyncio.to_thread(program_mp4, folder, segments, ended, scratch)
        response = file_response(
            path,
            request.headers.get("range"),
            "video/mp4",
            {"Content-Disposition": f'attachment; filename="{recording_id}.mp4"'},
        )
    if not ended:
        response.background = BackgroundTask(path.unlink, missing_ok=True)
    return response


@router.get("/api/sessions/{session_id}/recordings/{recording_id}/{name}")
async def recording_file(
    session_id: SessionId,
    recording_id: RecordingId,
    name: FileName,
    request: Request,
    reader: ReaderDep,
    recorder: RecorderDep,
) -> Response:
    hi_allowed(reader)
    return serve_file(recorder, session_id, recording_id, name, request.headers.get("range"))


def serve_file(
    recorder: Recorder,
    session_id: str,
    recording_id: str,
    name: str,
    range_header: str | None,
    layer: str = "hi",
) -> Response:
    """init.mp4 or a segment of a recording's `layer`, whole or by range."""
    kind = "init" if name == INIT else "segment"
    recorder.metrics.hls_requests.labels(kind).inc()
    with store_errors():
        if name == INIT:
            path = recorder.store.folder(session_id, recording_id, layer) / INIT
        else:
            path = recorder.store.segment(session_id, recording_id, name, layer)
        media_type = "video/mp4" if name == INIT else "video/iso.segment"
        return file_response(path, range_header, media_type)


@router.delete("/api/sessions/{session_id}/recordings/{recording_id}", status_code=204)
async def delete_recording(
    session_id: SessionId, recording_id: RecordingId, _director: DirectorDep, recorder: RecorderDep
) -> Response:
    if recording_id in recorder.writing(session_id):
        raise ApiError(
            "the recording is still being written: switch recording off or stop the show first"
        )
    with store_errors():
        await asyncio.to_thread(recorder.store.delete, session_id, recording_id)
    return Response(status_code=204)
