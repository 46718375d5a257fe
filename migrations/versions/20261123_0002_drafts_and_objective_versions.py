"""Drafts saved at every step of `/okr draft`, every version of an objective, and objective numbers.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "drafts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("author_user_id", sa.String(length=32), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "open",
                "shared",
                "committed",
                "discarded",
                name="draft_state",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "step",
            sa.Enum(
                "objective",
                "key_results",
                "key_result",
                "review",
                name="draft_step",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.String(length=32), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("shared_channel_id", sa.String(length=32), nullable=True),
        sa.Column("shared_ts", sa.String(length=32), nullable=True),
        sa.Column("objective_id", sa.Integer(), nullable=True),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id", "objective_id"],
            ["objectives.workspace_id", "objectives.id"],
            name=op.f("fk_drafts_workspace_id_objective_id_objectives"),
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id", "team_id"],
            ["teams.workspace_id", "teams.id"],
            name=op.f("fk_drafts_workspace_id_team_id_teams"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_drafts_workspace_id_workspaces"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drafts")),
        sa.UniqueConstraint("workspace_id", "id", name=op.f("uq_drafts_workspace_id_id")),
    )
    with op.batch_alter_table("drafts", schema=None) as batch_op:
        batch_op.create_index("ix_drafts_author_state", ["author_user_id", "state"], unique=False)
        batch_op.create_index("ix_drafts_team_state", ["team_id", "state"], unique=False)
        batch_op.create_index(batch_op.f("ix_drafts_workspace_id"), ["workspace_id"], unique=False)

    op.create_table(
        "objective_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("objective_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("change", sa.String(length=40), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("actor_user_id", sa.String(length=32), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id", "objective_id"],
            ["objectives.workspace_id", "objectives.id"],
            name=op.f("fk_objective_versions_workspace_id_objective_id_objectives"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_objective_versions_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_objective_versions")),
        sa.UniqueConstraint("objective_id", "version", name=op.f("uq_objective_versions_objective_id_version")),
    )
    with op.batch_alter_table("objective_versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_objective_versions_workspace_id"), ["workspace_id"], unique=False)

    # objectives written before this revision get their id as number (unique in any cycle) and version 1
    with op.batch_alter_table("objectives", schema=None) as batch_op:
        batch_op.add_column(sa.Column("number", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
    op.execute("UPDATE objectives SET number = id")
    with op.batch_alter_table("objectives", schema=None) as batch_op:
        batch_op.alter_column("number", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("version", existing_type=sa.Integer(), server_default=None)
        batch_op.create_unique_constraint(batch_op.f("uq_objectives_cycle_id_number"), ["cycle_id", "number"])


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("objectives", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_objectives_cycle_id_number"), type_="unique")
        batch_op.drop_column("version")
        batch_op.drop_column("number")

    with op.batch_alter_table("objective_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_objective_versions_workspace_id"))

    op.drop_table("objective_versions")
    with op.batch_alter_table("drafts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_drafts_workspace_id"))
        batch_op.drop_index("ix_drafts_team_state")
        batch_op.drop_index("ix_drafts_author_state")

    op.drop_table("drafts")
