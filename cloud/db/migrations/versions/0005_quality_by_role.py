"""Quality by role: a ceiling per invite link, and each role's default in the session

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Links made before keep today's behaviour (auto); sessions get the new defaults, which
    # only links made from now on take.
    with op.batch_alter_table("invites", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("quality", sa.String(length=8), server_default="auto", nullable=False)
        )
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("camera_quality", sa.String(length=8), server_default="lo", nullable=False)
        )
        batch_op.add_column(
            sa.Column("viewer_quality", sa.String(length=8), server_default="auto", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_column("viewer_quality")
        batch_op.drop_column("camera_quality")
    with op.batch_alter_table("invites", schema=None) as batch_op:
        batch_op.drop_column("quality")
