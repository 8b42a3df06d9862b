"""The backend's REST API as the director's app uses it (README: accounts, sessions, invites).

Async httpx, on the runtime loop, never on the UI thread. Every failure becomes one of the
named errors below with a message fit to show a director; no httpx error leaks out.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from .recording_info import RecordingList, RecordingSwitch, parse_list, parse_switch

DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
# The backend makes a recording's MP4 before it answers (a remux: seconds for an hour).
DOWNLOAD_TIMEOUT = httpx.Timeout(120.0, connect=5.0)
DOWNLOAD_CHUNK = 256 * 1024


class CloudError(Exception):
    """The backend said no; `code` is its error code (or ours for transport failures)."""

    def __init__(self, message: str, code: str = "error", status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status


class CloudUnreachable(CloudError):
    """No answer: wrong address, the backend is down, or the network stalled."""


class NotLoggedIn(CloudError):
    """No login, or it ended (refresh refused): the director must log in again."""


@dataclass(frozen=True, slots=True)
class Tokens:
    access: str
    refresh: str
    # Wall-clock time.time(), as the backend checks it: monotonic time stands still while
    # a laptop sleeps, so a token would look fresh on waking when it expired meanwhile.
    access_expires_at: float
    lifetime_s: float = 900.0

    def fresh(self) -> bool:
        """Refreshed 30 s before it expires, or in its last quarter if it lives shorter."""
        margin = min(30.0, self.lifetime_s / 4)
        return time.time() < self.access_expires_at - margin


@dataclass(frozen=True, slots=True)
class LayerDamage:
    """The backend ingest's counters for one layer (since that process started)."""

    lost: int = 0
    fec_rebuilt: int = 0
    unrecovered: int = 0
    ts_gaps: int = 0


@dataclass(frozen=True, slots=True)
class CameraInfo:
    number: int
    name: str
    ndi_source: str | None


@dataclass(frozen=True, slots=True)
class SessionInfo:
    id: str
    name: str
    state: str  # "live" or "ended"
    cameras: tuple[CameraInfo, ...]
    # The quality ceiling a new link of each role gets unless the director picks one.
    camera_quality: str = "lo"
    viewer_quality: str = "auto"
    recording: bool = True  # the session's recording switch (docs/recording.md)


@dataclass(frozen=True, slots=True)
class SrtCredentials:
    session_id: str
    passphrase: str
    pbkeylen: int
    publish_token: str
    srt_url: str | None = None  # srt://host:port of the backend's ingest; None: it has none
    # When the token stops admitting new connections (a connected layer stays); None from
    # a backend whose tokens do not expire.
    expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Invite:
    id: str
    role: str  # "camera" or "viewer"
    camera_number: int | None
    label: str | None
    url: str
    revoked: bool
    created_at: datetime | None = None
    expires_at: datetime | None = None  # None from a backend that did not say
    # The most its viewers get (docs/gateway.md, "Quality by role"): "auto" or "lo" only.
    quality: str = "auto"

    def usable(self, now: datetime) -> bool:
        """Not revoked, and more than a quarter of its life left: a phone scanning it
        today must still get in, so a link is replaced well before it expires."""
        if self.revoked:
            return False
        if self.expires_at is None:
            return True
        if self.created_at is None:
            return self.expires_at > now
        return self.expires_at - now > (self.expires_at - self.created_at) / 4


@dataclass(frozen=True, slots=True)
class Participant:
    id: str
    role: str
    display_name: str
    camera_number: int | None
    joined_at: datetime | None = None  # when the phone redeemed its link
    # Its phone on the relay now (any backend process): since when, and its last ack.
    connected_since: datetime | None = None
    last_ack_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class AudienceLink:
    """A link to the session's HLS that anyone may play, no login, until it expires or the
    director revokes every audience link of the session."""

    session_id: str
    url: str  # .../hls/{session}/a/{token}/index.m3u8
    expires_at: datetime | None  # None: the backend did not say


