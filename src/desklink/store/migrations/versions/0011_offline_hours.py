"""Business hours per queue and offline messages (issue 14).

``queues.hours`` holds the queue's hours as JSON (hours.py; ``{}``: always
open, as is ``NULL``). ``offline_messages`` holds what visitors left while the desk was
closed or nobody was online, and who answered them by e-mail, when.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("queues", sa.Column("hours", sa.JSON(), nullable=True))
    op.create_table(
        "offline_messages",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("queue_id", sa.Integer(), nullable=False),
        sa.Column("visitor_name", sa.Text(), nullable=False),
        sa.Column("visitor_email", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("origin", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("copy_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_by", sa.Integer(), nullable=True),
        sa.Column("answered_by_name", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["queue_id"], ["queues.id"], name=op.f("fk_offline_messages_queue_id_queues"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["answered_by"], ["users.id"], name=op.f("fk_offline_messages_answered_by_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offline_messages")),
    )
    op.create_index("ix_offline_messages_queue_created", "offline_messages", ["queue_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_offline_messages_queue_created", table_name="offline_messages")
    op.drop_table("offline_messages")
    # Plain ALTER TABLE DROP COLUMN (SQLite 3.35+): recreating ``queues``
    # would trip the foreign keys of the requests that name it.
    with op.batch_alter_table("queues", recreate="never") as batch:
        batch.drop_column("hours")
