"""Anonymous rounds with a group too small to show apart: pooled in the digest and export."""

from __future__ import annotations

import copy
from typing import Any

from sqlalchemy import select

from bot.flows.digest import POOLED
from bot.flows.export import rounds_to_export, rows
from bot.flows.outbound import DigestMessage
from bot.presentation import build_view
from bot.presentation.text import lines
from storage import models
from storage.db import Database
from tests.conftest import FakeClock
from tests.fakes.engine import PLAYBOOK, EngineHarness

ADMIN = "console:admin"
SAID = "Records retention of DMs worries me"


def liability(bot: EngineHarness) -> DigestMessage:
    bot.command(ADMIN, "ask social-liability")
    bot.say("console:lee", SAID)
    (digest,) = bot.command("console:cio", "digest social-liability")
    assert isinstance(digest, DigestMessage)
    return digest


def exported(bot: EngineHarness) -> list[Any]:
    with bot.db.transaction() as s:
        found = rounds_to_export(s, ["social-liability"], None)
        return list(rows(s, [r for r, _ in found]))


def test_a_one_person_group_is_not_shown_apart(db: Database, clock: FakeClock) -> None:
    bot = EngineHarness(db, clock)  # legal: Lee alone; min_group_size defaults to 3
    digest = liability(bot)
    conv = digest.digest.conversations[0]
    (row,) = conv.participation
    assert row.group_key == POOLED and row.invited == 1
    assert "fewer than 3 people" in row.title
    (text,) = next(q for q in conv.questions if q.question_id == "risk").texts
    assert (text.text, text.author, text.group_key) == (SAID, None, None)
    shown = "\n".join(lines(build_view(digest)))
    assert SAID in shown and "Legal and security" not in shown and "Lee" not in shown
    table = exported(bot)
    assert {r.group for r in table if r.record == "participation"} == {POOLED}
    assert [(r.group, r.person, r.answered_at) for r in table if r.record == "answer"] == [
        ("", "", "")
    ]


def test_the_minimum_is_configurable(db: Database, clock: FakeClock) -> None:
    playbook = copy.deepcopy(PLAYBOOK)
    playbook["conversations"][1]["min_group_size"] = 1
    bot = EngineHarness(db, clock, playbook)
    conv = liability(bot).digest.conversations[0]
    assert [p.group_key for p in conv.participation] == ["legal"]
    with bot.db.transaction() as s:
        agenda = s.scalars(select(models.Round.agenda)).one()
    assert agenda["min_group_size"] == 1
