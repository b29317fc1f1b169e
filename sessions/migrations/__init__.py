"""Alembic migrations of imgedit's one database (run them with ``imgedit db upgrade``)."""
