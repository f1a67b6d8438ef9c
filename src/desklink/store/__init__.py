"""Records: SQLAlchemy 2 models, Alembic migrations and the :class:`Store`.

SQLite by default, PostgreSQL at scale; callers only ever see
:class:`Store` and the frozen records below.
"""

from desklink.store.records import ROLES, AuthSession, Event, Message, Queue, Recording, Request, Role, Session, Transfer, User
from desklink.store.store import Store

__all__ = [
    "ROLES",
    "AuthSession",
    "Event",
    "Message",
    "Queue",
    "Request",
    "Role",
    "Session",
    "Store",
    "Recording",
    "Transfer",
    "User",
]
