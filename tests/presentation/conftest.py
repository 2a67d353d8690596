"""The console's fixtures (an echoing engine, a live server, Debian's Chromium), reused."""

from tests.console.conftest import (
    adapter,
    browser,
    chromium,
    client,
    console_app,
    engine,
    serve_app,
)

__all__ = ["adapter", "browser", "chromium", "client", "console_app", "engine", "serve_app"]
