"""What the session link tells the UI: login, sessions, the relay, phones and acks."""

from __future__ import annotations

from dataclasses import dataclass

from media.encode.detect import EncoderChoice

from ..golive import StreamLayer
from .cloud_api import AudienceLink, Invite, Participant, SessionInfo, SrtCredentials
from .recording_info import RecordingList


@dataclass(frozen=True, slots=True)
class LoginChanged:
    backend: str | None
    email: str | None  # None: logged out


@dataclass(frozen=True, slots=True)
class ProvidersOffered:
    """The OpenID Connect providers `backend` signs people in through (docs/login.md)."""

    backend: str
    providers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Busy:
    action: str  # "login", "sessions", "session", "live", ...
    busy: bool


@dataclass(frozen=True, slots=True)
class LinkFailed:
    action: str
    message: str  # for the director's eyes: what went wrong and what to do


@dataclass(frozen=True, slots=True)
class Notice:
    message: str  # something the director should know that is not an error


@dataclass(frozen=True, slots=True)
class SessionsListed:
    sessions: tuple[SessionInfo, ...]


@dataclass(frozen=True, slots=True)
class SessionChosen:
    session: SessionInfo
    srt: SrtCredentials
    invites: tuple[Invite, ...]


@dataclass(frozen=True, slots=True)
class SessionUpdated:
    """The chosen session was renamed, or ended (None: no session is chosen any more)."""

    session: SessionInfo | None


@dataclass(frozen=True, slots=True)
class SrtRotated:
    """New SRT credentials for the chosen session; `live`: the stream reconnects with them."""

    srt: SrtCredentials
    live: bool


@dataclass(frozen=True, slots=True)
class LiveChanged:
    live: bool  # Go Live pressed and not stopped
    relay_connected: bool
    detail: str = ""  # why it is not connected, or the retry plan
    rtt_ms: float | None = None


@dataclass(frozen=True, slots=True)
class StreamChanged:
    """The program stream to the backend's SRT ingest, about once a second while live."""

    sending: bool  # the encoder and senders run
    layers: tuple[StreamLayer, ...] = ()
    detail: str = ""  # why nothing is sent (no ingest, no encoder, ...), for the director
    encoder: EncoderChoice | None = None  # the H.264 encoder in use and why


@dataclass(frozen=True, slots=True)
class InvitesChanged:
    """Links were re-issued (the old ones expire soon): the QR codes to show now."""

    invites: tuple[Invite, ...]


@dataclass(frozen=True, slots=True)
class Degraded:
    """One part of the show that is not working as it should, for the director's eyes."""

    link: str  # "relay", "stream hi", "phones", "invites", "login", "directors", ...
    detail: str  # what is wrong and what the app does about it
    since: float  # time.time() when it went wrong (kept while only the detail changes)
    action: str = ""  # what the director can do: "take_over", "log_in", "go_live", or ""


@dataclass(frozen=True, slots=True)
class HealthChanged:
    degraded: tuple[Degraded, ...]  # empty: everything works


@dataclass(frozen=True, slots=True)
class PhonesChanged:
    participants: tuple[Participant, ...]


@dataclass(frozen=True, slots=True)
class MessageSent:
    id: str
    camera: int | None
    text: str


@dataclass(frozen=True, slots=True)
class MessageAcked:
    id: str
    camera: int


@dataclass(frozen=True, slots=True)
class RecordingsListed:
    """A session's recordings and the state of the one on air (each poll while live)."""

    listing: RecordingList


@dataclass(frozen=True, slots=True)
class RecordingSaved:
    """A recording was downloaded as one MP4 to `path`."""

    session_id: str
    recording_id: str
    path: str
    bytes: int


@dataclass(frozen=True, slots=True)
class AudienceLinkChanged:
    """An audience link was made for the session (`link`), or all were revoked (None)."""

    session_id: str
    link: AudienceLink | None


LinkEvent = (
    LoginChanged
    | ProvidersOffered
    | Busy
    | LinkFailed
    | Notice
    | SessionsListed
    | SessionChosen
    | SessionUpdated
    | SrtRotated
    | LiveChanged
    | StreamChanged
    | PhonesChanged
    | InvitesChanged
    | HealthChanged
    | MessageSent
    | MessageAcked
    | RecordingsListed
    | RecordingSaved
    | AudienceLinkChanged
)
