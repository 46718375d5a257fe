"""Forms opened from ephemeral messages: the response_url of the click that opened each form, kept by the bot for
the 30 minutes Slack honours it, so the form's submission can redraw the message it was opened from without
reading a target out of the form's metadata.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "form_origins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("view_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("response_url", sa.String(length=1000), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_form_origins_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_form_origins")),
        sa.UniqueConstraint("workspace_id", "view_id", name=op.f("uq_form_origins_workspace_id_view_id")),
    )
    with op.batch_alter_table("form_origins", schema=None) as batch_op:
        batch_op.create_index("ix_form_origins_created_at", ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_form_origins_workspace_id"), ["workspace_id"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("form_origins", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_form_origins_workspace_id"))
        batch_op.drop_index("ix_form_origins_created_at")
    op.drop_table("form_origins")
