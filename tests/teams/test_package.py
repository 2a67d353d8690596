"""`strategy-bot teams package` as an admin runs it: a real subprocess, real files.

The manifest is checked against Microsoft's schema (vendored in `schema/`, see its
NOTICE) and against the stricter limits the Teams client enforces; the command menus
against the engine's grammar; the icons by decoding the PNGs; the errors by exit status,
message and the absence of any written file.
"""

from __future__ import annotations

import json
import os
import re
import struct
import subprocess
import sys
import zipfile
import zlib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.teams import package
from bot.flows import commands
from bot.flows.commands import COMMANDS, Role

APP_ID = "0b4f5c2e-1d3a-4e5f-9a8b-7c6d5e4f3a2b"
HOST = "strategy.example.org"
PUBLIC_URL = f"https://{HOST}/bot/"
GOOD_ENV = {"MICROSOFT_APP_ID": APP_ID, "PUBLIC_URL": PUBLIC_URL}
SCHEMA = (
    Path(__file__).parent / "schema" / f"MicrosoftTeams.v{package.MANIFEST_VERSION}.schema.json"
)
FILES = sorted(package.PACKAGE_FILES)


def strategy_bot(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the CLI with exactly `env` for the Teams and public-URL settings."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "MICROSOFT_")) and k != "PUBLIC_URL"
    }
    return subprocess.run(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        env={**clean, **env, "PYTHONPATH": str(Path(__file__).parents[2])},
        cwd=cwd,
        timeout=60,
        check=False,
    )


@dataclass(frozen=True)
class Built:
    folder: Path
    result: subprocess.CompletedProcess[str]

    @property
    def zip_path(self) -> Path:
        return self.folder / package.ZIP_NAME

    @property
    def manifest(self) -> dict[str, Any]:
        return json.loads((self.folder / "manifest.json").read_text(encoding="utf-8"))

    def commands(self, scope: str) -> list[dict[str, str]]:
        (bot,) = self.manifest["bots"]
        (menu,) = [m for m in bot["commandLists"] if m["scopes"] == [scope]]
        return menu["commands"]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """One package built with the defaults, in a fresh working directory."""
    cwd = tmp_path_factory.mktemp("run")
    result = strategy_bot("teams", "package", env=GOOD_ENV, cwd=cwd)
    assert result.returncode == 0, result.stderr
    return Built(cwd / "teams-package", result)


# The package ---------------------------------------------------------------------------


def test_default_folder_holds_the_three_files_and_the_zip(built: Built) -> None:
    assert sorted(p.name for p in built.folder.iterdir()) == sorted([*FILES, "strategy-bot.zip"])
    assert str(built.zip_path.relative_to(built.folder.parent)) in built.result.stdout
    assert f"https://{HOST}/bot/api/messages" in built.result.stdout


def test_zip_holds_exactly_the_three_files_at_its_root(built: Built) -> None:
    with zipfile.ZipFile(built.zip_path) as archive:
        assert archive.testzip() is None
        assert sorted(archive.namelist()) == FILES
        for name in FILES:
            assert archive.read(name) == (built.folder / name).read_bytes()


def test_manifest_names_the_bot_and_its_domain(built: Built) -> None:
    manifest = built.manifest
    assert manifest["manifestVersion"] == package.MANIFEST_VERSION
    assert manifest["$schema"].endswith(
        f"/v{manifest['manifestVersion']}/MicrosoftTeams.schema.json"
    )
    assert manifest["id"] == APP_ID
    assert manifest["version"] == metadata.version("strategy-bot")
    (bot,) = manifest["bots"]
    assert bot["botId"] == APP_ID
    assert bot["scopes"] == ["personal", "team"]
    assert bot["supportsFiles"] is True  # `export`'s file consent cards in the personal chat
    assert manifest["validDomains"] == [HOST]
    assert manifest["icons"] == {"color": "color.png", "outline": "outline.png"}
    assert "webApplicationInfo" not in manifest
    for key in ("websiteUrl", "privacyUrl", "termsOfUseUrl"):
        assert manifest["developer"][key] == PUBLIC_URL.rstrip("/")


