"""An acknowledged answer survives the process being killed (SIGKILL) and restarted.

The real `strategy-bot serve` runs as a subprocess on a loopback port; nothing is mocked.
It runs with its scheduler, as an operator starts it, at the instants of
`tests.instants.SERVER_INSTANTS`: libfaketime (`tests.instants.subprocess_env`) puts the
subprocess at the test's frozen instant and time zone.
"""

import json
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.instants import SERVER_INSTANTS, Instant
from tests.serving import Server


@pytest.fixture
def server(db_url: str) -> Iterator[Server]:
    srv = Server(db_url)
    yield srv
    if srv.proc and srv.proc.poll() is None:
        srv.kill()


def wait_prompt(srv: Server, who: str) -> dict[str, Any]:
    for _ in range(100):
        entries = srv.get(f"/console/api/feed?address={who}&after=0")["entries"]
        prompts = [e["message"] for e in entries if e.get("message", {}).get("kind") == "prompt"]
        if prompts:
            return prompts[-1]  # type: ignore[no-any-return]
        time.sleep(0.1)
    raise AssertionError(f"no prompt for {who}")


@pytest.mark.instants(*SERVER_INSTANTS)
def test_acknowledged_answer_survives_sigkill_and_restart(
    server: Server, tmp_path: Path, instant: Instant
) -> None:
    server.start()
    asked = server.post(
        "/console/api/message", {"as": "console:admin", "text": "ask social-media", "command": True}
    )
    assert "round 1 is open" in json.dumps(asked)  # the fresh install opened nothing itself
    wait_prompt(server, "console:maria")
    # The server lives at the instant: the console stamps each entry with its clock.
    stamped = datetime.fromisoformat(asked["entries"][0]["at"])
    assert timedelta(seconds=-2) <= stamped - instant.utc <= timedelta(minutes=5)
    answer = "We hear customers asking for a support forum ✅"
    acked = server.post("/console/api/message", {"as": "console:maria", "text": answer})
    assert any(e.get("message", {}).get("kind") == "prompt" for e in acked["entries"])
    server.kill()  # no shutdown hooks, no flush: the answer must already be committed

    server.start()
    review = server.post(
        "/console/api/message", {"as": "console:maria", "text": "review", "command": True}
    )
    summaries = [
        e["message"] for e in review["entries"] if e.get("message", {}).get("kind") == "summary"
    ]
    assert summaries and summaries[0]["items"][0]["answer"] == answer
    # The opening prompt is not sent again after the restart (give the outbox worker,
    # which polls every second, time to deliver anything it thought was pending).
    time.sleep(2.5)
    entries = server.get("/console/api/feed?address=console:maria&after=0")["entries"]
    assert not [e for e in entries if e.get("message", {}).get("opening")]
