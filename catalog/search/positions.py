"""How far a reader of an id-ordered log may safely record that it has read."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

# Ids are handed out when a row is inserted but become visible when its transaction
# commits, so a reader can see id 101 before id 100. A missing id younger than this may
# still appear: the reader's position waits below it (later entries are applied anyway,
# and applying is idempotent). An older gap is a rolled-back or replaced row.
GAP_GRACE = timedelta(seconds=60)


def settled_position(position: int, entries: Sequence[tuple[int, datetime]], now: datetime) -> int:
    """The highest id up to which ``entries`` (id, written at; ascending, all above
    ``position``) leave no gap that may still fill."""
    expected = position + 1
    for entry_id, written_at in entries:
        if entry_id != expected and now - written_at < GAP_GRACE:
            return expected - 1
        expected = entry_id + 1
    return expected - 1
