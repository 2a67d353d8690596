"""`strategy-bot teams package`: the Teams app package (manifest and icons, zipped).

Teams installs a bot only through an app package: a zip holding `manifest.json` and two
icons at its root, uploaded in the Teams admin center or by "Upload an app" in the client.
Writing the manifest by hand drifts: the bot id stops matching MICROSOFT_APP_ID, the
command menu stops matching the grammar. So it is built here from the settings the bot
runs with (`bot.config.Settings`) and from the engine's grammar (`bot.flows.commands`
and the help lines in `bot.messages`), and checked against Teams' limits before anything
is written. Inputs are validated first and the files are staged in a temporary folder,
so a bad setting leaves no half-written package behind.

The icons are drawn in `icons.py`.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

from bot import messages
from bot.adapters.teams.icons import ACCENT_COLOR, color_icon, outline_icon
from bot.config import Settings
from bot.errors import ConfigError
from bot.flows.commands import COMMANDS, Role

# Manifest schema 1.22: the current version on Microsoft Learn's manifest reference when
# this was written, and accepted by every Teams client and the admin center.
MANIFEST_VERSION = "1.22"
SCHEMA_URL = (
    "https://developer.microsoft.com/en-us/json-schemas/teams/"
    f"v{MANIFEST_VERSION}/MicrosoftTeams.schema.json"
)
MANIFEST_FILE = "manifest.json"
COLOR_ICON = "color.png"
OUTLINE_ICON = "outline.png"
PACKAGE_FILES = (MANIFEST_FILE, COLOR_ICON, OUTLINE_ICON)
ZIP_NAME = "strategy-bot.zip"
DEFAULT_OUT = Path("teams-package")
DEFAULT_NAME = "Strategy Bot"
DEVELOPER_NAME = "strategy-bot"
MESSAGES_PATH = "/api/messages"  # where Azure Bot sends activities (see teams/app.py)
# Teams' limits. Command menus: at most 10 commands, titles of 32 and descriptions of
# 128 characters (the client's documented limits; newer schemas allow more than it shows).
MAX_COMMANDS = 10
MAX_COMMAND_TITLE = 32
MAX_COMMAND_DESCRIPTION = 128
MAX_SHORT_NAME = 30
MAX_FULL_NAME = 100
MAX_SHORT_DESCRIPTION = 80
MAX_FULL_DESCRIPTION = 4000

GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
APP_VERSION = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$")

# The descriptions, the full name and the menus' help lines are in `bot.messages`
# (TEAMS_*, HELP_*), read when the manifest is built, so the package speaks BOT_LANGUAGE.
# `help` is the one command the help lines do not describe (they are what it prints).

# Which commands each bot scope's menu offers, by the role the command needs (`help` is
# in every menu). A personal chat is where a stakeholder answers, so it offers their
# commands plus the CIO's read-only ones; a team channel is where the CIO and admins run
# the conversations, and a stakeholder's commands concern prompts that live in their
# personal chat. Group chats are not a scope: rounds run in personal chats and the CIO
# channel, and a group chat would only be a second, unplanned place for commands.
SCOPE_ROLES: dict[str, frozenset[Role]] = {
    "personal": frozenset({Role.ANYONE, Role.READER}),
    "team": frozenset({Role.READER, Role.ADMIN}),
}


@dataclass(frozen=True)
class MenuCommand:
    """One entry of a Teams command menu, derived from the grammar.

    Attributes:
        name: the grammar's command word (a key of `COMMANDS`).
        title: what Teams inserts in the compose box: the usage without placeholders.
        description: the help line, with the full usage when the command takes words.
        role: the role the command needs, which decides the menus it appears in.
    """

    name: str
    title: str
    description: str
    role: Role


def grammar_menu() -> list[MenuCommand]:
    """Every menu entry the grammar offers, one per command, in the order `help` lists them.

    Built from the command table (`COMMANDS`: usage, help lines, role), so the menu Teams
    shows cannot drift from what the engine parses and what `help` prints.

    Raises:
        RuntimeError: a help line names no command, or a command has no help line. That
            is a programming error (the tests catch it), not something a user can fix.
    """
    entries = [MenuCommand("help", "help", messages.TEAMS_HELP_DESCRIPTION, COMMANDS["help"].role)]
    lines = [line for spec in COMMANDS.values() for line in spec.help]
    for usage, text in lines:
        name = usage.split()[0]
        if name not in COMMANDS:
            raise RuntimeError(f"help line {usage!r} names no command of the grammar")
        if any(entry.name == name for entry in entries):
            # One entry per command: "skip round" is "skip" again (and a button on every
            # prompt), and a menu of ten has no room for a command's second form.
            continue
        words = usage.split()
        if any(
            not w.startswith(("<", "[")) and any(v.startswith(("<", "[")) for v in words[:i])
            for i, w in enumerate(words)
        ):
            # "digest <conversation> rounds <n>": a title without the placeholder would put
            # "rounds" where the conversation goes; `help` lists it, the menu cannot.
            continue
        title = " ".join(w for w in words if not w.startswith(("<", "[")))
        described = (
            messages.command_help(text)
            if title == usage
            else messages.teams_menu_description(usage, text)
        )
        entries.append(MenuCommand(name, title, described.replace("`", ""), COMMANDS[name].role))
    undescribed = sorted(set(COMMANDS) - {entry.name for entry in entries})
    if undescribed:
        raise RuntimeError(f"commands without a help line: {', '.join(undescribed)}")
    return entries


def scope_commands(entries: Sequence[MenuCommand], scope: str) -> list[dict[str, str]]:
    """The `commands` of one scope's menu, cut to Teams' limits.

    A title is inserted in the compose box as it is, so a title over the limit cannot be
    shortened without becoming a different command: that entry is left out. A description
    is only read, so it is shortened with an ellipsis. The menu keeps its first ten
    entries (`help` comes first).
    """
    roles = SCOPE_ROLES[scope]
    commands = [
        {"title": entry.title, "description": _fit(entry.description, MAX_COMMAND_DESCRIPTION)}
        for entry in entries
        if (entry.name == "help" or entry.role in roles) and len(entry.title) <= MAX_COMMAND_TITLE
    ]
    return commands[:MAX_COMMANDS]


def check_app_id(value: str | None) -> str:
    """MICROSOFT_APP_ID, which must be the GUID of the bot's Azure registration.

    Raises:
        ConfigError: naming MICROSOFT_APP_ID when it is absent or not a GUID.
    """
    app_id = (value or "").strip()
    if not app_id:
        raise ConfigError(
            "invalid configuration:\n  MICROSOFT_APP_ID: required to build the Teams package"
            " (the app id of the bot's Azure Bot resource, a GUID)"
        )
    if not GUID.match(app_id):
        raise ConfigError(
            "invalid configuration:\n  MICROSOFT_APP_ID: must be a GUID such as"
            f" 00000000-0000-0000-0000-000000000000 (got {app_id!r})"
        )
    return app_id


def check_public_url(value: str | None) -> str:
    """PUBLIC_URL without its trailing slash; it must be https with a host.

    Teams only talks to https endpoints, the host goes into `validDomains`, and the
    messaging endpoint is this URL followed by `/api/messages`, so a query or fragment
    would break it.

    Raises:
        ConfigError: naming PUBLIC_URL when it is absent, not https, has no host, or has
            a query or fragment.
    """
    url = (value or "").strip().rstrip("/")
    if not url:
        raise ConfigError(
            "invalid configuration:\n  PUBLIC_URL: required to build the Teams package"
            f" (the bot's public https base URL; Teams posts to PUBLIC_URL{MESSAGES_PATH})"
        )
    parts = urlsplit(url)
    if parts.scheme.lower() != "https" or not parts.hostname or parts.query or parts.fragment:
        raise ConfigError(
            "invalid configuration:\n  PUBLIC_URL: must be an https:// base URL with a host"
            f" that Teams can reach, without ? or # (got {url!r})"
        )
    return url


def check_version(version: str | None) -> str:
    """The app version: `version`, or the installed strategy-bot package's version.

    Teams wants three numbers (X.Y.Z) and takes an upload as an update only when the
    version is higher than the installed one.

    Raises:
        ConfigError: naming --version when the version is not X.Y.Z or unknown.
    """
    if version is None:
        try:
            version = metadata.version("strategy-bot")
        except metadata.PackageNotFoundError:
            raise ConfigError(
                "invalid option:\n  --version: strategy-bot is not installed, so its version"
                " is unknown; pass --version X.Y.Z"
            ) from None
        if not APP_VERSION.match(version):
            raise ConfigError(
                f"invalid option:\n  --version: the package version {version!r} is not"
                " X.Y.Z, which Teams requires; pass --version X.Y.Z"
            )
    elif not APP_VERSION.match(version):
        raise ConfigError(
            "invalid option:\n  --version: must be three numbers X.Y.Z, as Teams requires"
            f" (got {version!r})"
        )
    return version


def check_name(name: str) -> str:
    """The app's short name, which Teams limits to 30 characters.

    Raises:
        ConfigError: naming --name when it is empty or too long.
    """
    short = name.strip()
    if not short or len(short) > MAX_SHORT_NAME:
        raise ConfigError(
            f"invalid option:\n  --name: must be 1 to {MAX_SHORT_NAME} characters"
            f" (got {len(short)}: {short!r})"
        )
    return short


def build_manifest(app_id: str, public_url: str, *, version: str, name: str) -> dict[str, Any]:
    """The manifest for already validated inputs.

    The manifest `id` is the bot's app id rather than a new random GUID. Teams needs some
    stable GUID there: with the same id every rebuilt package updates the installed app
    (when its version is higher) instead of appearing as a second app, and deriving it
    from MICROSOFT_APP_ID keeps it stable without storing anything. The bot's app id is
    already a GUID unique to this bot (Microsoft's manifest samples use it the same way).
    `webApplicationInfo` is left out: the bot uses no single sign-on.

    Args:
        app_id: MICROSOFT_APP_ID (see `check_app_id`).
        public_url: PUBLIC_URL (see `check_public_url`).
        version: the app version, X.Y.Z (see `check_version`).
        name: the short name (see `check_name`).
    """
    host = urlsplit(public_url).hostname or ""
    full_name = messages.TEAMS_FULL_NAME.format(name=name)
    entries = grammar_menu()
    return {
        "$schema": SCHEMA_URL,
        "manifestVersion": MANIFEST_VERSION,
        "version": version,
        "id": app_id,
        "developer": {
            "name": DEVELOPER_NAME,
            # Teams requires all three; the bot's own address is the only page we know.
            "websiteUrl": public_url,
            "privacyUrl": public_url,
            "termsOfUseUrl": public_url,
        },
        "name": {"short": name, "full": full_name if len(full_name) <= MAX_FULL_NAME else name},
        "description": {
            "short": _fit(messages.TEAMS_SHORT_DESCRIPTION, MAX_SHORT_DESCRIPTION),
            "full": _fit(messages.TEAMS_FULL_DESCRIPTION.format(name=name), MAX_FULL_DESCRIPTION),
        },
        "icons": {"color": COLOR_ICON, "outline": OUTLINE_ICON},
        "accentColor": ACCENT_COLOR,
        "bots": [
            {
                "botId": app_id,
                "scopes": list(SCOPE_ROLES),
                # `export` sends files in the personal chat (file consent cards).
                "supportsFiles": True,
                "isNotificationOnly": False,
                "commandLists": [
                    {"scopes": [scope], "commands": scope_commands(entries, scope)}
                    for scope in SCOPE_ROLES
                ],
            }
        ],
        "validDomains": [host],
    }


def build_package(
    settings: Settings, out: Path, *, version: str | None = None, name: str = DEFAULT_NAME
) -> Path:
    """Write manifest.json, color.png, outline.png and the zip of the three into `out`.

    Everything is validated before the first write, and the files are written to a
    staging folder inside `out` and then moved into place, so an error leaves either
    nothing or the previous package. Other files in `out` are left alone.

    Returns:
        The zip's path (`out/strategy-bot.zip`).

    Raises:
        ConfigError: naming the environment variable or option that is wrong.
    """
    manifest = build_manifest(
        check_app_id(settings.microsoft_app_id),
        check_public_url(settings.public_url),
        version=check_version(version),
        name=check_name(name),
    )
    if out.exists() and not out.is_dir():
        raise ConfigError(f"invalid option:\n  --out: {out} exists and is not a folder")
    contents = {
        MANIFEST_FILE: (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode(),
        COLOR_ICON: color_icon(),
        OUTLINE_ICON: outline_icon(),
    }
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=out, prefix=".staging-") as staging:
            stage = Path(staging)
            for filename, data in contents.items():
                (stage / filename).write_bytes(data)
            _write_zip(stage / ZIP_NAME, contents)
            for filename in (*PACKAGE_FILES, ZIP_NAME):
                os.replace(stage / filename, out / filename)
    except OSError as exc:
        raise ConfigError(f"invalid option:\n  --out: cannot write to {out}: {exc}") from None
    return out / ZIP_NAME


def run_package(
    settings: Settings, out: Path | None, version: str | None, name: str | None, stdout: TextIO
) -> int:
    """Build the package and say where it is and how to upload it (the CLI's action).

    Args:
        settings: the bot's settings (MICROSOFT_APP_ID and PUBLIC_URL are used).
        out: the output folder; `teams-package` when None.
        version: the app version; the installed package's when None.
        name: the app's short name; "Strategy Bot" when None.
        stdout: where the summary goes.

    Returns:
        0; problems raise `ConfigError`, which the CLI turns into exit status 2.
    """
    out = DEFAULT_OUT if out is None else out
    zip_path = build_package(settings, out, version=version, name=name or DEFAULT_NAME)
    manifest = json.loads((out / MANIFEST_FILE).read_text())
    print(f"OK: {zip_path} ({', '.join(PACKAGE_FILES)})", file=stdout)
    print(
        f"  app {manifest['name']['short']!r} version {manifest['version']},"
        f" bot {manifest['bots'][0]['botId']},"
        f" messaging endpoint {check_public_url(settings.public_url)}{MESSAGES_PATH}",
        file=stdout,
    )
    print(
        "  upload it in Teams (Apps > Manage your apps > Upload an app) or in the Teams"
        " admin center (Teams apps > Manage apps > Upload new app)",
        file=stdout,
    )
    return 0


def _fit(text: str, limit: int) -> str:
    """`text`, shortened to `limit` characters with an ellipsis when longer."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _write_zip(path: Path, contents: dict[str, bytes]) -> None:
    """The upload zip: the files at its root (Teams rejects folders) with fixed timestamps.

    Fixed timestamps make a rebuild from the same inputs byte-identical, so a checksum
    tells whether the package a tenant has is the current one.
    """
    with zipfile.ZipFile(path, "w") as archive:
        for filename in PACKAGE_FILES:
            info = zipfile.ZipInfo(filename, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, contents[filename])