def _when(value: Any) -> datetime | None:
    """An ISO time from the backend, always aware (UTC when it names no zone)."""
    try:
        when = datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None  # only information lost: the backend still refuses what expired
    if when is not None and when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when


def _session(data: dict[str, Any]) -> SessionInfo:
    cameras = tuple(
        CameraInfo(int(c["number"]), str(c["name"]), c.get("ndi_source"))
        for c in data.get("cameras", [])
    )
    quality = data.get("quality") or {}
    return SessionInfo(
        str(data["id"]),
        str(data["name"]),
        str(data["state"]),
        cameras,
        str(quality.get("camera", "lo")),
        str(quality.get("viewer", "auto")),
        bool(data.get("recording", True)),
    )


def _srt(data: dict[str, Any]) -> SrtCredentials:
    return SrtCredentials(
        str(data["session_id"]),
        str(data["passphrase"]),
        int(data.get("pbkeylen", 32)),
        str(data["publish_token"]),
        str(data["srt_url"]) if data.get("srt_url") else None,
        _when(data.get("publish_token_expires_at")),
    )


def _invite(data: dict[str, Any]) -> Invite:
    return Invite(
        str(data["id"]),
        str(data["role"]),
        data.get("camera_number"),
        data.get("label"),
        str(data["url"]),
        bool(data.get("revoked", False)),
        _when(data.get("created_at")),
        _when(data.get("expires_at")),
        str(data.get("quality", "auto")),
    )


