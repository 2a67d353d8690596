"""The real `strategy-bot serve` as a subprocess on a loopback port, for the crash tests.

Nothing in it is mocked: the tests kill it with SIGKILL, restart it and read what it
stored. `slack_server` is the Slack-facing set-up several of them share (a fake Slack Web
API on the far side, no console, no scheduler, a short outbox poll).
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from tests.instants import subprocess_env
from tests.slack.conftest import SECRET  # the signing secret the tests sign with


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, db_url: str) -> None:
        self.port = free_port()
        self.env = {
            k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MICROSOFT_"))
        }
        self.env.update(DATABASE_URL=db_url, PORT=str(self.port), TICK_SECONDS="3600")
        self.env.pop("SCHEDULER_ENABLED", None)  # the scheduler runs, as in production
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve"],
            env={**self.env, **subprocess_env()},  # at the test's moment, if travelled
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                self.get("/healthz")
                return
            except OSError:
                time.sleep(0.2)
        raise AssertionError("server did not start")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as r:
            return json.loads(r.read())

    def post(self, path: str, body: dict[str, Any]) -> Any:
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=10) as r:  # noqa: S310
            return json.loads(r.read())


@contextmanager
def slack_server(db_url: str, api_url: str, playbook: Path, **env: str) -> Iterator[Server]:
    """A Slack bot server (not started) on the fake Web API; killed after, if still up."""
    srv = Server(db_url)
    srv.env.update(
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=api_url,
        PLAYBOOK_PATH=str(playbook),
        CONSOLE_ENABLED="false",
        SCHEDULER_ENABLED="false",
        OUTBOX_POLL_SECONDS="0.2",
    )
    srv.env.update(env)
    try:
        yield srv
    finally:
        if srv.proc and srv.proc.poll() is None:
            srv.kill()


def write_playbook(path: Path, book: dict[str, Any], members: list[str] | None = None) -> Path:
    """Write a playbook, with `members` (Slack user ids) as the marketing group if given."""
    if members is not None:
        book["groups"]["marketing"]["members"] = [
            {"id": f"slack:{user}", "name": f"Person {user}"} for user in members
        ]
    path.write_text(yaml.safe_dump(book, sort_keys=False))
    return path
