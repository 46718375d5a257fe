"""Backlog triage: numbered items with their source message, triage and sprint rounds, votes per round item,
the team's triage deadline and sprint size, and whether a person is a bot.

Votes before this revision had no round to belong to (nothing wrote them), so they are not kept. A vote
row now remembers the emoji as shown (skin tone and all), whether it is still there, and Slack's event_ts.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# each team's items numbered 1, 2, 3… in the order they were added
NUMBER_ITEMS = """
UPDATE backlog_items SET number = (
    SELECT count(*) FROM backlog_items AS earlier
    WHERE earlier.team_id = backlog_items.team_id AND earlier.id <= backlog_items.id
)
"""


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "rounds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("triage", "sprint", name="round_kind", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column(
            "state",
            sa.Enum("open", "closed", name="round_state", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("channel_id", sa.String(length=32), nullable=False),
        sa.Column("header_ts", sa.String(length=32), nullable=True),
        sa.Column("ballot", sa.JSON(), nullable=False),
        sa.Column("closes_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("opened_by", sa.String(length=32), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=32), nullable=True),
        sa.Column("pick", sa.SmallInteger(), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id", "team_id"],
            ["teams.workspace_id", "teams.id"],
            name=op.f("fk_rounds_workspace_id_team_id_teams"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_rounds_workspace_id_workspaces"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rounds")),
        sa.UniqueConstraint("workspace_id", "id", name=op.f("uq_rounds_workspace_id_id")),
    )
    with op.batch_alter_table("rounds", schema=None) as batch_op:
        batch_op.create_index(
            "ix_rounds_one_open",
            ["team_id", "kind"],
            unique=True,
            sqlite_where=sa.text("state = 'open'"),
            postgresql_where=sa.text("state = 'open'"),
        )
        batch_op.create_index("ix_rounds_state_closes_at", ["state", "closes_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_rounds_workspace_id"), ["workspace_id"], unique=False)

    op.create_table(
        "round_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.String(length=32), nullable=True),
        sa.Column("message_ts", sa.String(length=32), nullable=True),
        sa.Column("votes_version", sa.Integer(), nullable=False),
        sa.Column("shown_version", sa.Integer(), nullable=False),
        sa.Column("votes_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision", sa.String(length=20), nullable=True),
        sa.Column("decided_key_result_id", sa.Integer(), nullable=True),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.CheckConstraint("shown_version <= votes_version", name=op.f("ck_round_items_shown_not_ahead")),
        sa.ForeignKeyConstraint(
            ["workspace_id", "item_id"],
            ["backlog_items.workspace_id", "backlog_items.id"],
            name=op.f("fk_round_items_workspace_id_item_id_backlog_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id", "round_id"],
            ["rounds.workspace_id", "rounds.id"],
            name=op.f("fk_round_items_workspace_id_round_id_rounds"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_round_items_workspace_id_workspaces"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_round_items")),
        sa.UniqueConstraint("round_id", "item_id", name=op.f("uq_round_items_round_id_item_id")),
        sa.UniqueConstraint("round_id", "position", name=op.f("uq_round_items_round_id_position")),
        sa.UniqueConstraint(
            "workspace_id", "channel_id", "message_ts", name=op.f("uq_round_items_workspace_id_channel_id_message_ts")
        ),
        sa.UniqueConstraint("workspace_id", "id", name=op.f("uq_round_items_workspace_id_id")),
    )
    with op.batch_alter_table("round_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_round_items_item_id"), ["item_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_round_items_workspace_id"), ["workspace_id"], unique=False)

    with op.batch_alter_table("backlog_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("number", sa.Integer(), nullable=True))
    op.execute(NUMBER_ITEMS)
    with op.batch_alter_table("backlog_items", schema=None) as batch_op:
        batch_op.alter_column("number", existing_type=sa.Integer(), nullable=False)
        batch_op.add_column(sa.Column("source_channel_id", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("source_ts", sa.String(length=32), nullable=True))
        batch_op.drop_constraint(batch_op.f("uq_backlog_items_workspace_id_channel_id_message_ts"), type_="unique")
        batch_op.create_unique_constraint(batch_op.f("uq_backlog_items_team_id_number"), ["team_id", "number"])
        batch_op.create_unique_constraint(
            batch_op.f("uq_backlog_items_team_id_source_channel_id_source_ts"),
            ["team_id", "source_channel_id", "source_ts"],
        )
        batch_op.drop_column("channel_id")
        batch_op.drop_column("message_ts")

    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.add_column(sa.Column("is_bot", sa.Boolean(), nullable=True))

    with op.batch_alter_table("teams", schema=None) as batch_op:
        batch_op.add_column(sa.Column("triage_hours", sa.SmallInteger(), server_default="48", nullable=True))
        batch_op.add_column(sa.Column("sprint_size", sa.SmallInteger(), server_default="5", nullable=False))
        batch_op.create_check_constraint(op.f("ck_teams_triage_hours"), "triage_hours BETWEEN 1 AND 336")
        batch_op.create_check_constraint(op.f("ck_teams_sprint_size"), "sprint_size BETWEEN 1 AND 50")

    op.execute("DELETE FROM votes")
    with op.batch_alter_table("votes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("round_item_id", sa.Integer(), nullable=False))
        batch_op.add_column(sa.Column("emoji", sa.String(length=100), nullable=False))
        batch_op.add_column(sa.Column("present", sa.Boolean(), nullable=False))
        batch_op.add_column(sa.Column("event_ts", sa.BigInteger(), nullable=False))
        batch_op.drop_constraint(batch_op.f("uq_votes_item_id_user_id_reaction"), type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_votes_round_item_id_user_id_emoji"), ["round_item_id", "user_id", "emoji"]
        )
        batch_op.drop_constraint(batch_op.f("fk_votes_workspace_id_item_id_backlog_items"), type_="foreignkey")
        batch_op.create_foreign_key(
            batch_op.f("fk_votes_workspace_id_round_item_id_round_items"),
            "round_items",
            ["workspace_id", "round_item_id"],
            ["workspace_id", "id"],
            ondelete="CASCADE",
        )
        batch_op.drop_column("item_id")


def downgrade() -> None:
    """Downgrade schema."""
    op.execute("DELETE FROM votes")  # votes on round items have no place without rounds
    with op.batch_alter_table("votes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("item_id", sa.INTEGER(), nullable=False))
        batch_op.drop_constraint(batch_op.f("fk_votes_workspace_id_round_item_id_round_items"), type_="foreignkey")
        batch_op.create_foreign_key(
            batch_op.f("fk_votes_workspace_id_item_id_backlog_items"),
            "backlog_items",
            ["workspace_id", "item_id"],
            ["workspace_id", "id"],
            ondelete="CASCADE",
        )
        batch_op.drop_constraint(batch_op.f("uq_votes_round_item_id_user_id_emoji"), type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_votes_item_id_user_id_reaction"), ["item_id", "user_id", "reaction"]
        )
        batch_op.drop_column("event_ts")
        batch_op.drop_column("present")
        batch_op.drop_column("emoji")
        batch_op.drop_column("round_item_id")

    with op.batch_alter_table("teams", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_teams_sprint_size"), type_="check")
        batch_op.drop_constraint(op.f("ck_teams_triage_hours"), type_="check")
        batch_op.drop_column("sprint_size")
        batch_op.drop_column("triage_hours")

    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_column("is_bot")

    with op.batch_alter_table("backlog_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("message_ts", sa.VARCHAR(length=32), nullable=True))
        batch_op.add_column(sa.Column("channel_id", sa.VARCHAR(length=32), nullable=True))
        batch_op.drop_constraint(batch_op.f("uq_backlog_items_team_id_source_channel_id_source_ts"), type_="unique")
        batch_op.drop_constraint(batch_op.f("uq_backlog_items_team_id_number"), type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_backlog_items_workspace_id_channel_id_message_ts"),
            ["workspace_id", "channel_id", "message_ts"],
        )
        batch_op.drop_column("source_ts")
        batch_op.drop_column("source_channel_id")
        batch_op.drop_column("number")

    with op.batch_alter_table("round_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_round_items_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_round_items_item_id"))

    op.drop_table("round_items")
    with op.batch_alter_table("rounds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rounds_workspace_id"))
        batch_op.drop_index("ix_rounds_state_closes_at")
        batch_op.drop_index(
            "ix_rounds_one_open", sqlite_where=sa.text("state = 'open'"), postgresql_where=sa.text("state = 'open'")
        )

    op.drop_table("rounds")
