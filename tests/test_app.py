"""The whole process on loopback: console HTTP API -> engine -> outbox worker -> console feed.

The tests of a fresh install run the scheduler as `make run` does, at the instants of
`tests.instants.SERVER_INSTANTS` (among them mornings when the default playbook's cadences
had just come due); the others run without it.
"""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.app import RUNTIME, build_app
from bot.config import load_settings
from tests.instants import SERVER_INSTANTS, Instant


async def serve(db_url: str, *, scheduler: bool) -> AsyncIterator[TestClient[Any, Any]]:
    settings = load_settings(
        DATABASE_URL=db_url,
        SLACK_BOT_TOKEN=None,
        MICROSOFT_APP_ID=None,
        TICK_SECONDS=3600,
        SCHEDULER_ENABLED=scheduler,
    )
    app = build_app(settings)
    async with TestClient(TestServer(app)) as c:
        yield c


@pytest.fixture
async def client(db_url: str) -> AsyncIterator[TestClient[Any, Any]]:
    """The app without its scheduler (for tests that are not about the schedule)."""
    async for c in serve(db_url, scheduler=False):
        yield c


@pytest.fixture
async def scheduled(db_url: str) -> AsyncIterator[TestClient[Any, Any]]:
    """The app as `make run` starts it, scheduler included (use at a chosen instant)."""
    async for c in serve(db_url, scheduler=True):
        yield c


async def say(client: TestClient[Any, Any], who: str, text: str, **extra: Any) -> dict[str, Any]:
    resp = await client.post("/console/api/message", json={"as": who, "text": text, **extra})
    assert resp.status == 200, await resp.text()
    body: dict[str, Any] = await resp.json()
    return body


async def wait_for(client: TestClient[Any, Any], address: str, kind: str) -> dict[str, Any]:
    """Poll the console feed like the page does until a bot message of `kind` arrives."""
    for _ in range(100):
        resp = await client.get("/console/api/feed", params={"address": address, "after": 0})
        entries = (await resp.json())["entries"]
        found = [e for e in entries if e.get("message", {}).get("kind") == kind]
        if found:
            return found[-1]["message"]  # type: ignore[no-any-return]
        await asyncio.sleep(0.1)
    raise AssertionError(f"no {kind} message reached {address}: {entries}")


@pytest.mark.instants(*SERVER_INSTANTS)
async def test_health_and_metrics_of_a_fresh_install(scheduled: TestClient[Any, Any]) -> None:
    client = scheduled
    resp = await client.get("/healthz")
    assert resp.status == 200 and (await resp.json())["status"] == "ok"
    metrics = await (await client.get("/metrics")).text()
    assert "strategybot_open_rounds 0.0" in metrics  # nothing from before the install opened
    assert 'strategybot_outbox_messages{status="pending"}' in metrics


@pytest.mark.instants(*SERVER_INSTANTS)
async def test_a_whole_round_through_the_console(
    scheduled: TestClient[Any, Any], instant: Instant
) -> None:
    client = scheduled
    opened = await say(client, "console:admin", "ask social-media", command=True)
    assert "round 1 is open" in str(opened)
    deadline = datetime.fromisoformat(
        (await wait_for(client, "console:maria", "prompt"))["deadline"]
    )
    # The round opened at the instant and runs the playbook's 3-day window.
    assert timedelta(0) <= deadline - timedelta(days=3) - instant.utc <= timedelta(minutes=5)
    assert deadline.tzinfo is not None and deadline.utcoffset() == UTC.utcoffset(None)
    prompt = await wait_for(client, "console:maria", "prompt")
    assert prompt["opening"] and prompt["conversation_key"] == "social-media"
    round_id = prompt["round_id"]
    # Maria answers everything in the form; the questions come from the default playbook.
    resp = await client.post(
        "/console/api/action",
        json={"as": "console:maria", "action": "answer_all", "round_id": round_id},
    )
    form = next(e["message"] for e in (await resp.json())["entries"] if e.get("message"))
    values: dict[str, object] = {}
    for q in form["questions"]:
        values[q["id"]] = {
            "text": "Customers talk about us on forums",
            "rating": 4,
            "single_choice": (q["options"] or [""])[0],
            "multiple_choice": list(q["options"][:1]),
            "yes_no": True,
            "number": 12,
        }[q["type"]]
    resp = await client.post(
        "/console/api/form", json={"as": "console:maria", "round_id": round_id, "values": values}
    )
    summary = [e["message"] for e in (await resp.json())["entries"] if e.get("message")]
    assert summary[0]["kind"] == "summary" and summary[0]["done"]
    reminded = await say(client, "console:admin", "remind social-media", command=True)
    assert "reminded 2 stakeholders" in str(reminded)
    await say(client, "console:admin", "close social-media", command=True)
    digest = await wait_for(client, "console:#cio", "digest")
    conv = digest["digest"]["conversations"][0]
    assert conv["status"] == "closed" and conv["answered"] == 1 and conv["invited"] == 3
    late = await say(client, "console:maria", "one more idea")
    assert "closed" in str(late)
    metrics = await (await client.get("/metrics")).text()
    assert 'strategybot_outbox_messages{status="failed"} 0.0' in metrics


async def test_runtime_uses_the_configured_database(client: TestClient[Any, Any]) -> None:
    app: web.Application = client.server.app  # type: ignore[assignment]
    assert app[RUNTIME].db.dialect in ("sqlite", "postgresql")


APP = {"MICROSOFT_APP_ID": "00000000-0000-0000-0000-000000000001", "MICROSOFT_APP_PASSWORD": "p"}


@pytest.mark.parametrize(
    ("settings", "served"),
    [
        ({}, False),
        ({"TEAMS_ENABLED": "true"}, True),
        (APP, True),
        ({**APP, "TEAMS_ENABLED": "false"}, False),
    ],
)
async def test_the_teams_endpoint_is_served_when_asked(
    db_url: str, settings: dict[str, str], served: bool, caplog: pytest.LogCaptureFixture
) -> None:
    values: dict[str, object] = {"MICROSOFT_APP_ID": None, "TEAMS_ENABLED": None, **settings}
    loaded = load_settings(
        DATABASE_URL=db_url,
        SLACK_BOT_TOKEN=None,
        TICK_SECONDS=3600,
        SCHEDULER_ENABLED=False,
        **values,
    )
    async with TestClient(TestServer(build_app(loaded))) as c:
        resp = await c.post("/api/messages", json={"type": "message"})
        assert (resp.status != 404) is served
    unauthenticated = "accepts UNAUTHENTICATED requests" in caplog.text
    assert unauthenticated is (served and "MICROSOFT_APP_ID" not in settings)
