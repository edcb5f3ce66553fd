"""Search: one interface (``SearchIndex``), an embedded tantivy engine by default and
Meilisearch when ``CITYDEAL_MEILI_URL`` is set, both fed from the listing change log."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from catalog.search.base import SearchIndex
from catalog.search.meili_engine import MeiliIndex
from catalog.search.tantivy_engine import TantivyIndex
from core.settings import Settings


@lru_cache
def _tantivy(directory: str) -> SearchIndex:
    return TantivyIndex(Path(directory))


@lru_cache
def _meili(url: str, key: str | None) -> SearchIndex:
    return MeiliIndex(url, key)


def search_index_for(settings: Settings) -> SearchIndex:
    """The engine the settings choose; one instance per process and location."""
    if settings.meili_url:
        return _meili(settings.meili_url, settings.meili_key)
    return _tantivy(str(settings.var_dir / "search"))
