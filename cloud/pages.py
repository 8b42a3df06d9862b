"""The pages the backend serves to browsers: the phone tally page and its static files.

The files live in `cloud/web/` and are read once. Assets sit under a path that carries a
hash of their contents, so they can be cached for good while the page itself is always
revalidated: a new release changes the hash and phones pick it up on the next load.
"""

from __future__ import annotations

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
STATIC_PREFIX = "/static/tally"
_PAGE = "tally.html"
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


@dataclass(frozen=True, slots=True)
class Bundle:
    version: str
    page: Asset
    assets: dict[str, Asset]


def _asset(body: bytes, suffix: str) -> Asset:
    return Asset(body, _TYPES[suffix], '"' + hashlib.sha256(body).hexdigest()[:20] + '"')


@cache
def bundle() -> Bundle:
    """Every file of the page, read once; the version is a hash over all of them."""
    files = {p.name: p.read_bytes() for p in sorted(WEB_DIR.iterdir()) if p.suffix in _TYPES}
    digest = hashlib.sha256()
    for name, body in files.items():
        digest.update(name.encode() + b"\0" + body)
    version = digest.hexdigest()[:12]
    base = f"{STATIC_PREFIX}/{version}".encode()
    page = files.pop(_PAGE).replace(b"{{static}}", base)
    assets = {name: _asset(body, Path(name).suffix) for name, body in files.items()}
    return Bundle(version, _asset(page, ".html"), assets)


def _respond(request: Request, asset: Asset, cache_control: str) -> Response:
    headers = {**_SECURITY_HEADERS, "Cache-Control": cache_control, "ETag": asset.etag}
    if request.headers.get("if-none-match") == asset.etag:
        return Response(status_code=304, headers=headers)
    body = b"" if request.method == "HEAD" else asset.body
    headers["Content-Length"] = str(len(asset.body))
    return Response(body, media_type=asset.content_type, headers=headers)


@router.api_route("/tally", methods=["GET", "HEAD"], include_in_schema=False)
async def tally_page(request: Request) -> Response:
    # Revalidated on every load so a release reaches phones at once (a 304 costs nothing).
    return _respond(request, bundle().page, "no-cache")


@router.api_route(
    STATIC_PREFIX + "/{version}/{name}", methods=["GET", "HEAD"], include_in_schema=False
)
async def tally_static(
    request: Request,
    version: Annotated[str, PathParam(max_length=64)],
    name: Annotated[str, PathParam(max_length=64)],
) -> Response:
    found = bundle()
    asset = found.assets.get(name)
    if asset is None or version != found.version:
        raise NotFound("no such file", {"path": request.url.path})
    return _respond(request, asset, "public, max-age=31536000, immutable")


# --- The viewer page (`/watch`, files in cloud/web/viewer/), served the same way. ---------

VIEWER_DIR = WEB_DIR / "viewer"
VIEWER_STATIC_PREFIX = "/static/watch"


@cache
def viewer_bundle() -> Bundle:
    """The viewer page's files, read once, versioned by a hash over all of them."""
    files = {p.name: p.read_bytes() for p in sorted(VIEWER_DIR.iterdir()) if p.suffix in _TYPES}
    digest = hashlib.sha256()
    for name, body in files.items():
        digest.update(name.encode() + b"\0" + body)
    version = digest.hexdigest()[:12]
    base = f"{VIEWER_STATIC_PREFIX}/{version}".encode()
    page = files.pop("watch.html").replace(b"{{static}}", base)
    assets = {name: _asset(body, Path(name).suffix) for name, body in files.items()}
    return Bundle(version, _asset(page, ".html"), assets)


@router.api_route("/watch", methods=["GET", "HEAD"], include_in_schema=False)
async def watch_page(request: Request) -> Response:
    return _respond(request, viewer_bundle().page, "no-cache")


@router.api_route(
    VIEWER_STATIC_PREFIX + "/{version}/{name}", methods=["GET", "HEAD"], include_in_schema=False
)
async def watch_static(
    request: Request,
    version: Annotated[str, PathParam(max_length=64)],
    name: Annotated[str, PathParam(max_length=64)],
) -> Response:
    found = viewer_bundle()
    asset = found.assets.get(name)
    if asset is None or version != found.version:
        raise NotFound("no such file", {"path": request.url.path})
    return _respond(request, asset, "public, max-age=31536000, immutable")
