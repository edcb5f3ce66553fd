"""The catalogue: geography, publishers, listings and the search index."""
