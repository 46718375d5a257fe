"""Ripples and the weekly digest: each ripple's number, its notice in the other team's channel, who acknowledged,
resolved or withdrew it; each workspace's digest channel, day, hour, time zone and next due moment; and each
week's digest as first built (`digest_snapshots`), which every try to post it posts.

Ripples declared before this revision (there were no commands to declare them) are numbered by their id.
Workspaces' `digest_due_at` starts empty: the sweep plans it the first time it runs after the upgrade.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = sa.text("notice_done_at IS NULL")


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "digest_snapshots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("week", sa.String(length=40), nullable=False),
        sa.Column("messages", sa.JSON(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_digest_snapshots_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digest_snapshots")),
        sa.UniqueConstraint("workspace_id", "week", name=op.f("uq_digest_snapshots_workspace_id_week")),
    )
    with op.batch_alter_table("digest_snapshots", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_digest_snapshots_workspace_id"), ["workspace_id"], unique=False)

    with op.batch_alter_table("ripples", schema=None) as batch_op:
        batch_op.add_column(sa.Column("number", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("notice_channel_id", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("notice_ts", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("notice_done_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("acknowledged_by", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("closed_by", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
    # earlier rows: numbered by id, and their notice counted as done (nobody is waiting for it)
    op.execute("UPDATE ripples SET number = id, notice_done_at = created_at")
    with op.batch_alter_table("ripples", schema=None) as batch_op:
        batch_op.alter_column("number", existing_type=sa.Integer(), nullable=False)
        batch_op.create_index(
            "ix_ripples_notice_pending", ["created_at"], unique=False, sqlite_where=PENDING, postgresql_where=PENDING
        )
        batch_op.create_index("ix_ripples_workspace_state", ["workspace_id", "state"], unique=False)
        batch_op.create_unique_constraint(batch_op.f("uq_ripples_workspace_id_number"), ["workspace_id", "number"])

    with op.batch_alter_table("workspaces", schema=None) as batch_op:
        batch_op.add_column(sa.Column("digest_channel_id", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("digest_weekday", sa.SmallInteger(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("digest_hour", sa.SmallInteger(), server_default="9", nullable=False))
        batch_op.add_column(sa.Column("digest_timezone", sa.String(length=64), server_default="UTC", nullable=False))
        batch_op.add_column(sa.Column("digest_due_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_workspaces_digest_due_at"), ["digest_due_at"], unique=False)
        batch_op.create_check_constraint(op.f("ck_workspaces_digest_weekday"), "digest_weekday BETWEEN 0 AND 6")
        batch_op.create_check_constraint(op.f("ck_workspaces_digest_hour"), "digest_hour BETWEEN 0 AND 23")


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("workspaces", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_workspaces_digest_hour"), type_="check")
        batch_op.drop_constraint(op.f("ck_workspaces_digest_weekday"), type_="check")
        batch_op.drop_index(batch_op.f("ix_workspaces_digest_due_at"))
        batch_op.drop_column("digest_due_at")
        batch_op.drop_column("digest_timezone")
        batch_op.drop_column("digest_hour")
        batch_op.drop_column("digest_weekday")
        batch_op.drop_column("digest_channel_id")

    with op.batch_alter_table("ripples", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_ripples_workspace_id_number"), type_="unique")
        batch_op.drop_index("ix_ripples_workspace_state")
        batch_op.drop_index("ix_ripples_notice_pending", sqlite_where=PENDING, postgresql_where=PENDING)
        batch_op.drop_column("closed_at")
        batch_op.drop_column("closed_by")
        batch_op.drop_column("acknowledged_at")
        batch_op.drop_column("acknowledged_by")
        batch_op.drop_column("notice_done_at")
        batch_op.drop_column("notice_ts")
        batch_op.drop_column("notice_channel_id")
        batch_op.drop_column("number")

    with op.batch_alter_table("digest_snapshots", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_digest_snapshots_workspace_id"))
    op.drop_table("digest_snapshots")
