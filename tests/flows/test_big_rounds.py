"""Big rounds open and close in chunks, each its own transaction, and nobody is asked twice.

`rounds.CHUNK` is made small (7 people) so a round of 30 takes five chunks; what holds for
30 in chunks of 7 holds for 50,000 in chunks of 500 (`bench/rounds.py` measures that). A
"crash" is a chunk whose transaction fails half-way, or a chunk written again because its
cursor was lost: the next run must leave every person with exactly one opening prompt,
one "it closed" notice and the CIO with one digest.
"""

from __future__ import annotations

import copy
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.flows import rounds
from bot.flows.outbound import DigestMessage, Notice, Prompt
from storage import models
from storage.db import Database
from tests.conftest import FakeClock
from tests.fakes.engine import PLAYBOOK, EngineHarness

ADMIN, CIO_CHANNEL = "console:admin", "console:#cio"
PEOPLE = [f"console:p{n:02d}" for n in range(30)]
ANSWERS = {"hearing": "We hear a lot", "external": 4, "channel": "Blogs", "pilot": True}


def big_playbook(**social_media: Any) -> dict[str, Any]:
    book = copy.deepcopy(PLAYBOOK)
    book["groups"]["marketing"]["members"] = [{"id": p, "name": p} for p in PEOPLE]
    book["conversations"][0].update(social_media)
    return book


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rounds, "CHUNK", 7)


@pytest.fixture
def bot(db: Database, clock: FakeClock) -> EngineHarness:
    return EngineHarness(db, clock, big_playbook(close_when_all_answered=False))


def deferred(bot: EngineHarness) -> None:
    """Leave chunks after the first for later, as the server does (a worker thread)."""
    bot.engine.hooks.rounds_pending = lambda: None


def outbox_keys(bot: EngineHarness, prefix: str) -> Counter[str]:
    with bot.db.transaction() as s:
        keys = s.scalars(
            select(models.OutboxMessage.destination).where(
                models.OutboxMessage.idempotency_key.like(f"{prefix}%")
            )
        ).all()
    return Counter(keys)


def participants(bot: EngineHarness) -> int:
    with bot.db.transaction() as s:
        return int(s.scalar(select(func.count()).select_from(models.Participant)) or 0)


def round_id_of(bot: EngineHarness) -> int:
    with bot.db.transaction() as s:
        return int(s.scalar(select(func.max(models.Round.id))) or 0)


def test_a_big_round_asks_everyone_once_and_tells_the_cio_the_full_count(
    bot: EngineHarness,
) -> None:
    (reply,) = bot.command(ADMIN, "ask social-media")
    assert isinstance(reply, Notice) and "30 stakeholders prompted" in reply.lines[0]
    assert outbox_keys(bot, "prompt:") == Counter(dict.fromkeys(PEOPLE, 1))
    assert all(isinstance(m, Prompt) and m.opening for m in bot.queued(PEOPLE[29]))
    (opened,) = bot.queued(CIO_CHANNEL)
    assert isinstance(opened, Notice) and "30 stakeholders prompted" in opened.lines[0]


def test_the_admin_hears_the_full_count_while_the_fan_out_goes_on(bot: EngineHarness) -> None:
    deferred(bot)
    (reply,) = bot.command(ADMIN, "ask social-media")
    assert isinstance(reply, Notice) and "30 stakeholders prompted" in reply.lines[0]
    assert participants(bot) == 7  # the first chunk, with the command
    assert bot.queued(CIO_CHANNEL) == []  # "opened" goes with the last chunk
    assert bot.engine.continue_rounds() == 4
    assert participants(bot) == 30
    assert len(bot.queued(CIO_CHANNEL)) == 1


def test_a_chunk_that_fails_half_way_is_done_again_once(
    bot: EngineHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    deferred(bot)
    bot.command(ADMIN, "ask social-media")
    real = rounds.enqueue_many
    calls = 0

    def crash_on_second_chunk(*args: Any, **kwargs: Any) -> int:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("power cut")
        return real(*args, **kwargs)

    monkeypatch.setattr(rounds, "enqueue_many", crash_on_second_chunk)
    with pytest.raises(RuntimeError):
        bot.engine.continue_rounds()
    assert participants(bot) == 14  # the failed chunk left nothing, not half
    monkeypatch.setattr(rounds, "enqueue_many", real)
    bot.engine.tick()  # a restart's first tick carries on
    assert participants(bot) == 30
    assert outbox_keys(bot, "prompt:") == Counter(dict.fromkeys(PEOPLE, 1))
    assert len(bot.queued(CIO_CHANNEL)) == 1


def test_a_chunk_written_twice_adds_nobody_and_no_prompt(bot: EngineHarness) -> None:
    deferred(bot)
    bot.command(ADMIN, "ask social-media")
    bot.engine.continue_rounds()
    with bot.db.transaction() as s:  # as if every chunk's progress had been lost
        round_ = s.get(models.Round, round_id_of(bot))
        assert round_ is not None
        round_.pending_work, round_.work_cursor = rounds.OPEN, 0
    bot.engine.continue_rounds()
    assert participants(bot) == 30
    assert outbox_keys(bot, "prompt:") == Counter(dict.fromkeys(PEOPLE, 1))


def test_everyone_asked_so_far_answering_does_not_close_a_round_still_opening(
    db: Database, clock: FakeClock
) -> None:
    bot = EngineHarness(db, clock, big_playbook(close_when_all_answered=True))
    deferred(bot)
    bot.command(ADMIN, "ask social-media")
    round_id = round_id_of(bot)
    for person in PEOPLE[:7]:
        bot.submit(person, round_id, ANSWERS)
    with bot.db.transaction() as s:
        assert s.get(models.Round, round_id).status == "open"  # type: ignore[union-attr]
    bot.engine.continue_rounds()
    assert outbox_keys(bot, "prompt:")[PEOPLE[29]] == 1


def test_a_big_round_closes_with_one_notice_each_and_one_digest_counting_everyone(
    bot: EngineHarness,
) -> None:
    bot.command(ADMIN, "ask social-media")
    round_id = round_id_of(bot)
    for person in PEOPLE[:3]:
        bot.submit(person, round_id, ANSWERS)
    bot.say(PEOPLE[3], "We hear a little")  # answering, not finished
    bot.queued(CIO_CHANNEL)
    deferred(bot)
    bot.command(ADMIN, "close social-media")
    closed = outbox_keys(bot, "closed:")
    assert len(closed) == 7  # the first chunk, with the command
    assert not [m for m in bot.queued(CIO_CHANNEL) if isinstance(m, DigestMessage)]
    # Closed is closed at once: an answer now is not stored into the round.
    bot.submit(PEOPLE[29], round_id, ANSWERS)
    bot.engine.continue_rounds()
    assert outbox_keys(bot, "closed:") == Counter(dict.fromkeys(PEOPLE[3:], 1))
    (digest,) = [m for m in bot.queued(CIO_CHANNEL) if isinstance(m, DigestMessage)]
    (conv,) = digest.digest.conversations
    assert (conv.invited, conv.answered, conv.partly) == (30, 3, 1)
    # What we heard follows the digest, in chunks too: once for everyone asked.
    assert outbox_keys(bot, "heard:") == Counter(dict.fromkeys(PEOPLE, 1))
    bot.engine.continue_rounds()  # nothing left: no second digest
    assert not bot.queued(CIO_CHANNEL)
    assert outbox_keys(bot, "heard:") == Counter(dict.fromkeys(PEOPLE, 1))