class CloudApi:
    """One backend. Calls that need a login take the access token as their first argument."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.AsyncClient(base_url=self.base_url, timeout=timeout, transport=transport)

    @property
    def relay_base(self) -> str:
        """ws(s)://host for the relay, from the API's http(s)://host."""
        if self.base_url.startswith("https://"):
            return "wss://" + self.base_url[len("https://") :]
        return "ws://" + self.base_url.removeprefix("http://")

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- accounts -----------------------------------------------------------------------

    async def register(self, email: str, password: str, display_name: str) -> Tokens:
        """A new account, logged in at once (the backend answers its first tokens)."""
        body = {"email": email, "password": password, "display_name": display_name}
        data = await self._call("POST", "/api/auth/register", json=body)
        return self._tokens(data["tokens"])

    async def login(self, email: str, password: str) -> Tokens:
        data = await self._call(
            "POST", "/api/auth/login", json={"email": email, "password": password}
        )
        return self._tokens(data)

    async def refresh(self, refresh_token: str) -> Tokens:
        try:
            data = await self._call(
                "POST", "/api/auth/refresh", json={"refresh_token": refresh_token}
            )
        except CloudError as exc:
            if exc.status == 401:
                raise NotLoggedIn(f"{exc.message}; log in again", "not_logged_in", 401) from exc
            raise
        return self._tokens(data)

    async def oidc_providers(self) -> list[str]:
        """The OpenID Connect providers this backend signs people in through."""
        data = await self._call("GET", "/api/auth/oidc/providers")
        return [str(name) for name in data.get("providers", [])]

    async def oidc_token(self, code: str, code_verifier: str) -> Tokens:
        """Tokens for the one-time code a browser sign-in brought back (oidc_login.py)."""
        body = {"code": code, "code_verifier": code_verifier}
        return self._tokens(await self._call("POST", "/api/auth/oidc/token", json=body))

    async def logout(self, refresh_token: str) -> None:
        await self._call("POST", "/api/auth/logout", json={"refresh_token": refresh_token})

    async def me(self, access: str) -> dict[str, Any]:
        data: dict[str, Any] = await self._call("GET", "/api/auth/me", access=access)
        return data

    # --- sessions -------------------------------------------------------------------------

    async def sessions(self, access: str) -> list[SessionInfo]:
        data = await self._call("GET", "/api/sessions", access=access)
        return [_session(item) for item in data]

    async def session(self, access: str, session_id: str) -> SessionInfo:
        return _session(await self._call("GET", f"/api/sessions/{session_id}", access=access))

    async def create_session(self, access: str, name: str, cameras: int) -> SessionInfo:
        body = {
            "name": name,
            "cameras": [{"number": n, "name": f"Cam {n}"} for n in range(1, cameras + 1)],
        }
        return _session(await self._call("POST", "/api/sessions", access=access, json=body))

    async def rename_session(self, access: str, session_id: str, name: str) -> SessionInfo:
        path = f"/api/sessions/{session_id}"
        return _session(await self._call("PATCH", path, access=access, json={"name": name}))

    async def set_quality_defaults(
        self, access: str, session_id: str, camera: str | None, viewer: str | None
    ) -> SessionInfo:
        """Each role's default ceiling for the links made from now on (None: unchanged)."""
        body = {k: v for k, v in (("camera", camera), ("viewer", viewer)) if v is not None}
        path = f"/api/sessions/{session_id}/quality"
        return _session(await self._call("PATCH", path, access=access, json=body))

    async def end_session(self, access: str, session_id: str) -> SessionInfo:
        path = f"/api/sessions/{session_id}/end"
        return _session(await self._call("POST", path, access=access))

    async def srt(self, access: str, session_id: str) -> SrtCredentials:
        return _srt(await self._call("GET", f"/api/sessions/{session_id}/srt", access=access))

    async def srt_health(self, access: str, session_id: str) -> dict[str, LayerDamage]:
        data = await self._call("GET", f"/api/sessions/{session_id}/srt/health", access=access)
        return {
            str(layer): LayerDamage(
                int(d["lost"]), int(d["fec_rebuilt"]), int(d["unrecovered"]), int(d["ts_gaps"])
            )
            for layer, d in data.get("layers", {}).items()
        }

    async def rotate_srt(self, access: str, session_id: str) -> SrtCredentials:
        """New passphrase and publish token; the old ones stop working at once."""
        path = f"/api/sessions/{session_id}/srt/rotate"
        body = {"passphrase": True, "publish_token": True}
        return _srt(await self._call("POST", path, access=access, json=body))

    async def invites(self, access: str, session_id: str) -> list[Invite]:
        data = await self._call("GET", f"/api/sessions/{session_id}/invites", access=access)
        return [_invite(item) for item in data]

    async def create_invite(
        self,
        access: str,
        session_id: str,
        role: str,
        camera: int | None = None,
        quality: str | None = None,
    ) -> Invite:
        """`quality`: the link's ceiling ("auto" or "lo"); None: the session's default."""
        body: dict[str, Any] = {"role": role, "camera_number": camera}
        if quality is not None:
            body["quality"] = quality
        path = f"/api/sessions/{session_id}/invites"
        return _invite(await self._call("POST", path, access=access, json=body))

    async def revoke_invite(self, access: str, session_id: str, invite_id: str) -> None:
        path = f"/api/sessions/{session_id}/invites/{invite_id}"
        await self._call("DELETE", path, access=access)

    async def participants(self, access: str, session_id: str) -> list[Participant]:
        data = await self._call("GET", f"/api/sessions/{session_id}/participants", access=access)
        return [
            Participant(
                str(p["id"]),
                str(p["role"]),
                str(p["display_name"]),
                p.get("camera_number"),
                _when(p.get("joined_at")),
                _when(p.get("connected_since")),
                _when(p.get("last_ack_at")),
            )
            for p in data
        ]

    # --- recordings (docs/recording.md) ---------------------------------------------------

    async def set_recording(self, access: str, session_id: str, on: bool) -> RecordingSwitch:
        path = f"/api/sessions/{session_id}/recording"
        return parse_switch(await self._call("PATCH", path, access=access, json={"on": on}))

    async def recordings(self, access: str, session_id: str) -> RecordingList:
        path = f"/api/sessions/{session_id}/recordings"
        return parse_list(session_id, await self._call("GET", path, access=access))

    async def delete_recording(self, access: str, session_id: str, recording_id: str) -> None:
        path = f"/api/sessions/{session_id}/recordings/{recording_id}"
        await self._call("DELETE", path, access=access)

    async def download_recording(
        self, access: str, session_id: str, recording_id: str, dest: Path
    ) -> int:
        """The recording as one MP4 into `dest`, streamed: the file appears whole (renamed
        from `dest`.part) or not at all. Writes run off the loop, which the show shares."""
        path = f"/api/sessions/{session_id}/recordings/{recording_id}/program.mp4"
        part = dest.with_name(dest.name + ".part")
        headers = {"Authorization": f"Bearer {access}"}
        size = 0
        try:
            request = self._http.build_request("GET", path, headers=headers)
            request.extensions["timeout"] = DOWNLOAD_TIMEOUT.as_dict()
            response = await self._http.send(request, stream=True)
            try:
                if not response.is_success:
                    await response.aread()
                    raise _refusal("GET", path, response)
                with await asyncio.to_thread(open, part, "wb") as out:
                    async for chunk in response.aiter_bytes(DOWNLOAD_CHUNK):
                        await asyncio.to_thread(out.write, chunk)
                        size += len(chunk)
            finally:
                await response.aclose()
            await asyncio.to_thread(os.replace, part, dest)
        except httpx.TimeoutException as exc:
            raise CloudUnreachable(f"{self.base_url} did not answer in time", "timeout") from exc
        except (httpx.TransportError, httpx.InvalidURL) as exc:
            raise CloudUnreachable(f"cannot reach {self.base_url}: {exc}", "unreachable") from exc
        except OSError as exc:
            raise CloudError(f"cannot write {dest}: {exc.strerror or exc}", "write_failed") from exc
        finally:
            part.unlink(missing_ok=True)
        return size

    async def make_audience_link(self, access: str, session_id: str, ttl_s: int) -> AudienceLink:
        """A link anyone may play the session's HLS with for `ttl_s` (docs/recording.md)."""
        path = f"/api/sessions/{session_id}/audience"
        data = await self._call("POST", path, access=access, json={"ttl_s": ttl_s})
        return AudienceLink(session_id, str(data["url"]), _when(data.get("expires_at")))

    async def revoke_audience_links(self, access: str, session_id: str) -> None:
        """Every audience link of the session made so far stops."""
        await self._call("DELETE", f"/api/sessions/{session_id}/audience", access=access)

    # --- plumbing -------------------------------------------------------------------------

    def _tokens(self, data: dict[str, Any]) -> Tokens:
        lifetime = float(data.get("expires_in", 900))
        return Tokens(
            str(data["access_token"]), str(data["refresh_token"]), time.time() + lifetime, lifetime
        )

    async def _call(
        self, method: str, path: str, *, access: str | None = None, json: Any = None
    ) -> Any:
        headers = {"Authorization": f"Bearer {access}"} if access else {}
        try:
            response = await self._http.request(method, path, json=json, headers=headers)
        except httpx.TimeoutException as exc:
            raise CloudUnreachable(f"{self.base_url} did not answer in time", "timeout") from exc
        except (httpx.TransportError, httpx.InvalidURL, ValueError) as exc:
            raise CloudUnreachable(f"cannot reach {self.base_url}: {exc}", "unreachable") from exc
        if response.status_code == 204:
            return None
        try:
            data = response.json()
        except ValueError:
            data = None
        if response.is_success and data is not None:
            return data
        raise _refusal(method, path, response)


def _refusal(method: str, path: str, response: httpx.Response) -> CloudError:
    """The backend's error answer ({"error": {code, message}}) as a CloudError."""
    try:
        data = response.json()
    except ValueError:
        data = None
    error = data.get("error", {}) if isinstance(data, dict) else {}
    message = error.get("message") if isinstance(error, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return CloudError(
        str(message or f"{method} {path}: HTTP {response.status_code}"),
        str(code or "http_error"),
        response.status_code,
    )
