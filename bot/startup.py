"""Start-up checks: a setting that cannot work stops `serve` with one line naming it.

Why: a raw traceback (or, for a port in use, a traceback after "serving on") tells an
operator neither which setting is wrong nor that the bot is not running. Each check here
raises `ConfigError` (a setting is wrong: exit status 2) or `StartupError` (something the
bot needs is not available now, such as the database or the port: exit status 1), whose
message is one line from `bot.messages` that names DATABASE_URL, HOST or PORT and never
shows a password.

The listening sockets are bound here, before the database is touched and before "serving
on" is printed, and handed to aiohttp (`web.run_app(sock=...)`), so "serving on" is only
ever printed for an address that is really served.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import exc as sa_exc
from sqlalchemy import make_url
from sqlalchemy.engine import URL

from bot import messages
from bot.config import Settings
from bot.errors import ConfigError, StrategyBotError
from bot.logs import redact

BACKLOG = 128


class StartupError(StrategyBotError):
    """Something the bot needs (its database, its port) is not available; the message says which."""


# -- the console's exposure ----------------------------------------------------------------


def is_loopback(host: str) -> bool:
    """Whether HOST only accepts connections from this machine (127.0.0.0/8, ::1, localhost)."""
    name = host.strip().strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(name.split("%", 1)[0])
    except ValueError:
        return False  # another host name: it may resolve to anything
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def check_console_exposure(settings: Settings) -> None:
    """The console has no login: it may listen beyond loopback only when the operator says so.

    Raises:
        ConfigError: the console is on, HOST is not loopback, CONSOLE_ALLOW_REMOTE is off.
    """
    if settings.console_on and not settings.console_allow_remote and not is_loopback(settings.host):
        raise ConfigError(messages.console_exposed(settings.host))


# -- the listening sockets -------------------------------------------------------------------


def listen(host: str, port: int) -> list[socket.socket]:
    """Bind and listen on every address HOST names, like asyncio's `create_server` would.

    Returns:
        The listening sockets, for `web.run_app(sock=...)`.

    Raises:
        ConfigError: HOST is not an address or name (or not one of this machine's), or
            the system does not allow listening on PORT.
        StartupError: PORT is already in use.
    """
    try:
        found = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except (socket.gaierror, UnicodeError) as exc:
        raise ConfigError(messages.host_unknown(host, _reason(exc))) from None
    sockets: list[socket.socket] = []
    bound: set[tuple[int, object]] = set()
    try:
        for family, kind, proto, _, address in found:
            if (family, address) in bound:
                continue
            bound.add((family, address))
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:  # as asyncio does: IPv4 gets its own socket
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
            sock.listen(BACKLOG)
            sock.setblocking(False)
    except OSError as exc:
        for sock in sockets:
            sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise StartupError(messages.port_in_use(host, port)) from None
        if exc.errno == errno.EADDRNOTAVAIL:
            raise ConfigError(messages.host_not_here(host)) from None
        raise ConfigError(messages.port_refused(host, port, _reason(exc))) from None
    return sockets


def served_url(host: str, port: int) -> str:
    """The URL printed after "serving on" (IPv6 addresses in brackets)."""
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"http://{shown}:{port}/"


# -- the database ----------------------------------------------------------------------------


def shown_url(url: str) -> str:
    """DATABASE_URL as it may be printed: without its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (sa_exc.ArgumentError, ValueError):
        return redact(url)


def check_database_url(url: str) -> None:
    """Catch what can be told without connecting: an unparsable URL, a missing SQLite folder.

    Raises:
        ConfigError: naming DATABASE_URL.
    """
    try:
        parsed = make_url(url)
    except (sa_exc.ArgumentError, ValueError) as exc:
        raise ConfigError(messages.database_url_invalid(redact(_reason(exc)))) from None
    if parsed.get_backend_name() != "sqlite":
        return
    path = _sqlite_path(parsed)
    if path is None:
        raise ConfigError(
            messages.database_url_invalid("use a file for SQLite; an in-memory database is lost")
        )
    if not path.parent.is_dir():
        raise ConfigError(messages.sqlite_folder_missing(str(path.parent)))


@contextmanager
def database_errors(url: str) -> Iterator[None]:
    """Turn the first connection's failures (migrations, playbook sync) into one line.

    Raises:
        ConfigError: from `check_database_url`.
        StartupError: the database could not be reached, opened or written.
    """
    check_database_url(url)
    try:
        yield
    except (sa_exc.OperationalError, sa_exc.InterfaceError) as exc:
        reason = redact(_reason(exc.orig if exc.orig is not None else exc))
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite":
            raise StartupError(
                messages.sqlite_unusable(str(_sqlite_path(parsed) or url), reason)
            ) from None
        raise StartupError(messages.database_unreachable(shown_url(url), reason)) from None
    except (sa_exc.NoSuchModuleError, sa_exc.ArgumentError) as exc:
        raise ConfigError(messages.database_url_invalid(redact(_reason(exc)))) from None


def _sqlite_path(url: URL) -> Path | None:
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return None if database in ("", ":memory:") else Path(database[5:].split("?", 1)[0])
    return Path(database).absolute()


def _reason(error: BaseException) -> str:
    """The first line of an error's message (drivers add hints on further lines)."""
    text = str(error).strip()
    first = text.splitlines()[0].strip() if text else type(error).__name__
    return first[:300]
