"""The 13-week reset: each cycle's reset steps, key results' final scores, retro answers, drafts carried
forward from a closed cycle, and each team's calendar (the cycle its anchor starts, the cycles it closed, a
new start waiting for the running cycle to end, and when the sweep next looks at it).

Teams' `reset_at` and `reset_notice_at` start empty: the sweep plans them from the calendar the first time
it runs after the upgrade.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "retro_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("prompt", sa.SmallInteger(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("message_ts", sa.String(length=32), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("prompt BETWEEN 1 AND 3", name=op.f("ck_retro_answers_prompt")),
        sa.ForeignKeyConstraint(
            ["workspace_id", "cycle_id"],
            ["cycles.workspace_id", "cycles.id"],
            name=op.f("fk_retro_answers_workspace_id_cycle_id_cycles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_retro_answers_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retro_answers")),
        sa.UniqueConstraint("cycle_id", "message_ts", name=op.f("uq_retro_answers_cycle_id_message_ts")),
    )
    with op.batch_alter_table("retro_answers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_retro_answers_cycle_id"), ["cycle_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_retro_answers_workspace_id"), ["workspace_id"], unique=False)

    with op.batch_alter_table("cycles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reset_started_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("reset_by", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("scoring_closes_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("owners_asked_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("reset_done_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("retro_channel_id", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("retro_ts", sa.String(length=32), nullable=True))
        batch_op.create_index(
            "ix_cycles_resetting",
            ["reset_started_at"],
            unique=False,
            sqlite_where=sa.text("reset_started_at IS NOT NULL AND reset_done_at IS NULL"),
            postgresql_where=sa.text("reset_started_at IS NOT NULL AND reset_done_at IS NULL"),
        )
        batch_op.create_index("ix_cycles_retro", ["retro_channel_id", "retro_ts"], unique=False)

    with op.batch_alter_table("drafts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("carried_from_id", sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_drafts_team_id_carried_from_id"), ["team_id", "carried_from_id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_drafts_workspace_id_carried_from_id_objectives"),
            "objectives",
            ["workspace_id", "carried_from_id"],
            ["workspace_id", "id"],
        )

    with op.batch_alter_table("key_results", schema=None) as batch_op:
        batch_op.add_column(sa.Column("final_value", sa.Double(), nullable=True))
        batch_op.add_column(sa.Column("final_score", sa.Double(), nullable=True))
        batch_op.add_column(sa.Column("final_by", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("final_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_check_constraint(op.f("ck_key_results_final_score"), "final_score BETWEEN 0 AND 1")

    with op.batch_alter_table("teams", schema=None) as batch_op:
        batch_op.add_column(sa.Column("anchor_cycle", sa.Integer(), server_default="1", nullable=False))
        batch_op.add_column(sa.Column("closed_through", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("next_cycle_anchor", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("reset_notice_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("reset_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_teams_reset_at"), ["reset_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_teams_reset_notice_at"), ["reset_notice_at"], unique=False)
        batch_op.create_check_constraint(op.f("ck_teams_cycle_numbers"), "anchor_cycle >= 1 AND closed_through >= 0")


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("teams", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_teams_reset_notice_at"))
        batch_op.drop_index(batch_op.f("ix_teams_reset_at"))
        batch_op.drop_constraint(op.f("ck_teams_cycle_numbers"), type_="check")
        batch_op.drop_column("reset_at")
        batch_op.drop_column("reset_notice_at")
        batch_op.drop_column("next_cycle_anchor")
        batch_op.drop_column("closed_through")
        batch_op.drop_column("anchor_cycle")

    with op.batch_alter_table("key_results", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_key_results_final_score"), type_="check")
        batch_op.drop_column("final_at")
        batch_op.drop_column("final_by")
        batch_op.drop_column("final_score")
        batch_op.drop_column("final_value")

    with op.batch_alter_table("drafts", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_drafts_workspace_id_carried_from_id_objectives"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("uq_drafts_team_id_carried_from_id"), type_="unique")
        batch_op.drop_column("carried_from_id")

    with op.batch_alter_table("cycles", schema=None) as batch_op:
        batch_op.drop_index("ix_cycles_retro")
        batch_op.drop_index(
            "ix_cycles_resetting",
            sqlite_where=sa.text("reset_started_at IS NOT NULL AND reset_done_at IS NULL"),
            postgresql_where=sa.text("reset_started_at IS NOT NULL AND reset_done_at IS NULL"),
        )
        batch_op.drop_column("retro_ts")
        batch_op.drop_column("retro_channel_id")
        batch_op.drop_column("reset_done_at")
        batch_op.drop_column("owners_asked_at")
        batch_op.drop_column("scoring_closes_at")
        batch_op.drop_column("reset_by")
        batch_op.drop_column("reset_started_at")

    with op.batch_alter_table("retro_answers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_retro_answers_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_retro_answers_cycle_id"))

    op.drop_table("retro_answers")
