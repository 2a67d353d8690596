"""The `strategy-bot` command: serve, database, playbook checks, Teams packaging, export, secrets.

argparse (standard library) is enough for a handful of subcommands; errors go to stderr,
one line each, with exit status 2 for usage and configuration problems, 1 for a failed check
or when something the bot needs (its database, its port) is not available
(`bot.startup`).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path
from typing import TextIO

from bot.config import Settings
from bot.errors import ConfigError, PlaybookError
from bot.logs import configure_logging


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="strategy-bot",
        description="Runs the CIO's six strategy conversations in Slack, Teams or the web console.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = sub.add_parser("serve", help="run the bot (web console, Slack, Teams endpoints)")
    serve.add_argument("--host", help="address to listen on (env HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (env PORT, default 3978)")
    db = sub.add_parser("db", help="database operations")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_sub.add_parser("upgrade", help="apply migrations (safe to repeat)")
    db_sub.add_parser("current", help="print the database's migration revision")
    pb = sub.add_parser("playbook", help="playbook operations")
    pb_sub = pb.add_subparsers(dest="pb_command", required=True, metavar="ACTION")
    check = pb_sub.add_parser("check", help="validate a playbook (default: the built-in one)")
    check.add_argument("file", nargs="?", type=Path, help="playbook YAML file")
    teams = sub.add_parser("teams", help="Microsoft Teams operations")
    teams_sub = teams.add_subparsers(dest="teams_command", required=True, metavar="ACTION")
    package = teams_sub.add_parser(
        "package",
        help="build the Teams app package (manifest.json, icons, zip) from MICROSOFT_APP_ID"
        " and PUBLIC_URL",
    )
    package.add_argument(
        "--out", type=Path, metavar="DIR", help="output folder (default teams-package)"
    )
    package.add_argument(
        "--version",
        dest="app_version",
        metavar="X.Y.Z",
        help="app version; raise it for every re-upload (default: strategy-bot's version)",
    )
    package.add_argument("--name", help="app name in Teams, up to 30 characters")
    export = sub.add_parser(
        "export",
        help="rounds, participation, answers (authors unless anonymous) and the digests'"
        " roll-ups as CSV, xlsx or Markdown",
    )
    export.add_argument("target", metavar="CONVERSATION|all", help="a conversation key, or all")
    export.add_argument("--since", metavar="YYYY-MM-DD", help="rounds opened on or after (UTC)")
    export.add_argument("--format", dest="fmt", choices=("csv", "xlsx", "md"), default="csv")
    export.add_argument("--out", type=Path, metavar="FILE", help="write here (default stdout)")
    secrets = sub.add_parser(
        "secrets", help="the Slack tokens stored in the database, encrypted with SECRETS_KEYS"
    )
    secrets_sub = secrets.add_subparsers(dest="secrets_command", required=True, metavar="ACTION")
    secrets_sub.add_parser(
        "rotate",
        help="encrypt every stored token with the first key of SECRETS_KEYS (clear ones too)",
    )
    secrets_sub.add_parser(
        "decrypt", help="store every token in clear again (before removing SECRETS_KEYS)"
    )
    secrets_sub.add_parser("new-key", help="print a new random key for SECRETS_KEYS")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    args = _parser().parse_args(argv)
    from bot.config import load_settings
    from bot.startup import StartupError

    try:
        overrides: dict[str, object] = {}
        if getattr(args, "host", None):
            overrides["HOST"] = args.host
        if getattr(args, "port", None):
            overrides["PORT"] = args.port
        settings = load_settings(**overrides)
        setup_logging(settings)
        if args.command == "playbook":
            from bot.playbook.check import run_check

            return run_check(args.file or settings.playbook_path, sys.stdout)
        if args.command == "teams":
            from bot.adapters.teams.package import run_package

            return run_package(settings, args.out, args.app_version, args.name, sys.stdout)
        if args.command == "export":
            from bot.startup import database_errors

            with database_errors(settings.database_url):
                return run_export(settings, args.target, args.since, args.fmt, args.out)
        if args.command == "secrets":
            from bot.startup import database_errors

            if args.secrets_command == "new-key":
                from bot.encryption import new_key

                print(new_key())
                return 0
            with database_errors(settings.database_url):
                return run_secrets(settings, decrypt=args.secrets_command == "decrypt")
        if args.command == "db":
            from bot.startup import database_errors
            from storage.migrate import current, upgrade

            with database_errors(settings.database_url):
                if args.db_command == "upgrade":
                    upgrade(settings.database_url)
                revision = current(settings.database_url)
            print(revision or "(empty)")
            return 0
        return _serve(settings)
    except (ConfigError, PlaybookError) as exc:
        print(f"strategy-bot: {exc}", file=sys.stderr)
        return 2
    except StartupError as exc:
        print(f"strategy-bot: {exc}", file=sys.stderr)
        return 1


def run_export(
    settings: Settings, target: str, since: str | None, fmt: str, out: Path | None
) -> int:
    """`strategy-bot export`: write the export (`bot.flows.export`), audited as the operator.

    Nothing is written (no file is created) when the words are wrong or there is nothing
    to export; the reason is one line on stderr.
    """
    import getpass
    from datetime import UTC, date, datetime, time

    from sqlalchemy import select

    from bot.flows import export, export_chat
    from storage import models
    from storage.db import Database

    day = None
    if since is not None:
        try:
            day = date.fromisoformat(since)
        except ValueError:
            raise ConfigError(f"--since {since!r} is not a date; write it as YYYY-MM-DD") from None
        if day > datetime.now(UTC).date():
            raise ConfigError(f"--since {since} is in the future; nothing could be exported")
    start = datetime.combine(day, time(0, 0), tzinfo=UTC) if day is not None else None
    db = Database(settings.database_url)
    try:
        with db.transaction() as session:
            known = list(session.scalars(select(models.Conversation.key)))
            if target != "all" and target not in known:
                raise ConfigError(
                    f"there is no conversation {target!r}; known: {', '.join(known) or 'none'}"
                )
            keys = None if target == "all" else [target]
            found = export.rounds_to_export(session, keys, start)
            if not found:
                print(
                    f"strategy-bot: nothing to export: no round of {target}"
                    + (f" opened since {since}" if since else "")
                    + "; no file was written",
                    file=sys.stderr,
                )
                return 1
            binary = out.open("wb") if out is not None else sys.stdout.buffer
            try:
                lines = export_chat.table(session, [r for r, _ in found])
                count = export.write(fmt, lines, binary)
            finally:
                binary.flush()
                if out is not None:
                    binary.close()
            session.add(
                models.AuditEntry(
                    at=datetime.now(UTC),
                    actor=f"cli:{getpass.getuser()}",
                    action="export",
                    target=target,
                    detail={"rows": count, "format": fmt, "since": since or "all time"},
                )
            )
    finally:
        db.dispose()
    if out is not None:
        print(f"strategy-bot: wrote {count} rows to {out}", file=sys.stderr)
    return 0


def run_secrets(settings: Settings, *, decrypt: bool = False) -> int:
    """`strategy-bot secrets rotate` (or `decrypt`): rewrite every stored Slack token.

    Rotating encrypts each token with the first key of SECRETS_KEYS: those stored in clear
    (installed before a key was set) and those encrypted with an older key (README, "Data
    and privacy": add the new key first, run this, then drop the old key). Safe to run
    while the bot runs, and to run again. A token no configured key decrypts is named on
    stderr, left as it is, and makes the exit status 1. Audited as `cli:<os user>`.

    Raises:
        ConfigError: rotating without SECRETS_KEYS (there is nothing to encrypt with).
    """
    import getpass
    from datetime import UTC, datetime

    from bot.adapters.slack.install import reseal_tokens
    from bot.encryption import VARIABLE, SecretBox
    from storage import models
    from storage.db import Database
    from storage.migrate import current, head

    keys = settings.secret_keys
    if not keys and not decrypt:
        raise ConfigError(
            f"{VARIABLE} is not set: there is no key to encrypt the stored tokens with"
            " (make one with 'strategy-bot secrets new-key')"
        )
    at, newest = current(settings.database_url), head()
    if at != newest:  # the wide token columns (0010) may be missing: never write half
        raise ConfigError(
            f"the database is at revision {at or '(empty)'}, this strategy-bot needs {newest}:"
            " run 'strategy-bot db upgrade' first"
        )
    db = Database(settings.database_url)
    try:
        report = reseal_tokens(db.engine, SecretBox(keys), clear=decrypt)
        with db.transaction() as session:
            session.add(
                models.AuditEntry(
                    at=datetime.now(UTC),
                    actor=f"cli:{getpass.getuser()}",
                    action="secrets-decrypt" if decrypt else "secrets-rotate",
                    target="slack-tokens",
                    detail={
                        "encrypted": report.encrypted,
                        "rotated": report.rotated,
                        "decrypted": report.decrypted,
                        "unchanged": report.unchanged,
                        "unreadable": len(report.unreadable),
                    },
                )
            )
    finally:
        db.dispose()
    if decrypt:
        print(
            f"strategy-bot: stored {report.decrypted} token(s) in clear again"
            f" ({report.unchanged} already were)"
        )
    else:
        print(
            f"strategy-bot: encrypted {report.encrypted} token(s) stored in clear and"
            f" re-encrypted {report.rotated} with the first key of {VARIABLE}"
            f" ({report.unchanged} already were)"
        )
    for unreadable in report.unreadable:
        print(f"strategy-bot: {unreadable}; left as it is", file=sys.stderr)
    return 1 if report.unreadable else 0


def setup_logging(settings: Settings, stream: TextIO | None = None) -> logging.Handler:
    """Logging as `strategy-bot` runs it: LOG_LEVEL and the configured secrets.

    See `bot.logs.configure_logging` and the README ("Logging and privacy"); tests call
    this to log exactly the way the command does.
    """
    return configure_logging(settings.log_level, stream=stream, secrets=_secrets(settings))


def _secrets(settings: Settings) -> list[str]:
    """The configured secret values, masked in every log line should one ever show up."""
    from sqlalchemy import make_url
    from sqlalchemy.exc import ArgumentError

    values = [
        settings.slack_bot_token,
        settings.slack_signing_secret,
        settings.slack_app_token,
        settings.slack_client_secret,
        settings.slack_state_secret,
        settings.microsoft_app_password,
        settings.summary_api_key,
    ]
    values.extend(settings.secret_keys)
    with suppress(ValueError, ArgumentError):  # an unparsable URL is reported when used
        values.append(make_url(settings.database_url).password)
    return [v for v in values if v]


def _serve(settings: Settings) -> int:
    """Bind the port, check the settings, prepare the database, then announce and serve.

    Binding comes first, so "serving on" is printed only for an address really served
    and a port in use is one line, not a traceback after the announcement.
    """
    from aiohttp import web

    from bot.app import build_app
    from bot.heap import freeze_startup_heap
    from bot.startup import check_console_exposure, listen, served_url

    sockets = listen(settings.host, settings.port)
    try:
        check_console_exposure(settings)
        app = build_app(settings)
        app.on_startup.append(freeze_startup_heap)  # after the app's own start-up
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    print(f"strategy-bot: serving on {served_url(settings.host, settings.port)}", flush=True)
    web.run_app(app, sock=sockets, print=None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
