"""The cloud link as the UI sees it: who is logged in, sessions, going live, messages."""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import QObject, Signal

from app.golive import StreamLayer
from app.session_link import events as ev
from app.session_link.cloud_api import AudienceLink, Invite, SessionInfo, SrtCredentials
from app.session_link.recording_info import RecordingList
from media.encode.detect import EncoderChoice


@dataclass
class MessageRow:
    id: str
    camera: int | None
    text: str
    acked: set[int] = field(default_factory=set)


class LinkModel(QObject):
    loginChanged = Signal()
    providersChanged = Signal()
    busyChanged = Signal()
    failed = Signal(str, str)  # action, message
    notice = Signal(str)
    sessionsChanged = Signal()
    sessionChanged = Signal()
    liveChanged = Signal()
    phonesChanged = Signal()
    messagesChanged = Signal()
    srtRotated = Signal(bool)  # live: the stream reconnects with the new passphrase
    recordingsChanged = Signal()
    recordingSaved = Signal(str)  # the path a recording was downloaded to
    audienceChanged = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.backend: str | None = None
        self.email: str | None = None
        self.providers: tuple[str, ...] = ()  # OpenID Connect, of the backend last asked
        self.busy: set[str] = set()
        self.sessions: tuple[SessionInfo, ...] = ()
        self.session: SessionInfo | None = None
        self.srt: SrtCredentials | None = None
        self.invites: tuple[Invite, ...] = ()
        self.live = False
        self.relay_connected = False
        self.detail = ""
        self.rtt_ms: float | None = None
        self.stream_sending = False
        self.stream_layers: tuple[StreamLayer, ...] = ()
        self.stream_detail = ""
        self.stream_encoder: EncoderChoice | None = None
        self.phones = 0
        self.viewers = 0
        self.phones_by_camera: dict[int, int] = {}
        self.messages: list[MessageRow] = []
        self.degraded: tuple[ev.Degraded, ...] = ()  # what is down, and since when
        self.recordings: RecordingList | None = None  # the chosen session's, when listed
        # The last audience link made in this login, per session, until revoked.
        self.audience_links: dict[str, AudienceLink] = {}

    def apply(self, event: object) -> None:
        if isinstance(event, ev.LoginChanged):
            self.backend, self.email = event.backend, event.email
            if event.email is None:
                self.sessions, self.session, self.srt, self.invites = (), None, None, ()
                self.audience_links = {}
                self.audienceChanged.emit()
                self.sessionsChanged.emit()
                self.sessionChanged.emit()
            self.loginChanged.emit()
        elif isinstance(event, ev.ProvidersOffered):
            self.providers = event.providers
            self.providersChanged.emit()
        elif isinstance(event, ev.Busy):
            (self.busy.add if event.busy else self.busy.discard)(event.action)
            self.busyChanged.emit()
        elif isinstance(event, ev.LinkFailed):
            self.failed.emit(event.action, event.message)
        elif isinstance(event, ev.Notice):
            self.notice.emit(event.message)
        elif isinstance(event, ev.SessionsListed):
            self.sessions = event.sessions
            self.sessionsChanged.emit()
        elif isinstance(event, ev.SessionChosen):
            self.session, self.srt, self.invites = event.session, event.srt, event.invites
            self.messages = []
            self.recordings = None
            self.sessionChanged.emit()
            self.messagesChanged.emit()
        elif isinstance(event, ev.SessionUpdated):
            self.session = event.session
            if event.session is None:
                self.srt, self.invites, self.recordings = None, (), None
            self.sessionChanged.emit()
        elif isinstance(event, ev.SrtRotated):
            self.srt = event.srt
            self.srtRotated.emit(event.live)
        elif isinstance(event, ev.LiveChanged):
            self.live, self.relay_connected = event.live, event.relay_connected
            self.detail, self.rtt_ms = event.detail, event.rtt_ms
            if not event.live:
                self.degraded = ()
            self.liveChanged.emit()
        elif isinstance(event, ev.StreamChanged):
            self.stream_sending, self.stream_layers = event.sending, event.layers
            self.stream_detail = event.detail
            self.stream_encoder = event.encoder
            self.liveChanged.emit()
        elif isinstance(event, ev.InvitesChanged):
            self.invites = event.invites
            self.sessionChanged.emit()
        elif isinstance(event, ev.HealthChanged):
            self.degraded = event.degraded
            self.liveChanged.emit()
        elif isinstance(event, ev.PhonesChanged):
            cameras = [p for p in event.participants if p.role == "camera"]
            self.phones = len(cameras)
            self.viewers = sum(1 for p in event.participants if p.role == "viewer")
            counts: dict[int, int] = {}
            for p in cameras:
                if p.camera_number is not None:
                    counts[p.camera_number] = counts.get(p.camera_number, 0) + 1
            self.phones_by_camera = counts
            self.phonesChanged.emit()
        elif isinstance(event, ev.RecordingsListed):
            if self.session is not None and event.listing.session_id == self.session.id:
                self.recordings = event.listing
                self.recordingsChanged.emit()
        elif isinstance(event, ev.RecordingSaved):
            self.recordingSaved.emit(event.path)
        elif isinstance(event, ev.AudienceLinkChanged):
            if event.link is None:
                self.audience_links.pop(event.session_id, None)
            else:
                self.audience_links[event.session_id] = event.link
            self.audienceChanged.emit()
        elif isinstance(event, ev.MessageSent):
            self.messages.append(MessageRow(event.id, event.camera, event.text))
            self.messagesChanged.emit()
        elif isinstance(event, ev.MessageAcked):
            for row in self.messages:
                if row.id == event.id:
                    row.acked.add(event.camera)
            self.messagesChanged.emit()

    @property
    def audience(self) -> AudienceLink | None:
        """The chosen session's last audience link, when one was made here."""
        return self.audience_links.get(self.session.id) if self.session is not None else None

    def invite_for(self, camera: int | None, role: str = "camera") -> Invite | None:
        return next((i for i in self.invites if i.role == role and i.camera_number == camera), None)
