"""Search: one interface (``SearchIndex``), an embedded tantivy engine by default and
Meilisearch when ``CITYDEAL_MEILI_URL`` is set, both fed from the listing change log.
The composition root (``api.main``) chooses and builds the engine."""
