"""Cross-cutting pieces every domain uses: settings, database, errors, text types."""
