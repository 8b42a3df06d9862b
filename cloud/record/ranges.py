"""Files answered whole or by one byte range (RFC 9110, 14): 206 with Content-Range, 416
for a range that is malformed or starts past the end.

Decisions (docs/recording.md): a Range of another unit than bytes is ignored (200, as
RFC 9110 requires); more than one range is answered with the whole file (200: RFC 9110
lets a server ignore Range, and no player asks for several); an end past the file is cut
to it. The file is opened before the answer starts, so a recording deleted while it is
being sent still finishes (the open file outlives its name).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from starlette.responses import Response, StreamingResponse

from cloud.errors import error_response

CHUNK = 64 * 1024
_ONE = re.compile(r"bytes=(\d*)-(\d*)")


class BadRange(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The one range asked for as (first, last) inclusive; None for the whole file."""
    if header is None:
        return None
    unit, _, spec = header.strip().partition("=")
    if unit.strip().lower() != "bytes":
        return None  # a unit we do not know: ignored
    if "," in spec:
        return None  # several ranges: the whole file
    match = _ONE.fullmatch(f"bytes={spec.strip()}")
    if match is None or match[1] == match[2] == "":
        raise BadRange("range_malformed", f"Range {header[:60]!r} is not bytes=FIRST-LAST")
    first_s, last_s = match[1], match[2]
    if first_s == "":  # the last N bytes
        n = int(last_s)
        if n == 0 or size == 0:
            raise BadRange("range_not_satisfiable", "the last 0 bytes are no range")
        return max(0, size - n), size - 1
    first = int(first_s)
    if last_s and int(last_s) < first:
        raise BadRange("range_malformed", f"Range {header[:60]!r} ends before it starts")
    if first >= size:
        raise BadRange("range_not_satisfiable", f"the file is {size} bytes long")
    return first, min(int(last_s), size - 1) if last_s else size - 1


def file_response(
    path: Path, range_header: str | None, media_type: str, headers: dict[str, str] | None = None
) -> Response:
    """`path` whole or the range asked for; raises FileNotFoundError if it is gone."""
    f = open(path, "rb")  # noqa: SIM115 - closed by the body iterator
    try:
        size = os.fstat(f.fileno()).st_size
        try:
            wanted = parse_range(range_header, size)
        except BadRange as exc:
            f.close()
            return error_response(
                416, exc.code, str(exc), {"size": size}, {"Content-Range": f"bytes */{size}"}
            )
    except BaseException:
        f.close()
        raise
    first, last = wanted if wanted is not None else (0, size - 1)
    out = {"Accept-Ranges": "bytes", "Content-Length": str(max(0, last - first + 1))}
    out |= headers or {}
    if wanted is None:
        return StreamingResponse(_read(f, 0, size), 200, out, media_type)
    out["Content-Range"] = f"bytes {first}-{last}/{size}"
    return StreamingResponse(_read(f, first, last + 1 - first), 206, out, media_type)


def _read(f: BinaryIO, at: int, length: int) -> Iterator[bytes]:
    with f:
        f.seek(at)
        while length > 0:
            chunk = f.read(min(CHUNK, length))
            if not chunk:
                return
            length -= len(chunk)
            yield chunk
