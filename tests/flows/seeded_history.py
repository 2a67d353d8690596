"""Three rounds of all six default conversations, answered through the engine as people would.

The figures are planted so a reader can compute every number of the strategy view by hand
(`tests/flows/test_strategy.py` does): Social Media improves round after round and ends
externally mature, Social Networking lags (and its operations executive stops answering),
Social Support's measures improve, Social Technologies' internal maturity falls sharply,
and Sam stops answering Social Media in round 3. Round 3's text answers are the labelled
sample of `tests/flows/theme_samples.py` (Twitter in several conversations, shadow tools,
records retention, an IP worry in Social Innovation, a blocked Facebook request), for the
themes and the consistency view.

Ratings per round and person (round 1, 2, 3); a person missing from a round did not answer.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.flows.outbound import DigestMessage
from bot.playbook.loader import DEFAULT_PLAYBOOK, load_playbook
from storage.db import Database
from tests.conftest import FakeClock
from tests.fakes.engine import EngineHarness
from tests.flows.theme_samples import ANSWERS as WRITTEN

# (conversation, question, person) -> round 3's text answer
TEXTS = {(w.conversation, w.question, w.person): w.text for w in WRITTEN}

# conversation -> question -> round -> {person: value}
PLANTED: dict[str, dict[str, dict[int, dict[str, Any]]]] = {
    "social-media": {
        "maturity-internal": {
            1: {"maria": 1, "peter": 2, "sam": 1},
            2: {"maria": 2, "peter": 2, "sam": 3},
            3: {"maria": 2, "peter": 3},
        },
        "maturity-external": {
            1: {"maria": 2, "peter": 2, "sam": 3},
            2: {"maria": 3, "peter": 4, "sam": 4},
            3: {"maria": 4, "peter": 5},
        },
    },
    "social-networking": {
        "maturity-internal": {
            1: {"hannah": 2, "maria": 2, "peter": 2, "sam": 2, "omar": 2},
            2: {"hannah": 2, "maria": 2, "peter": 2, "sam": 2, "omar": 2},
            3: {"hannah": 1, "maria": 2, "peter": 2, "sam": 2},
        },
        "maturity-external": {
            1: {"hannah": 3, "maria": 3, "peter": 3, "sam": 3, "omar": 3},
            2: {"hannah": 2, "maria": 2, "peter": 2, "sam": 2, "omar": 2},
            3: {"hannah": 2, "maria": 2, "peter": 2, "sam": 2},
        },
    },
    "social-support": {
        "maturity-internal": {1: {"sofia": 3, "tim": 3}, 2: {"sofia": 3, "tim": 3},
                              3: {"sofia": 4, "tim": 4}},
        "maturity-external": {1: {"sofia": 2, "tim": 2}, 2: {"sofia": 3, "tim": 3},
                              3: {"sofia": 3, "tim": 4}},
        "community-share": {1: {"sofia": 20, "tim": 24}, 2: {"sofia": 25, "tim": 27},
                            3: {"sofia": 30, "tim": 32}},
        "response-hours": {1: {"sofia": 8, "tim": 8}, 2: {"sofia": 6, "tim": 6},
                           3: {"sofia": 4, "tim": 4}},
    },
    "social-innovation": {
        "maturity-internal": {1: {"rahul": 2, "rosa": 2}, 2: {"rahul": 3, "rosa": 3},
                              3: {"rahul": 3, "rosa": 3}},
        "maturity-external": {1: {"rahul": 2, "rosa": 2}, 2: {"rahul": 2, "rosa": 2},
                              3: {"rahul": 2, "rosa": 3}},
    },
    "social-technologies": {
        "maturity-internal": {1: {"ian": 3, "irene": 3, "bella": 3},
                              2: {"ian": 3, "irene": 3, "bella": 3},
                              3: {"ian": 2, "irene": 2, "bella": 2}},
        "maturity-external": {1: {"ian": 2, "irene": 2, "bella": 2},
                              2: {"ian": 2, "irene": 2, "bella": 2},
                              3: {"ian": 3, "irene": 3, "bella": 3}},
    },
}  # fmt: skip

# Who does not answer at all in which round: (conversation, round) -> people.
ABSENT = {("social-media", 3): {"sam"}, ("social-networking", 3): {"omar"}}


def seed(db: Database, clock: FakeClock) -> EngineHarness:
    """Run three rounds of every default conversation, two weeks apart, and close them."""
    playbook = load_playbook(DEFAULT_PLAYBOOK)
    bot = EngineHarness(db, clock, playbook.model_dump(mode="json"))
    for number in (1, 2, 3):
        for conv in playbook.conversations:
            bot.command("console:admin", f"ask {conv.key}")
            round_id = open_round(bot, conv.key)
            members = _members(playbook, conv.groups)
            for person in members:
                if person in ABSENT.get((conv.key, number), set()):
                    continue
                values = _answers(conv, number, person)
                bot.submit(f"console:{person}", round_id, values)
            clock.advance(timedelta(hours=1))
            bot.command("console:admin", f"close {conv.key}")
        clock.advance(timedelta(days=14))
    return bot


def digest_all(bot: EngineHarness) -> DigestMessage:
    """What the CIO gets for `digest all`."""
    (reply,) = bot.command("console:cio", "digest all")
    assert isinstance(reply, DigestMessage)
    return reply


def _members(playbook: Any, groups: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    for key in groups:
        for m in playbook.groups[key].members:
            name = m.id.split(":", 1)[1]
            if name not in out:
                out.append(name)
    return out


def _answers(conv: Any, number: int, person: str) -> dict[str, object]:
    planted = PLANTED.get(conv.key, {})
    values: dict[str, object] = {}
    for q in conv.questions:
        given = planted.get(q.id, {}).get(number, {})
        if q.id in planted:
            if person in given:
                values[q.id] = given[person]
            continue
        written = TEXTS.get((conv.key, q.id, person)) if number == 3 else None
        if written is not None:
            values[q.id] = written
            continue
        if not q.required:
            continue
        match q.type.value:
            case "text":
                values[q.id] = f"{person} on {q.id}, round {number}"
            case "rating":
                values[q.id] = 3
            case "single_choice":
                values[q.id] = q.options[0]
            case "multiple_choice":
                values[q.id] = [q.options[0]]
            case "yes_no":
                values[q.id] = True
            case "number":
                values[q.id] = 1
    return values


def open_round(bot: EngineHarness, key: str) -> int:
    from sqlalchemy import select

    from storage import models

    with bot.db.transaction() as s:
        rid = s.scalars(
            select(models.Round.id)
            .join(models.Conversation)
            .where(models.Conversation.key == key, models.Round.status == "open")
        ).one()
    return rid
