"""Expected wait for a visitor in the queue.

The estimate is deliberately simple and honest: the median time recent
requests of the same queue waited before a rep accepted them, times the
visitor's position, rounded up to a quarter minute. With no history yet it
assumes :data:`DEFAULT_WAIT_S` per position. With nobody online there is no
estimate at all (``None``): the help box says so instead of inventing one.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

#: Assumed wait per position before the queue has any history, seconds.
DEFAULT_WAIT_S = 60.0
#: Estimates are rounded up to this step so they don't flicker, seconds.
ROUND_TO_S = 15.0


def expected_wait(position: int, recent_waits: Sequence[float], online_reps: int) -> float | None:
    if position <= 0:
        return 0.0
    if online_reps <= 0:
        return None
    per_position = statistics.median(recent_waits) if recent_waits else DEFAULT_WAIT_S
    raw = max(per_position, ROUND_TO_S) * position
    return math.ceil(raw / ROUND_TO_S) * ROUND_TO_S
