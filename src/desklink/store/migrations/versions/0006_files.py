"""Files in transit (``transfers``) and each queue's file policy.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_POLICY = (
    ("files_to_visitor", sa.Boolean(), sa.true()),
    ("files_from_visitor", sa.Boolean(), sa.true()),
    ("max_file_bytes", sa.BigInteger(), "0"),
    ("max_files_per_session", sa.Integer(), "0"),
    ("blocked_extensions", sa.Text(), sa.text("''")),
)


def _ts(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    # The defaults stay on the columns (SQLite cannot drop one without
    # recreating ``queues``, which the requests that name it forbid).
    for name, type_, default in _POLICY:
        op.add_column("queues", sa.Column(name, type_, nullable=False, server_default=default))

    op.create_table(
        "transfers",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("request_id", sa.String(length=16), nullable=False),
        sa.Column("session_id", sa.String(length=16), nullable=False),
        sa.Column("sender", sa.String(length=16), nullable=False),
        sa.Column("sender_name", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("via", sa.String(length=16), nullable=False),
        sa.Column("target", sa.String(length=16), nullable=False),
        sa.Column("client_id", sa.String(length=128), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("mime", sa.String(length=128), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("received", sa.BigInteger(), nullable=False),
        sa.Column("delivered", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("download_key", sa.String(length=128), nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["requests.id"],
            name=op.f("fk_transfers_request_id_requests"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_transfers_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transfers")),
        sa.UniqueConstraint(
            "request_id",
            "sender",
            "client_id",
            name=op.f("uq_transfers_request_id_sender_client_id"),
        ),
    )
    op.create_index(op.f("ix_transfers_request_id"), "transfers", ["request_id"])
    op.create_index(op.f("ix_transfers_created_at"), "transfers", ["created_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_transfers_created_at"), table_name="transfers")
    op.drop_index(op.f("ix_transfers_request_id"), table_name="transfers")
    op.drop_table("transfers")
    # Plain ALTER TABLE DROP COLUMN (SQLite 3.35+): recreating ``queues``
    # would trip the foreign keys of the requests that name it.
    with op.batch_alter_table("queues", recreate="never") as batch:
        for name, _type, _default in reversed(_POLICY):
            batch.drop_column(name)
