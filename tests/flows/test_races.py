"""Final answers arriving at the same moment, on both databases: the round closes once.

Each trial opens a round for two people (or many), lines their last answers up on a
barrier and sends them from separate threads, each with its own connection: the engine
must serialise "has everyone answered?" per round, or on PostgreSQL each transaction sees
the other's participant as unfinished and neither closes the round.
"""

import copy
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.flows.events import FormSubmitted
from bot.flows.outbound import Prompt
from storage import models
from storage.db import Database
from tests.conftest import FakeClock
from tests.fakes.engine import PLAYBOOK, EngineHarness

ANSWERS = {"hearing": "We hear a lot", "external": 4, "channel": "Blogs", "pilot": True}


def crowd_playbook(people: int) -> dict[str, Any]:
    book = copy.deepcopy(PLAYBOOK)
    book["conversations"][0]["close_when_all_answered"] = True
    book["groups"]["marketing"]["members"] = [
        {"id": f"console:p{i}", "name": f"Person {i}"} for i in range(people)
    ]
    return book


def race_final_answers(bot: EngineHarness, people: int) -> tuple[str, int]:
    bot.command("console:admin", "ask social-media")
    # (what we heard of the previous race's round comes first)
    prompt = next(m for m in bot.queued("console:p0") if isinstance(m, Prompt))
    assert isinstance(prompt, Prompt)
    barrier = threading.Barrier(people)

    def answer(i: int) -> None:
        event = FormSubmitted(actor=f"console:p{i}", round_id=prompt.round_id, values=ANSWERS)
        barrier.wait()
        bot.engine.handle(event)

    with ThreadPoolExecutor(max_workers=people) as pool:
        list(pool.map(answer, range(people)))
    with bot.db.transaction() as s:
        status = str(
            s.scalar(select(models.Round.status).where(models.Round.id == prompt.round_id))
        )
        digests = s.scalar(
            select(func.count())
            .select_from(models.OutboxMessage)
            .where(models.OutboxMessage.idempotency_key == f"digest:round:{prompt.round_id}")
        )
    return status, int(digests or 0)


def test_two_final_answers_at_the_same_moment_close_the_round(
    db: Database, clock: FakeClock
) -> None:
    bot = EngineHarness(db, clock, crowd_playbook(2))
    for trial in range(10):
        status, digests = race_final_answers(bot, 2)
        assert (status, digests) == ("closed", 1), f"trial {trial}"


@pytest.mark.parametrize("people", [200])
def test_many_concurrent_final_answers_close_the_round_once(
    db: Database, clock: FakeClock, people: int
) -> None:
    bot = EngineHarness(db, clock, crowd_playbook(people))
    assert race_final_answers(bot, people) == ("closed", 1)
    with bot.db.transaction() as s:
        done = s.scalar(
            select(func.count())
            .select_from(models.Participant)
            .where(models.Participant.status == "done")
        )
    assert done == people
