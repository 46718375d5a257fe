"""The web dashboard: its sign-in sessions, the workspace's switch to turn it off, people's names as Slack shows
them (the dashboard's pages name people), and indexes on the OAuth states, which anyone starting a sign-in adds.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "dashboard_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_dashboard_sessions_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dashboard_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_dashboard_sessions_token_hash")),
    )
    op.create_index(op.f("ix_dashboard_sessions_expires_at"), "dashboard_sessions", ["expires_at"], unique=False)
    op.create_index(op.f("ix_dashboard_sessions_workspace_id"), "dashboard_sessions", ["workspace_id"], unique=False)
    op.create_index(
        "ix_dashboard_sessions_workspace_user", "dashboard_sessions", ["workspace_id", "user_id"], unique=False
    )
    with op.batch_alter_table("workspaces") as batch:
        batch.add_column(sa.Column("dashboard_enabled", sa.Boolean(), server_default=sa.true(), nullable=False))
    with op.batch_alter_table("people") as batch:
        batch.add_column(sa.Column("name", sa.String(length=200), nullable=True))
    op.create_index("ix_slack_oauth_states_state", "slack_oauth_states", ["state"], unique=False)
    op.create_index("ix_slack_oauth_states_expire_at", "slack_oauth_states", ["expire_at"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index("ix_slack_oauth_states_expire_at", table_name="slack_oauth_states")
    op.drop_index("ix_slack_oauth_states_state", table_name="slack_oauth_states")
    with op.batch_alter_table("people") as batch:
        batch.drop_column("name")
    with op.batch_alter_table("workspaces") as batch:
        batch.drop_column("dashboard_enabled")
    op.drop_index("ix_dashboard_sessions_workspace_user", table_name="dashboard_sessions")
    op.drop_index(op.f("ix_dashboard_sessions_workspace_id"), table_name="dashboard_sessions")
    op.drop_index(op.f("ix_dashboard_sessions_expires_at"), table_name="dashboard_sessions")
    op.drop_table("dashboard_sessions")
