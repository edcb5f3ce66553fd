"""The HTTP API under ``/v1``: one thin router per domain over its services."""
