"""What delivery keeps about people so that a weekly DM is one Slack call: the DM channel, opened once, and the
profile (time zone, status, deactivation) read in bulk with users.list or from `user_change` events.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("people") as batch:
        batch.add_column(sa.Column("dm_channel_id", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("profile_read_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("deactivated", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch.add_column(sa.Column("status_text", sa.String(length=150), nullable=True))
        batch.add_column(sa.Column("status_emoji", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("status_expires_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("workspaces") as batch:
        batch.add_column(sa.Column("people_read_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("workspaces") as batch:
        batch.drop_column("people_read_at")
    with op.batch_alter_table("people") as batch:
        for column in (
            "status_expires_at",
            "status_emoji",
            "status_text",
            "deactivated",
            "profile_read_at",
            "dm_channel_id",
        ):
            batch.drop_column(column)
