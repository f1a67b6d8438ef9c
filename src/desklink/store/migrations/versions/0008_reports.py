"""The manager's half (issue 13): the visitor's rating on each session and
the reps' presence log (online time and load).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("sessions", sa.Column("rating", sa.Integer(), nullable=True))
    op.add_column("sessions", sa.Column("rating_comment", sa.Text(), nullable=False, server_default=sa.text("''")))
    op.add_column("sessions", sa.Column("rated_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "presence_log",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("node", sa.String(length=64), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_presence_log_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_presence_log")),
    )
    op.create_index("ix_presence_log_user_started", "presence_log", ["user_id", "started_at"])
    op.create_index(op.f("ix_presence_log_started_at"), "presence_log", ["started_at"])
    # reports select requests by submit time
    op.create_index("ix_requests_created_at", "requests", ["created_at"])
    # reports find the sessions touching a range (started before its end,
    # not ended before its start) within this index, before reading rows
    op.create_index("ix_sessions_started_ended", "sessions", ["started_at", "ended_at"])


def downgrade() -> None:
    op.drop_index("ix_sessions_started_ended", table_name="sessions")
    op.drop_index("ix_requests_created_at", table_name="requests")
    op.drop_index(op.f("ix_presence_log_started_at"), table_name="presence_log")
    op.drop_index("ix_presence_log_user_started", table_name="presence_log")
    op.drop_table("presence_log")
    with op.batch_alter_table("sessions", recreate="never") as batch:
        batch.drop_column("rated_at")
        batch.drop_column("rating_comment")
        batch.drop_column("rating")
