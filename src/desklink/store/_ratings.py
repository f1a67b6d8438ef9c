"""The visitor's rating of a session: written once, with its ``rated`` event.

One conditional ``UPDATE sessions ... WHERE rating IS NULL AND ended_at >=
<cutoff>`` decides everything at once: two ratings sent together (two tabs,
a double click) cannot both win, on SQLite (one writer) or PostgreSQL (the
second updater re-checks the ``WHERE`` after the first commits). Only when
nothing matched does the store read the row, to say why in words.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import insert, select, update

from desklink.errors import Conflict, NotFound
from desklink.store._base import StoreBase, record
from desklink.store.models import EventRow, SessionRow
from desklink.store.records import RATING_MAX, RATING_MIN, Session


def window_words(window_s: float) -> str:
    """``86400`` -> ``"24 hours"``; ``90`` -> ``"90 seconds"``."""
    if window_s >= 3600 and window_s % 3600 == 0:
        hours = int(window_s // 3600)
        return f"{hours} hour{'s' if hours != 1 else ''}"
    if window_s >= 60 and window_s % 60 == 0:
        minutes = int(window_s // 60)
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"{window_s:g} seconds"


class RatingsMixin(StoreBase):
    async def rate_session(
        self, session_id: str, *, rating: int, comment: str, window_s: float, now: datetime
    ) -> Session:
        """Store the visitor's ``rating`` (1 to 5) and ``comment`` on an ended
        session and log the ``rated`` event (actor ``visitor``), in one
        transaction. The caller has checked the values (anything outside
        1..5 here is a ``ValueError``: a programming error).

        Refusals, each with a sentence for the visitor: :class:`NotFound` for
        an unknown session; :class:`Conflict` with ``conflict_exists`` when it
        was rated before (the first rating stays), ``bad_state`` while it is
        still open, ``conflict_closed`` when it ended more than ``window_s``
        seconds before ``now``."""
        if not (isinstance(rating, int) and RATING_MIN <= rating <= RATING_MAX):
            raise ValueError(f"a rating is a whole number from {RATING_MIN} to {RATING_MAX}, not {rating!r}")
        cutoff = now - timedelta(seconds=window_s)
        async with self._write() as conn:
            row = (
                await conn.execute(
                    update(SessionRow)
                    .where(
                        SessionRow.id == session_id,
                        SessionRow.rating.is_(None),
                        SessionRow.ended_at.is_not(None),
                        SessionRow.ended_at >= cutoff,
                    )
                    .values(rating=rating, rating_comment=comment, rated_at=now)
                    .returning(SessionRow)
                )
            ).first()
            if row is None:
                found = (
                    await conn.execute(
                        select(SessionRow.rating, SessionRow.ended_at).where(SessionRow.id == session_id)
                    )
                ).first()
                if found is None:
                    raise NotFound(f"no session {session_id}")
                if found.rating is not None:
                    raise Conflict("this conversation has already been rated; thank you", code="conflict_exists")
                if found.ended_at is None:
                    raise Conflict("the conversation has not ended yet; rate it once it ends", code="bad_state")
                raise Conflict(
                    f"a conversation can be rated for {window_words(window_s)} after it ends, and this one "
                    "ended earlier",
                    code="conflict_closed",
                )
            await conn.execute(
                insert(EventRow).values(
                    request_id=row.request_id,
                    kind="rated",
                    actor="visitor",
                    actor_id=None,
                    data={"rating": rating, "comment": comment},
                    created_at=now,
                )
            )
        return record(Session, row)