def test_manifest_validates_against_the_official_schema(built: Built) -> None:
    import jsonschema

    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft4Validator.check_schema(schema)
    jsonschema.Draft4Validator(schema).validate(built.manifest)
    # draft-04 has no `const`, so the validator skips the schema's manifestVersion check.
    assert built.manifest["manifestVersion"] == schema["properties"]["manifestVersion"]["const"]


def test_manifest_keeps_the_limits_teams_enforces(built: Built) -> None:
    manifest = built.manifest
    assert 0 < len(manifest["name"]["short"]) <= 30
    assert len(manifest["name"]["full"]) <= 100
    assert len(manifest["description"]["short"]) <= 80
    assert len(manifest["description"]["full"]) <= 4000
    assert len(manifest["developer"]["name"]) <= 32
    assert re.fullmatch(r"#[0-9a-fA-F]{6}", manifest["accentColor"])
    assert re.fullmatch(r"\d+\.\d+\.\d+", manifest["version"])
    assert re.fullmatch(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", manifest["id"], re.I)
    for key in ("websiteUrl", "privacyUrl", "termsOfUseUrl"):
        assert manifest["developer"][key].startswith("https://")
    for menu in manifest["bots"][0]["commandLists"]:
        assert len(menu["scopes"]) == 1
        assert 0 < len(menu["commands"]) <= 10
        for command in menu["commands"]:
            assert 0 < len(command["title"]) <= 32
            assert 0 < len(command["description"]) <= 128


def test_description_says_what_the_product_is(built: Built) -> None:
    description = built.manifest["description"]
    assert "six social-business strategy conversations" in description["short"]
    assert "CIO" in description["short"]
    assert "asynchronously" in description["full"]


# Command menus against the grammar -----------------------------------------------------


def _help_texts() -> dict[str, str]:
    lines = [line for spec in COMMANDS.values() for line in spec.help]
    return {usage: text.replace("`", "") for usage, text in lines}


@pytest.mark.parametrize(
    ("scope", "roles"),
    [("personal", {Role.ANYONE, Role.READER}), ("team", {Role.READER, Role.ADMIN})],
)
def test_each_menu_offers_its_roles_commands_from_the_grammar(
    built: Built, scope: str, roles: set[Role]
) -> None:
    menu = built.commands(scope)
    offered = {command["title"].split()[0] for command in menu}
    # In the order `help` lists them, up to Teams' ten: a longer list keeps its first ten
    # (`help` lists every command, and typing one works whether the menu shows it or not).
    in_order = [e.name for e in package.grammar_menu() if e.name == "help" or e.role in roles]
    expected = set(in_order[: package.MAX_COMMANDS])
    assert offered == expected
    assert {"status", "digest", "history"} <= offered
    assert menu[0]["title"] == "help"
    texts = _help_texts()
    for command in menu:
        if command["title"] == "help":
            continue
        # The description is the help line for that command, with its usage when it
        # takes words; the title is what the engine's parser sees first.
        matching = [
            usage
            for usage, text in texts.items()
            if command["description"] in (text, f"{usage}: {text}")
        ]
        assert len(matching) == 1, command
        assert matching[0].split()[0] == command["title"].split()[0]


def test_menu_titles_without_placeholders_are_complete_commands(built: Built) -> None:
    for scope in package.SCOPE_ROLES:
        for command in built.commands(scope):
            name = command["title"].split()[0]
            if COMMANDS[name].min_args == 0:
                assert commands.is_command(command["title"]), command


def test_every_grammar_command_appears_in_some_menu(built: Built) -> None:
    offered = {
        command["title"].split()[0]
        for scope in package.SCOPE_ROLES
        for command in built.commands(scope)
    }
    # Only what a full menu could not hold is missing, and `help` still lists it.
    beyond = set(COMMANDS) - offered
    assert beyond <= {"audit", "forget"}, beyond
    if beyond:
        assert len(built.commands("team")) == package.MAX_COMMANDS


def test_menus_are_cut_to_teams_limits() -> None:
    long_title = package.MenuCommand("x" * 33, "x" * 33, "too long a title", Role.ANYONE)
    entries = [
        package.MenuCommand("help", "help", "d" * 200, Role.ANYONE),
        long_title,
        *(package.MenuCommand(f"c{i}", f"c{i}", "fine", Role.ANYONE) for i in range(12)),
    ]
    menu = package.scope_commands(entries, "personal")
    assert len(menu) == package.MAX_COMMANDS
    assert menu[0]["title"] == "help"
    assert len(menu[0]["description"]) == package.MAX_COMMAND_DESCRIPTION
    assert menu[0]["description"].endswith("…")
    assert all(command["title"] != long_title.title for command in menu)


def test_a_command_without_a_help_line_fails_the_build(monkeypatch: pytest.MonkeyPatch) -> None:
    handler = COMMANDS["pause"].handler
    spec = commands.Spec("archive <conversation>", 1, 1, Role.ADMIN, (), handler)
    monkeypatch.setitem(COMMANDS, "archive", spec)
    with pytest.raises(RuntimeError, match="archive"):
        package.grammar_menu()


# Icons ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Png:
    width: int
    height: int
    bit_depth: int
    color_type: int
    pixels: list[list[tuple[int, ...]]]  # rows of RGBA tuples (colour type 6 only)


def read_png(data: bytes) -> Png:
    """Decode a non-interlaced 8-bit PNG enough to check its pixels."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks: dict[bytes, bytes] = {}
    offset = 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        tag = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length : offset + 12 + length])
        assert zlib.crc32(tag + body) & 0xFFFFFFFF == crc, tag
        chunks[tag] = chunks.get(tag, b"") + body
        offset += 12 + length
    assert b"IEND" in chunks
    width, height, depth, color_type, _, _, interlace = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
    assert depth == 8 and interlace == 0
    channels = {6: 4, 2: 3}[color_type]
    raw = zlib.decompress(chunks[b"IDAT"])
    stride = width * channels
    rows: list[bytearray] = []
    previous = bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            line[i] = (line[i] + _predict(kind, left, up, corner)) & 0xFF
        rows.append(line)
        previous = line
    pixels = [[tuple(row[x * channels : (x + 1) * channels]) for x in range(width)] for row in rows]
    return Png(width, height, depth, color_type, pixels)


def _predict(kind: int, left: int, up: int, corner: int) -> int:
    if kind == 0:
        return 0
    if kind == 1:
        return left
    if kind == 2:
        return up
    if kind == 3:
        return (left + up) // 2
    estimate = left + up - corner
    pa, pb, pc = abs(estimate - left), abs(estimate - up), abs(estimate - corner)
    return left if pa <= pb and pa <= pc else up if pb <= pc else corner


def test_color_icon_is_192_square_full_colour(built: Built) -> None:
    data = (built.folder / "color.png").read_bytes()
    assert len(data) < 8 * 1024
    png = read_png(data)
    assert (png.width, png.height, png.bit_depth, png.color_type) == (192, 192, 8, 6)
    opaque = {p[:3] for row in png.pixels for p in row if p[3] == 255}
    accent = tuple(int(built.manifest["accentColor"][i : i + 2], 16) for i in (1, 3, 5))
    assert accent in opaque and (255, 255, 255) in opaque
    assert len(opaque) > 2  # anti-aliased, not a two-colour bitmap
    centre_row = png.pixels[96]
    assert centre_row[96][:3] == (255, 255, 255)  # the middle dot of the mark
    assert centre_row[40][3] == 255  # the tile is opaque away from its corners


def test_outline_icon_is_32_square_white_on_transparent(built: Built) -> None:
    data = (built.folder / "outline.png").read_bytes()
    assert len(data) < 2 * 1024
    png = read_png(data)
    assert (png.width, png.height, png.bit_depth, png.color_type) == (32, 32, 8, 6)
    pixels = [p for row in png.pixels for p in row]
    assert all(p[:3] == (255, 255, 255) for p in pixels if p[3] > 0)
    alphas = [p[3] for p in pixels]
    assert png.pixels[0][0][3] == 0 and png.pixels[31][31][3] == 0
    assert alphas.count(0) > len(alphas) // 2  # mostly transparent
    assert alphas.count(255) > 40  # the mark is solid, not a faint smudge


# Options and rebuilds ------------------------------------------------------------------


def test_out_version_and_name_options(tmp_path: Path) -> None:
    result = strategy_bot(
        "teams",
        "package",
        "--out",
        "dist/teams",
        "--version",
        "2.3.4",
        "--name",
        "Acme Strategy",
        env=GOOD_ENV,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    folder = tmp_path / "dist" / "teams"
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["version"] == "2.3.4"
    assert manifest["name"]["short"] == "Acme Strategy"
    assert manifest["description"]["full"].startswith("Acme Strategy ")
    assert zipfile.ZipFile(folder / "strategy-bot.zip").namelist()
    assert not (tmp_path / "teams-package").exists()


def test_rebuild_replaces_the_package_and_is_byte_identical(tmp_path: Path) -> None:
    first = strategy_bot("teams", "package", env=GOOD_ENV, cwd=tmp_path)
    zip_path = tmp_path / "teams-package" / "strategy-bot.zip"
    before = zip_path.read_bytes()
    (tmp_path / "teams-package" / "notes.txt").write_text("mine")
    second = strategy_bot("teams", "package", env=GOOD_ENV, cwd=tmp_path)
    assert first.returncode == second.returncode == 0, second.stderr
    assert zip_path.read_bytes() == before
    assert sorted(p.name for p in (tmp_path / "teams-package").iterdir()) == sorted(
        [*FILES, "strategy-bot.zip", "notes.txt"]
    )  # no staging folder left, other files untouched


# Errors: exit 2, a message naming the setting, nothing written ----------------------------


@pytest.mark.parametrize(
    ("env", "named", "detail"),
    [
        ({"PUBLIC_URL": PUBLIC_URL}, "MICROSOFT_APP_ID", "required"),
        ({**GOOD_ENV, "MICROSOFT_APP_ID": "my-bot"}, "MICROSOFT_APP_ID", "'my-bot'"),
        ({**GOOD_ENV, "MICROSOFT_APP_ID": APP_ID + "0"}, "MICROSOFT_APP_ID", "GUID"),
        ({"MICROSOFT_APP_ID": APP_ID}, "PUBLIC_URL", "required"),
        ({**GOOD_ENV, "PUBLIC_URL": f"http://{HOST}"}, "PUBLIC_URL", f"'http://{HOST}'"),
        ({**GOOD_ENV, "PUBLIC_URL": HOST}, "PUBLIC_URL", "https://"),
        ({**GOOD_ENV, "PUBLIC_URL": "https://"}, "PUBLIC_URL", "host"),
        ({**GOOD_ENV, "PUBLIC_URL": f"https://{HOST}/?x=1"}, "PUBLIC_URL", "without ?"),
    ],
    ids=[
        "no-app-id",
        "app-id-not-guid",
        "app-id-long",
        "no-url",
        "http",
        "no-scheme",
        "no-host",
        "query",
    ],
)
def test_bad_settings_are_named_and_nothing_is_written(
    tmp_path: Path, env: dict[str, str], named: str, detail: str
) -> None:
    result = strategy_bot("teams", "package", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert f"{named}: " in result.stderr and detail in result.stderr
    assert result.stdout == ""
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--version", "1.2"], "--version"),
        (["--version", "v1.2.3"], "--version"),
        (["--name", "A name far longer than thirty characters"], "--name"),
        (["--name", "  "], "--name"),
    ],
)
def test_bad_options_are_named_and_nothing_is_written(
    tmp_path: Path, args: list[str], named: str
) -> None:
    result = strategy_bot("teams", "package", *args, env=GOOD_ENV, cwd=tmp_path)
    assert result.returncode == 2
    assert f"{named}: " in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_out_that_is_a_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "teams-package").write_text("not a folder")
    result = strategy_bot("teams", "package", env=GOOD_ENV, cwd=tmp_path)
    assert result.returncode == 2
    assert "--out: " in result.stderr
    assert (tmp_path / "teams-package").read_text() == "not a folder"


def test_previous_package_survives_a_failed_rebuild(tmp_path: Path) -> None:
    assert strategy_bot("teams", "package", env=GOOD_ENV, cwd=tmp_path).returncode == 0
    before = {p.name: p.read_bytes() for p in (tmp_path / "teams-package").iterdir()}
    failed = strategy_bot(
        "teams", "package", "--version", "9.9.9", env={"MICROSOFT_APP_ID": APP_ID}, cwd=tmp_path
    )
    assert failed.returncode == 2 and "PUBLIC_URL: " in failed.stderr
    after = {p.name: p.read_bytes() for p in (tmp_path / "teams-package").iterdir()}
    assert after == before
