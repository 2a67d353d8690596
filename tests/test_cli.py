"""The `strategy-bot` command as a user runs it (a real subprocess)."""

import os
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from bot.startup import is_loopback

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


# -- `serve` start-up: one line naming the setting, a non-zero exit, no traceback ----------

SERVE_ENV = {"SCHEDULER_ENABLED": "false", "TICK_SECONDS": "3600"}  # no rounds by calendar


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`strategy-bot serve` that is expected to refuse to start (30 s at most)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MICROSOFT_"))}
    full_env.update(SERVE_ENV)
    full_env.update({"DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}", "PORT": str(free_port())})
    full_env.update(env)
    return subprocess.run(  # noqa: S603 - our own CLI
        [*BIN, "serve"], capture_output=True, text=True, env=full_env, timeout=30, check=False
    )


def refused(result: subprocess.CompletedProcess[str], variable: str) -> str:
    """Assert the one-line refusal naming `variable`; returns the line."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert "serving on" not in result.stdout
    assert lines[0].startswith("strategy-bot: ") and variable in lines[0]
    return lines[0]


def test_an_unreachable_database_is_one_line_without_the_password(tmp_path: Path) -> None:
    url = f"postgresql://postgres:hunter2-s3cret@127.0.0.1:{free_port()}/test"
    result = serve(tmp_path, DATABASE_URL=url)
    assert result.returncode == 1
    line = refused(result, "DATABASE_URL")
    assert "cannot connect" in line and "127.0.0.1" in line
    assert "hunter2-s3cret" not in result.stderr + result.stdout


def test_db_upgrade_against_an_unreachable_database_is_one_line(tmp_path: Path) -> None:
    url = f"postgresql://postgres:hunter2-s3cret@127.0.0.1:{free_port()}/test"
    result = run("db", "upgrade", env={**SERVE_ENV, "DATABASE_URL": url})
    assert result.returncode == 1
    assert "DATABASE_URL" in result.stderr and "Traceback" not in result.stderr
    assert "hunter2-s3cret" not in result.stderr


def test_a_missing_sqlite_folder_is_one_line(tmp_path: Path) -> None:
    folder = tmp_path / "no" / "such" / "folder"
    result = serve(tmp_path, DATABASE_URL=f"sqlite:///{folder / 'bot.db'}")
    assert result.returncode == 2
    assert str(folder) in refused(result, "DATABASE_URL")


def test_a_port_in_use_is_one_line_before_serving_on(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = serve(tmp_path, PORT=str(port))
    assert result.returncode == 1
    assert "already in use" in refused(result, "PORT")


@pytest.mark.parametrize("host", ["no-such-host.invalid", "not a host!"])
def test_an_unknown_host_is_one_line(tmp_path: Path, host: str) -> None:
    result = serve(tmp_path, HOST=host)
    assert result.returncode == 2
    assert host in refused(result, "HOST")


def test_an_address_of_another_machine_is_one_line(tmp_path: Path) -> None:
    result = serve(tmp_path, HOST="192.0.2.1", CONSOLE_ENABLED="false")  # TEST-NET-1
    assert result.returncode == 2
    assert "not an address of this machine" in refused(result, "HOST")


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.1"])  # noqa: S104 - the point
def test_the_console_refuses_to_listen_beyond_loopback(tmp_path: Path, host: str) -> None:
    result = serve(tmp_path, HOST=host, CONSOLE_ENABLED="true")
    assert result.returncode == 2
    if host == "192.0.2.1":  # not an address of this machine: that is said first
        refused(result, "HOST")
        return
    line = refused(result, f"HOST={host}")
    assert "no login" in line
    assert "CONSOLE_ALLOW_REMOTE=true" in line and "CONSOLE_ENABLED=false" in line
    assert not (tmp_path / "bot.db").exists()  # refused before touching the database


@pytest.mark.parametrize(
    "opt_out",
    [{"CONSOLE_ALLOW_REMOTE": "true"}, {"CONSOLE_ENABLED": "false"}],
    ids=["CONSOLE_ALLOW_REMOTE", "CONSOLE_ENABLED"],
)
def test_either_way_out_serves_on_every_interface(tmp_path: Path, opt_out: dict[str, str]) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MICROSOFT_"))}
    env.update(
        SERVE_ENV,
        DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}",
        HOST="0.0.0.0",  # noqa: S104 - the point of the test
        PORT=str(port),
        **opt_out,
    )
    with subprocess.Popen(  # noqa: S603 - our own CLI
        [*BIN, "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ) as proc:
        try:
            assert proc.stdout is not None
            assert proc.stdout.readline().startswith("strategy-bot: serving on http://0.0.0.0:")
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/livez", timeout=10) as resp:
                assert resp.status == 200
        finally:
            proc.terminate()
            proc.wait(timeout=20)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        ("::ffff:127.0.0.1", True),
        ("0.0.0.0", False),  # noqa: S104
        ("::", False),
        ("10.0.0.5", False),
        ("bot.example.com", False),
    ],
)
def test_which_hosts_are_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
