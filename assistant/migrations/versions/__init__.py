"""Alembic revisions of the question log, oldest first (0001 = the schema before migrations)."""
