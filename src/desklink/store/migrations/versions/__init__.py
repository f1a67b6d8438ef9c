"""Revision files; Alembic loads them by path (this file is skipped)."""
