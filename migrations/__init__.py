"""Alembic revisions for the bot's schema (run with `okr-bot migrate`)."""
