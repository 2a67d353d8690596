"""The container image's recipe, carried out without Docker: it installs and answers /healthz.

No Docker engine runs on the machines this suite runs on (`docker build` needs one), so
this test does what the `Dockerfile` says, step by step, as far as a plain process can:
it copies exactly the files the `COPY` lines name into an empty directory, installs them
the way `RUN pip install .` does (a real, non-editable install, so a file missing from
the package, such as the console's static files or the default playbook, is missing here
too), and starts the image's `CMD` with the image's `ENV` (the port and database moved to
this test's). Then it asks `/healthz` and runs the image's own `HEALTHCHECK` command.

What it cannot check: the base image, `useradd`, the volume. `compose.yml` is checked for
what would break the two-replica set-up of docs/deployment.md: both replicas build this
image, share one PostgreSQL, and publish different host ports.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests.instants import subprocess_env
from tests.serving import free_port

ROOT = Path(__file__).resolve().parent.parent


def dockerfile() -> list[tuple[str, str]]:
    """The Dockerfile's instructions as (INSTRUCTION, arguments), continuation lines joined."""
    steps: list[tuple[str, str]] = []
    pending = ""
    for raw in (ROOT / "Dockerfile").read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        word, _, rest = line.partition(" ")
        steps.append((word.upper(), rest.strip()))
    return steps


def image_env(steps: list[tuple[str, str]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for word, rest in steps:
        if word == "ENV":
            env.update(pair.split("=", 1) for pair in shlex.split(rest))
    return env


def only(steps: list[tuple[str, str]], word: str) -> str:
    (rest,) = [r for w, r in steps if w == word]
    return rest


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The `COPY`ed files installed as `RUN pip install .` does, into a directory of its own."""
    steps = dockerfile()
    app = tmp_path_factory.mktemp("app")
    for word, rest in steps:
        if word != "COPY":
            continue
        *sources, _dest = shlex.split(rest)
        for source in sources:
            path = ROOT / source
            if path.is_dir():
                shutil.copytree(path, app / source, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy(path, app / source)
    (run,) = [r for w, r in steps if w == "RUN" and "pip install" in r]
    assert "pip install --no-cache-dir ." in run  # what this fixture mirrors
    site = tmp_path_factory.mktemp("site")
    # The dependencies are this suite's own (no network needed); the package is built
    # from the copied files alone, the way the image builds it.
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation"]
    subprocess.run(  # noqa: S603 - pip on our own copied tree
        [*pip, "--target", str(site), str(app)],
        check=True,
        cwd=app,
    )
    return site


def compose_bot_env() -> dict[str, str]:
    """The environment `compose.yml` gives its first replica."""
    services = yaml.safe_load((ROOT / "compose.yml").read_text())["services"]
    first = next(s for s in services.values() if s.get("build") == ".")
    return {k: str(v) for k, v in first["environment"].items()}


def container_env(tmp_path: Path, **extra: str) -> tuple[dict[str, str], int]:
    """The image's `ENV`, then `extra`; the port moved to a free one, no platform tokens."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MICROSOFT_"))}
    env.pop("CONSOLE_ALLOW_REMOTE", None)
    env.update(image_env(dockerfile()))
    env.update(extra)
    port = free_port()
    env.update(
        PORT=str(port),
        SCHEDULER_ENABLED="false",  # no round opens by the calendar in a test
        **subprocess_env(),
    )
    return env, port


def start_cmd(installed: Path, env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    """The image's `CMD`: the console script pip wrote, run by this interpreter."""
    command = json.loads(only(dockerfile(), "CMD"))
    assert command == ["strategy-bot", "serve"]
    return subprocess.Popen(  # noqa: S603 - the image's own command
        [sys.executable, str(installed / "bin" / command[0]), *command[1:]],
        env={**env, "PYTHONPATH": str(installed)},
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def test_the_image_with_composes_settings_serves_healthz_and_passes_its_healthcheck(
    installed: Path, tmp_path: Path, db_url: str
) -> None:
    """On SQLite (the image's default, its /data volume) and PostgreSQL (as in compose)."""
    env, port = container_env(tmp_path, **{**compose_bot_env(), "DATABASE_URL": db_url})
    where = subprocess.run(
        [sys.executable, "-c", "import bot; print(bot.__file__)"],
        env={**env, "PYTHONPATH": str(installed)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert where.stdout.startswith(str(installed)), where.stdout  # the installed copy runs
    proc = start_cmd(installed, env, tmp_path)
    try:
        health = _until_up(port, proc)
        assert health["status"] == "ok", health
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as page:
            assert page.status == 200 and b"<html" in page.read().lower()
        static = f"http://127.0.0.1:{port}/console/static/charts.js"
        with urllib.request.urlopen(static, timeout=5) as script:
            assert script.status == 200
        check = shlex.split(only(dockerfile(), "HEALTHCHECK").split(" CMD ", 1)[1])
        healthcheck = subprocess.run(check, env=env, timeout=10)  # noqa: S603 - the image's own
        assert healthcheck.returncode == 0
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err.decode()[-2000:]


def test_the_image_alone_refuses_to_expose_the_console_and_says_how(
    installed: Path, tmp_path: Path
) -> None:
    """`docker run` with no platform and no CONSOLE_ALLOW_REMOTE: one clear sentence, exit."""
    env, _port = container_env(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}")
    proc = start_cmd(installed, env, tmp_path)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert "CONSOLE_ALLOW_REMOTE=true" in err.decode() and "Traceback" not in err.decode()


def _until_up(port: int, proc: subprocess.Popen[bytes]) -> dict[str, object]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(proc.stderr.read().decode()[-2000:] if proc.stderr else "")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
                return json.loads(r.read())  # type: ignore[no-any-return]
        except OSError:
            time.sleep(0.2)
    raise AssertionError("the installed image recipe did not start")


def test_compose_runs_two_replicas_of_the_image_on_one_postgresql() -> None:
    compose = yaml.safe_load((ROOT / "compose.yml").read_text())
    services = compose["services"]
    bots = {name: s for name, s in services.items() if s.get("build") == "."}
    assert len(bots) >= 2
    urls = {s["environment"]["DATABASE_URL"] for s in bots.values()}
    assert len(urls) == 1 and "@postgres/" in urls.pop()  # one database, shared
    image_port = image_env(dockerfile())["PORT"]
    published = [p.split(":") for s in bots.values() for p in s["ports"]]
    assert {container for _host, container in published} == {image_port}
    assert len({host for host, _container in published}) == len(published)
    for bot in bots.values():
        assert bot["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "healthcheck" in services["postgres"]
