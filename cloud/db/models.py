"""The stored state of the backend. Changes here need a migration in migrations/versions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from cloud.db.types import UTCDateTime, utcnow

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class TokenFamily(Base):
    """One login. Its refresh tokens rotate within it; its access tokens name it."""

    __tablename__ = "token_families"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)


class RefreshToken(Base):
    __tablename__ = "refresh_tokens"

    # Only a hash is stored: a copy of the database does not hand out logins.
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    family_id: Mapped[str] = mapped_column(
        ForeignKey("token_families.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class LiveSession(Base):
    """A show: what a director goes live with. Called a session in the API."""

    __tablename__ = "sessions"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    srt_passphrase: Mapped[str] = mapped_column(String(79))
    srt_publish_token: Mapped[str] = mapped_column(String(64))
    # Checked only when an SRT publisher connects: one already connected keeps streaming.
    srt_publish_token_expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The quality ceiling a new link of each role gets unless the director picks one
    # (cloud/gateway/quality.py: "auto" or "lo"; docs/gateway.md, "Quality by role").
    camera_quality: Mapped[str] = mapped_column(String(8), default="lo", server_default="lo")
    viewer_quality: Mapped[str] = mapped_column(String(8), default="auto", server_default="auto")
    # Whether a Go Live records (docs/recording.md, "The switch"); the backend's
    # --no-recording wins over it.
    recording: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # Every audience link carries the generation it was made in; revoking them all bumps it
    # (cloud/api/recording_access.py, docs/recording.md).
    audience_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Camera(Base):
    __tablename__ = "cameras"
    __table_args__ = (UniqueConstraint("session_id", "number", name="uq_cameras_session_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(64))
    ndi_source: Mapped[str | None] = mapped_column(String(256), nullable=True)


class Invite(Base):
    __tablename__ = "invites"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    session_id: Mapped[str] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(16))
    camera_number: Mapped[int | None] = mapped_column(Integer, nullable=True)
    label: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    uses: Mapped[int] = mapped_column(Integer, default=0)
    # The most its viewers get: "auto" (hi or lo by the network) or "lo" only.
    quality: Mapped[str] = mapped_column(String(8), default="auto", server_default="auto")


class Participant(Base):
    __tablename__ = "participants"
    __table_args__ = (Index("ix_participants_session_role", "session_id", "role"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    invite_id: Mapped[str | None] = mapped_column(
        ForeignKey("invites.id", ondelete="SET NULL"), nullable=True
    )
    display_name: Mapped[str] = mapped_column(String(64))
    camera_number: Mapped[int | None] = mapped_column(Integer, nullable=True)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class TallyRoom(Base):
    """The last tally state of a session's relay room, so a restarted backend resumes it.

    The lists are JSON text in the shape of the `tally` messages: `program`/`preview` are
    source ids, `cameras` are {number, name, source} objects.
    """

    __tablename__ = "tally_rooms"

    session_id: Mapped[str] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(BigInteger)
    program: Mapped[str] = mapped_column(Text)
    preview: Mapped[str] = mapped_column(Text)
    cameras: Mapped[str] = mapped_column(Text)
    live_only: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class OidcIdentity(Base):
    """A person at an OpenID Connect provider, linked to an account (docs/login.md)."""

    __tablename__ = "oidc_identities"
    __table_args__ = (
        UniqueConstraint("provider", "subject", name="uq_oidc_identities_provider_subject"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    provider: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class OidcLogin(Base):
    """A login through a provider, from the app's start to its token exchange.

    Only hashes of the state and of the code the app exchanges are stored; the rest is
    what the callback and the exchange need, and goes when the login expires.
    """

    __tablename__ = "oidc_logins"

    state_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    nonce: Mapped[str] = mapped_column(String(128))
    code_verifier: Mapped[str] = mapped_column(String(128))
    app_redirect_uri: Mapped[str] = mapped_column(String(512))
    app_state: Mapped[str] = mapped_column(String(128))
    app_code_challenge: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    called_back_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    code_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    user_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=True
    )
    exchanged_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
