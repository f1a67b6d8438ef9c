"""Events get the acting user's id and the closed vocabulary of
protocol/events.py: ``rep:N`` actors become actor ``rep`` with ``actor_id``
N, and the old screen consent kinds become privilege events.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Old kind -> (new kind, privilege).
_RENAMED = {
    "screen_allowed": ("privilege_granted", "view"),
    "screen_denied": ("privilege_refused", "view"),
    "control_allowed": ("privilege_granted", "control"),
    "control_denied": ("privilege_refused", "control"),
    "control_revoked": ("privilege_revoked", "control"),
}


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("actor_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f("fk_events_actor_id_users"), "users", ["actor_id"], ["id"], ondelete="SET NULL")
    events = sa.table(
        "events",
        sa.column("id", sa.Integer()),
        sa.column("kind", sa.String()),
        sa.column("actor", sa.Text()),
        sa.column("actor_id", sa.Integer()),
        sa.column("data", sa.JSON()),
    )
    conn = op.get_bind()
    for row in conn.execute(sa.select(events.c.id, events.c.actor).where(events.c.actor.like("rep:%"))).all():
        suffix = row.actor[4:]
        conn.execute(
            events.update()
            .where(events.c.id == row.id)
            .values(actor="rep", actor_id=int(suffix) if suffix.isdigit() else None)
        )
    for old, (new, privilege) in _RENAMED.items():
        for row in conn.execute(sa.select(events.c.id, events.c.data).where(events.c.kind == old)).all():
            data = dict(row.data or {})
            data["privilege"] = privilege
            conn.execute(events.update().where(events.c.id == row.id).values(kind=new, data=data))


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.drop_constraint(op.f("fk_events_actor_id_users"), type_="foreignkey")
        batch.drop_column("actor_id")
