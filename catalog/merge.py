"""Three-way comparison of an edit made from a stale version: what the other editor
changed since, and where both changed the same field differently."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FieldChange:
    """A field someone else changed since the editor's version."""

    name: str
    old: str | None  # the value the editor started from (None: not known)
    theirs: str  # the value saved meanwhile
    mine: str  # what the editor typed

    @property
    def both_changed(self) -> bool:
        """The editor changed it too, to something else: only they can choose."""
        return self.mine != self.theirs and (self.old is None or self.mine != self.old)


def changes_since(
    names: Sequence[str],
    *,
    original: Mapping[str, str | None],
    mine: Mapping[str, str],
    theirs: Mapping[str, str],
) -> list[FieldChange]:
    """The fields whose stored value (``theirs``) differs from the one the editor started
    from (``original``; unknown counts as different), unless the editor typed the same."""
    changed = []
    for name in names:
        old = original.get(name)
        if old == theirs[name] or mine[name] == theirs[name]:
            continue
        changed.append(FieldChange(name, old, theirs[name], mine[name]))
    return changed
