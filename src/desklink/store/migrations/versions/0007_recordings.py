"""Screen recordings: each queue's recording policy and the ``recordings``
index (one row per recorded screen session; the segments are in the
recording store, see server/recording_store.py).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-10
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("queues", sa.Column("recording", sa.String(length=16), nullable=False, server_default="never"))
    op.create_table(
        "recordings",
        sa.Column("session_id", sa.String(length=16), nullable=False),
        sa.Column("request_id", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("segments", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("bytes", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("duration_ms", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("head_hash", sa.String(length=64), nullable=False, server_default=sa.text("''")),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=False, server_default=sa.text("''")),
        sa.ForeignKeyConstraint(["request_id"], ["requests.id"], name=op.f("fk_recordings_request_id_requests")),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_recordings")),
    )
    op.create_index(op.f("ix_recordings_request_id"), "recordings", ["request_id"])
    op.create_index(op.f("ix_recordings_started_at"), "recordings", ["started_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_recordings_started_at"), table_name="recordings")
    op.drop_index(op.f("ix_recordings_request_id"), table_name="recordings")
    op.drop_table("recordings")
    with op.batch_alter_table("queues", recreate="never") as batch:
        batch.drop_column("recording")
