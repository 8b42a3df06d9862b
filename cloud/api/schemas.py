"""Request and response bodies. Requests forbid unknown fields so typos are not ignored."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StrictBool,
    StringConstraints,
)

from cloud.config import MAX_INVITE_TTL_S
from cloud.gateway.quality import Ceiling
from tally.validate import UNPRINTABLE, unprintable


def _printable(value: str) -> str:
    # The relay's camera names pass the same rule (tally.validate.Printable).
    if unprintable(value) is not None:
        raise ValueError(UNPRINTABLE)
    return value


Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    AfterValidator(_printable),
]
ShortName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64),
    AfterValidator(_printable),
]
CameraNumber = Annotated[int, Field(ge=1, le=99, strict=True)]
Role = Literal["director", "camera", "viewer"]
InviteRole = Literal["camera", "viewer"]


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RegisterIn(Request):
    email: EmailStr = Field(max_length=254)
    password: str = Field(min_length=8, max_length=256)
    display_name: ShortName


class LoginIn(Request):
    email: str = Field(min_length=1, max_length=254)
    password: str = Field(min_length=1, max_length=256)


class RefreshIn(Request):
    refresh_token: str = Field(min_length=1, max_length=256)


class TokensOut(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105  (the OAuth2 scheme name)
    expires_in: int
    refresh_expires_in: int


class UserOut(BaseModel):
    id: str
    email: str
    display_name: str
    created_at: datetime


class AccountOut(BaseModel):
    user: UserOut
    tokens: TokensOut


class CameraIn(Request):
    number: CameraNumber
    name: ShortName
    ndi_source: Annotated[str, StringConstraints(max_length=256)] | None = None


class CameraPatchIn(Request):
    name: ShortName | None = None
    ndi_source: Annotated[str, StringConstraints(max_length=256)] | None = None


class CameraOut(BaseModel):
    number: int
    name: str
    ndi_source: str | None


class SessionCreateIn(Request):
    name: Name
    cameras: list[CameraIn] = Field(default_factory=list, max_length=99)


class SessionPatchIn(Request):
    name: Name


class QualityDefaults(BaseModel):
    """The quality ceiling a new link of each role gets unless the director picks one."""

    camera: Ceiling
    viewer: Ceiling


class QualityDefaultsIn(Request):
    camera: Ceiling | None = None
    viewer: Ceiling | None = None


class RecordingSwitchIn(Request):
    on: StrictBool


class RecordingSwitchOut(BaseModel):
    """The session's recording switch, and whether a Go Live records with it here."""

    on: bool  # the switch, stored with the session (on by default)
    records: bool  # on, and this backend keeps recordings (its --no-recording wins)
    reason: Literal["switched_off", "backend_off"] | None  # why it does not record
    message: str  # the same, for the director's eyes


class SessionOut(BaseModel):
    id: str
    name: str
    state: Literal["live", "ended"]
    created_at: datetime
    ended_at: datetime | None
    cameras: list[CameraOut]
    quality: QualityDefaults
    recording: bool  # the recording switch (GET .../recording says whether it records)


class SrtCredentialsOut(BaseModel):
    session_id: str
    passphrase: str
    pbkeylen: int = 32
    publish_token: str
    # New SRT connections need a token that has not expired; GET .../srt renews it first
    # when it is this close to expiry (the last quarter of its TTL) or past it.
    publish_token_expires_at: datetime


class SrtRotateIn(Request):
    passphrase: bool = True
    publish_token: bool = True


class InviteCreateIn(Request):
    role: InviteRole
    camera_number: CameraNumber | None = None
    label: ShortName | None = None
    # How long the link admits new joins; None: the backend's --invite-ttl-s.
    ttl_seconds: int | None = Field(default=None, ge=60, le=MAX_INVITE_TTL_S, strict=True)
    # The most its viewers get: "auto" (hi or lo by the network) or "lo" only; None: the
    # session's default for the role (SessionOut.quality).
    quality: Ceiling | None = None


class InviteOut(BaseModel):
    id: str
    role: InviteRole
    camera_number: int | None
    label: str | None
    quality: Ceiling
    created_at: datetime
    expires_at: datetime
    revoked: bool
    uses: int
    token: str
    url: str


class RedeemIn(Request):
    token: str = Field(min_length=1, max_length=128)
    display_name: ShortName | None = None
    camera_number: CameraNumber | None = None


class SessionSummaryOut(BaseModel):
    id: str
    name: str
    state: Literal["live", "ended"]


class ParticipantOut(BaseModel):
    id: str
    role: Role
    display_name: str
    camera_number: int | None
    joined_at: datetime
    # Its phone's relay connection now, on any backend process (None: not connected), and
    # the last time that phone acknowledged a tally change or a message.
    connected_since: datetime | None = None
    last_ack_at: datetime | None = None


class JoinOut(BaseModel):
    participant: ParticipantOut
    participant_token: str
    expires_in: int  # the participant token's lifetime in seconds, not the invite's
    session: SessionSummaryOut
    cameras: list[CameraOut]


class ParticipantTokenOut(BaseModel):
    """A renewed participant token: same participant, same rights, a fresh lifetime."""

    participant_token: str
    expires_in: int
