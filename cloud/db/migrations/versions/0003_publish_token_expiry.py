"""SRT publish tokens expire

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The default TTL (cloud/config.py) from the upgrade on: a show that is on air while the
# backend is upgraded reconnects with the token it has, even from an app that cannot renew.
EXISTING_TOKENS_LAST = timedelta(hours=24)


def upgrade() -> None:
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("srt_publish_token_expires_at", sa.DateTime(timezone=True), nullable=True)
        )
    sessions = sa.table(
        "sessions", sa.column("srt_publish_token_expires_at", sa.DateTime(timezone=True))
    )
    op.execute(
        sessions.update().values(
            srt_publish_token_expires_at=datetime.now(UTC) + EXISTING_TOKENS_LAST
        )
    )
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.alter_column(
            "srt_publish_token_expires_at",
            existing_type=sa.DateTime(timezone=True),
            nullable=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_column("srt_publish_token_expires_at")
