"""Join codes for screen sharing.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "join_codes",
        sa.Column("slot", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("session_id", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], name=op.f("fk_join_codes_session_id_sessions")),
        sa.PrimaryKeyConstraint("slot", name=op.f("pk_join_codes")),
    )
    op.create_index(op.f("ix_join_codes_session_id"), "join_codes", ["session_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_join_codes_session_id"), table_name="join_codes")
    op.drop_table("join_codes")
