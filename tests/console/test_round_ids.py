"""Round ids a console action or form could never name get a 400, on both databases.

Round ids are `Integer` columns (32-bit on PostgreSQL). Before the bound was checked, an id
such as 10**30 went to the database, which failed on it (SQLite: an integer overflow,
PostgreSQL: out of range for type integer), and the console answered 500.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from bot.app import RUNTIME, build_app
from bot.config import load_settings
from bot.flows.events import MAX_ROUND_ID
from storage import models

MARIA = "console:maria"
OUT_OF_RANGE = [10**30, 2**31, 0, -1]


@pytest.fixture
async def client(db_url: str) -> AsyncIterator[TestClient[Any, Any]]:
    """The real app (default playbook, console on, scheduler off) on each database."""
    settings = load_settings(
        DATABASE_URL=db_url,
        PLAYBOOK_PATH=None,
        CONSOLE_ENABLED=True,
        SCHEDULER_ENABLED=False,
        SLACK_BOT_TOKEN=None,
        MICROSOFT_APP_ID=None,
        TICK_SECONDS=3600,
    )
    async with TestClient(TestServer(build_app(settings, migrate=False))) as test_client:
        yield test_client


def _answers(client: TestClient[Any, Any]) -> int:
    with client.server.app[RUNTIME].db.transaction() as s:
        return int(s.scalar(select(func.count()).select_from(models.Answer)) or 0)


@pytest.mark.parametrize("round_id", OUT_OF_RANGE, ids=["10**30", "2**31", "zero", "negative"])
async def test_an_action_on_an_impossible_round_id_is_a_400(
    client: TestClient[Any, Any], round_id: int
) -> None:
    body = {"as": MARIA, "action": "skip_round", "round_id": round_id}
    resp = await client.post("/console/api/action", json=body)
    assert resp.status == 400
    error = (await resp.json())["error"]
    assert "round_id" in error and "1 to 2,147,483,647" in error
    assert _answers(client) == 0


@pytest.mark.parametrize("round_id", OUT_OF_RANGE, ids=["10**30", "2**31", "zero", "negative"])
async def test_a_form_for_an_impossible_round_id_is_a_400(
    client: TestClient[Any, Any], round_id: int
) -> None:
    body = {"as": MARIA, "round_id": round_id, "values": {"hearing": "forums"}}
    resp = await client.post("/console/api/form", json=body)
    assert resp.status == 400
    assert "1 to 2,147,483,647" in (await resp.json())["error"]
    assert _answers(client) == 0


async def test_the_largest_round_id_is_simply_not_a_round(client: TestClient[Any, Any]) -> None:
    body = {"as": MARIA, "action": "skip_round", "round_id": MAX_ROUND_ID}
    resp = await client.post("/console/api/action", json=body)
    assert resp.status == 200  # in range: the engine answers that there is no such round
    assert (await resp.json())["entries"][-1]["from"] == "bot"
