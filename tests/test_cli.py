"""The `strategy-bot` command as a user runs it (a real subprocess)."""

import os
import subprocess
import sys
from pathlib import Path

BIN = [sys.executable, "-m", "bot"]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MICROSOFT_"))}
    full_env.update(env or {})
    return subprocess.run(  # noqa: S603 - our own CLI
        [*BIN, *args], capture_output=True, text=True, env=full_env, timeout=60, check=False
    )


def test_default_playbook_checks_ok() -> None:
    result = run("playbook", "check")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("OK:") and "6 conversations" in result.stdout


def test_bad_playbook_names_file_line_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "cio_channel: console:#cio\nroles: {cio: [console:cio]}\ngroups: {}\n"
        "conversations:\n  - key: Bad Key\n"
    )
    result = run("playbook", "check", str(bad))
    assert result.returncode == 1
    assert "bad.yml:5" in result.stdout and "conversations[0].key" in result.stdout


def test_invalid_environment_variable_is_named(tmp_path: Path) -> None:
    result = run("db", "upgrade", env={"PORT": "not-a-port"})
    assert result.returncode == 2
    assert "PORT" in result.stderr and "not-a-port" in result.stderr


def test_db_upgrade_creates_the_schema(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    first = run("db", "upgrade", env={"DATABASE_URL": url})
    assert first.returncode == 0, first.stderr
    head = _head_revision(url)  # the newest migration, whichever it is
    assert first.stdout.strip() == head
    assert run("db", "current", env={"DATABASE_URL": url}).stdout.strip() == head


def _head_revision(url: str) -> str:
    from alembic.script import ScriptDirectory

    from storage.migrate import alembic_config

    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    assert head is not None
    return head


def test_unknown_subcommand_is_a_usage_error() -> None:
    result = run("serv")
    assert result.returncode == 2 and "invalid choice: 'serv'" in result.stderr
