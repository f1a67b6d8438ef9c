"""Requests keep the visitor's context (issue 14): the page they were on,
the referrer, their languages, time zone and UTC offset, and the fields the
provider's page passed to the help box, as one JSON object checked by
protocol/visitor_context.py. Older requests have none (``{}``).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The server default only fills the rows that exist; new rows get theirs
    # from the store (the models name no server default).
    with op.batch_alter_table("requests") as batch:
        batch.add_column(sa.Column("visitor_context", sa.JSON(), nullable=False, server_default=sa.text("'{}'")))
    with op.batch_alter_table("requests") as batch:
        batch.alter_column("visitor_context", server_default=None, existing_type=sa.JSON(), existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("requests") as batch:
        batch.drop_column("visitor_context")
