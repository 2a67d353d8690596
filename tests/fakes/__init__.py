"""Test doubles shared across test packages."""
