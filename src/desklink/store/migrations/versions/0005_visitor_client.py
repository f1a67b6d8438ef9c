"""Requests keep the visitor's system and browser, as the help box
summarized them ("Windows 11 · Chrome 131"), so the rep knows which way of
sharing the screen to offer. Older requests have none ("").

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The server default only fills the rows that exist; new rows get theirs
    # from the store (the models name no server default).
    with op.batch_alter_table("requests") as batch:
        batch.add_column(sa.Column("visitor_client", sa.Text(), nullable=False, server_default=""))
    with op.batch_alter_table("requests") as batch:
        batch.alter_column("visitor_client", server_default=None, existing_type=sa.Text(), existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("requests") as batch:
        batch.drop_column("visitor_client")
