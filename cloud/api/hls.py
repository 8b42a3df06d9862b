"""HLS of a session's recording (docs/recording.md): the DVR window for the crew's pages
and the same playlist for an audience link.

    GET /hls/{id}/index.m3u8                  the director's login, a camera or viewer link
    GET /hls/{id}/{rec}/{file}                its init.mp4 and segments (hi)
    GET /hls/{id}/{rec}/lo/{file}             the same of the lo copy
    GET /hls/{id}/a/{token}/index.m3u8        an audience link (POST .../audience), no login
    GET /hls/{id}/a/{token}/{rec}/{file}

The playlist is of the recording being written (else the latest one, ended: VOD); its URIs
are relative, so one playlist serves both paths. A link capped at lo (docs/gateway.md) gets
the recording's lo copy, and a 404 `no_lo_recording` where there is none, never hi; every
other reader (the director, auto links, audience links) gets hi.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request, Response

from cloud.api.recording_access import (
    AudienceDep,
    Reader,
    ReaderDep,
    RecorderDep,
    SessionId,
)
from cloud.api.recordings import FileName, RecordingId, hi_allowed, serve_file, store_errors
from cloud.errors import NotFound
from cloud.record.playlist import media_playlist
from cloud.record.recorder import Recorder

router = APIRouter(tags=["HLS"])
PLAYLIST = "application/vnd.apple.mpegurl"
# An audience link may be played from any page and carried by any CDN.
AUDIENCE_HEADERS = {"Access-Control-Allow-Origin": "*"}


async def playlist(recorder: Recorder, session_id: str, reader: Reader) -> Response:
    recorder.metrics.playlist_read(reader.key)
    recording_id = recorder.current(session_id)
    with store_errors():
        if recording_id is None:
            infos = await asyncio.to_thread(recorder.store.recordings, session_id)
            if not infos:
                raise NotFound("the session has no recording yet")
            recording_id = infos[-1].id
        layer = "lo" if reader.ceiling == "lo" else "hi"
        segments = await asyncio.to_thread(recorder.store.segments, session_id, recording_id, layer)
    # One that ended a moment ago may still be writing its last segment: not VOD yet, so a
    # player reloads and gets that segment before the end.
    ended = recording_id not in recorder.writing(session_id, layer)
    prefix = f"{recording_id}/" if layer == "hi" else f"{recording_id}/{layer}/"
    text = media_playlist(segments, ended, prefix=prefix)
    headers = {"Cache-Control": "no-cache"}
    return Response(text, media_type=PLAYLIST, headers=headers)


@router.get("/hls/{session_id}/index.m3u8")
async def crew_playlist(
    session_id: SessionId, reader: ReaderDep, recorder: RecorderDep
) -> Response:
    return await playlist(recorder, session_id, reader)


@router.get("/hls/{session_id}/a/{token}/index.m3u8")
async def audience_playlist(
    session_id: SessionId, reader: AudienceDep, recorder: RecorderDep
) -> Response:
    response = await playlist(recorder, session_id, reader)
    response.headers.update(AUDIENCE_HEADERS)
    return response


@router.get("/hls/{session_id}/{recording_id}/{name}")
async def crew_file(
    session_id: SessionId,
    recording_id: RecordingId,
    name: FileName,
    request: Request,
    reader: ReaderDep,
    recorder: RecorderDep,
) -> Response:
    hi_allowed(reader)
    return serve_file(recorder, session_id, recording_id, name, request.headers.get("range"))


@router.get("/hls/{session_id}/{recording_id}/lo/{name}")
async def crew_lo_file(
    session_id: SessionId,
    recording_id: RecordingId,
    name: FileName,
    request: Request,
    _reader: ReaderDep,
    recorder: RecorderDep,
) -> Response:
    range_header = request.headers.get("range")
    return serve_file(recorder, session_id, recording_id, name, range_header, layer="lo")


@router.get("/hls/{session_id}/a/{token}/{recording_id}/{name}")
async def audience_file(
    session_id: SessionId,
    recording_id: RecordingId,
    name: FileName,
    request: Request,
    _reader: AudienceDep,
    recorder: RecorderDep,
) -> Response:
    response = serve_file(recorder, session_id, recording_id, name, request.headers.get("range"))
    response.headers.update(AUDIENCE_HEADERS)
    return response
