"""Branding per queue (issue 14): the help box's title, accent colour,
welcome text and pre-chat fields on the queue, and its logo (PNG, JPEG or
WebP, checked by protocol/branding.py) in ``queue_logos``, one row per queue,
so listing queues never loads an image. Queues without branding look as
before: empty text, no fields, no logo.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN, not a batch: SQLite would recreate ``queues``, which
    # the requests naming it forbid (as in 0006 and 0007).
    op.add_column("queues", sa.Column("brand_title", sa.Text(), nullable=False, server_default=sa.text("''")))
    op.add_column("queues", sa.Column("brand_color", sa.String(length=7), nullable=False, server_default=sa.text("''")))
    op.add_column("queues", sa.Column("brand_welcome", sa.Text(), nullable=False, server_default=sa.text("''")))
    # JSON as text: a JSON column's server default cannot be compared on
    # PostgreSQL nor dropped on SQLite without recreating the table.
    op.add_column("queues", sa.Column("prechat_fields", sa.Text(), nullable=False, server_default=sa.text("'[]'")))
    op.create_table(
        "queue_logos",
        sa.Column("queue_id", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.String(length=32), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["queue_id"], ["queues.id"], name=op.f("fk_queue_logos_queue_id_queues"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("queue_id", name=op.f("pk_queue_logos")),
    )


def downgrade() -> None:
    op.drop_table("queue_logos")
    with op.batch_alter_table("queues", recreate="never") as batch:
        batch.drop_column("prechat_fields")
        batch.drop_column("brand_welcome")
        batch.drop_column("brand_color")
        batch.drop_column("brand_title")
