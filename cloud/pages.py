"""The pages the backend serves to browsers: the phone tally page, the viewer page, and
their static files.

The files live in `cloud/web/` (the viewer's in `cloud/web/viewer/`) and are read once; a
file both pages use (the WHEP player) lives in `cloud/web/shared/` and is served beside each
page's own, so a page imports it as `./name.js`. Assets sit under a path that carries a hash
of their contents, so they can be cached for good while the page itself is always
revalidated: a new release changes the hash and phones pick it up on the next load.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Request, Response
from fastapi import Path as PathParam

from cloud.errors import NotFound

router = APIRouter(tags=["pages"])

WEB_DIR = Path(__file__).with_name("web")
SHARED_DIR = WEB_DIR / "shared"
STATIC_PREFIX = "/static"
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".webmanifest": "application/manifest+json",
    ".svg": "image/svg+xml",
}
# No inline script or style anywhere; the page talks only to the host it came from.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self' blob:; connect-src 'self'; manifest-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
_SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), screen-wake-lock=(self)",
}


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    content_type: str
    etag: str
    # The same bytes gzipped once at start, for clients that take it: a phone on a
    # cellular link downloads the tally page in a third of the bytes. None where gzip
    # would not save a tenth (the icon).
    gzipped: bytes | None = None


@dataclass(frozen=True, slots=True)
class Bundle:
    version: str
    page: Asset
    assets: dict[str, Asset]


def _asset(body: bytes, suffix: str) -> Asset:
    packed = gzip.compress(body, compresslevel=9, mtime=0)
    return Asset(
        body,
        _TYPES[suffix],
        '"' + hashlib.sha256(body).hexdigest()[:20] + '"',
        packed if len(packed) < 0.9 * len(body) else None,
    )


@dataclass(frozen=True, slots=True)
class PageSource:
    """Where one page's files live, the name its static files are served under, and the
    files of `SHARED_DIR` it uses too."""

    name: str
    directory: Path
    html: str
    shared: tuple[str, ...] = ()


PAGES = {
    "tally": PageSource(
        "tally",
        WEB_DIR,
        "tally.html",
        shared=("whep.js", "renew.js", "replay.js", "hls.light.min.js"),
    ),
    "watch": PageSource(
        "watch",
        WEB_DIR / "viewer",
        "watch.html",
        shared=("whep.js", "renew.js", "replay.js", "hls.light.min.js"),
    ),
}


def _files(source: PageSource) -> dict[str, bytes]:
    own = [p for p in source.directory.iterdir() if p.is_file() and p.suffix in _TYPES]
    shared = [SHARED_DIR / n for n in source.shared]
    files: dict[str, bytes] = {}
    for path in sorted(own + shared, key=lambda p: p.name):
        if path.name in files:  # one URL per name: a page file may not hide a shared one
            raise ValueError(f"page {source.name!r} has two files named {path.name!r}")
        files[path.name] = path.read_bytes()
    return files


@cache
def bundle(name: str) -> Bundle:
    """Every file of one page, read once; the version is a hash over all of them (shared
    ones included, so a change to one gives each page that uses it a new version)."""
    source = PAGES[name]
    files = _files(source)
    digest = hashlib.sha256()
    for file_name, content in files.items():
        digest.update(file_name.encode() + b"\0" + content)
    version = digest.hexdigest()[:12]
    base = f"{STATIC_PREFIX}/{name}/{version}".encode()
    page = files.pop(source.html).replace(b"{{static}}", base)
    assets = {n: _asset(content, Path(n).suffix) for n, content in files.items()}
    return Bundle(version, _asset(page, ".html"), assets)


def _respond(request: Request, asset: Asset, cache_control: str) -> Response:
    headers = {**_SECURITY_HEADERS, "Cache-Control": cache_control, "ETag": asset.etag}
    content = asset.body
    if asset.gzipped is not None:
        headers["Vary"] = "Accept-Encoding"
        if _takes_gzip(request.headers.get("accept-encoding", "")):
            content = asset.gzipped
            headers["Content-Encoding"] = "gzip"
            headers["ETag"] = asset.etag[:-1] + '-gz"'  # another representation, another tag
    if request.headers.get("if-none-match") == headers["ETag"]:
        return Response(status_code=304, headers=headers)
    headers["Content-Length"] = str(len(content))
    body = b"" if request.method == "HEAD" else content
    return Response(body, media_type=asset.content_type, headers=headers)


def _takes_gzip(accept_encoding: str) -> bool:
    for part in accept_encoding.split(","):
        name, _, params = part.strip().partition(";")
        if name.strip().lower() in ("gzip", "*"):
            return params.replace(" ", "").lower() not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


@router.api_route("/tally", methods=["GET", "HEAD"], include_in_schema=False)
async def tally_page(request: Request) -> Response:
    # Revalidated on every load so a release reaches phones at once (a 304 costs nothing).
    return _respond(request, bundle("tally").page, "no-cache")


@router.api_route("/watch", methods=["GET", "HEAD"], include_in_schema=False)
async def watch_page(request: Request) -> Response:
    return _respond(request, bundle("watch").page, "no-cache")


@router.api_route(
    STATIC_PREFIX + "/{page}/{version}/{name}", methods=["GET", "HEAD"], include_in_schema=False
)
async def static_file(
    request: Request,
    page: Annotated[str, PathParam(max_length=16)],
    version: Annotated[str, PathParam(max_length=64)],
    name: Annotated[str, PathParam(max_length=64)],
) -> Response:
    found = bundle(page) if page in PAGES else None
    asset = found.assets.get(name) if found else None
    if found is None or asset is None or version != found.version:
        raise NotFound("no such file", {"path": request.url.path})
    return _respond(request, asset, "public, max-age=31536000, immutable")
