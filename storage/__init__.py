"""Persistence: SQLAlchemy models, the database connection and Alembic migrations.

This package knows tables and transactions, nothing about chat platforms or prompts.
"""
