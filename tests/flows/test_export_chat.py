"""`export` in the engine: the file reply, what its file holds, on both databases.

The platforms' own paths (Bolt, botbuilder, the console's HTTP) are in
`tests/slack/test_export.py`, `tests/teams/test_export.py` and
`tests/console/test_export.py`; here is what every platform shares.
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from bot.flows.export_chat import build_file
from bot.flows.outbound import FileReply, Notice
from storage.db import Database
from tests.conftest import FakeClock
from tests.fakes.engine import EngineHarness
from tests.flows.confidential_playbook import (
    ADMIN,
    CHANNEL,
    CIO,
    COUNSEL,
    HEARING_SAID,
    RISK_SAID,
    confidential_playbook,
)
from tests.flows.test_confidential import answer_liability, answer_media


@pytest.fixture
def bot(db: Database, clock: FakeClock) -> EngineHarness:
    return EngineHarness(db, clock, confidential_playbook())


def exported(bot: EngineHarness, who: str, words: str) -> list[dict[str, str]]:
    replies = bot.command(who, words)
    (reply,) = [r for r in replies if isinstance(r, FileReply)]
    built = build_file(bot.db, reply)
    try:
        raw = built.read()
    finally:
        built.close()
    assert raw.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


def test_a_confidential_answer_is_counts_only_even_for_its_reader(bot: EngineHarness) -> None:
    answer_media(bot)
    answer_liability(bot)
    for who in (CIO, ADMIN):  # the CIO may read Social Liability's answers in a digest
        table = exported(bot, who, "export all")
        texts = {r["answer"] for r in table}
        assert not texts & {*RISK_SAID, HEARING_SAID, "Legal"}, who
        rollups = {
            (r["conversation"], r["question"]): r["answer"]
            for r in table
            if r["record"] == "rollup"
        }
        # A file travels: a confidential question's roll-up is its count, like its answers.
        assert rollups[("social-liability", "How exposed are we?")] == "3 answers, confidential"
        assert rollups[("social-media", "Which channel matters most?")].startswith("Blogs: 2")


def test_a_role_of_its_own_cannot_export(bot: EngineHarness) -> None:
    (reply,) = bot.command(COUNSEL, "export social-liability")
    assert isinstance(reply, Notice) and reply.level == "error"
    assert "Only the CIO and admins can use “export”." in reply.lines


def test_the_file_goes_to_the_askers_chat_and_the_notice_where_they_asked(
    bot: EngineHarness,
) -> None:
    from bot.flows.events import CommandInvoked

    answer_media(bot)
    out = bot.engine.handle(CommandInvoked(actor=CIO, text="export all xlsx", place=CHANNEL))
    by_kind = {o.message.kind: o.address for o in out}
    assert by_kind == {"notice": CHANNEL, "file": CIO}
    (file,) = [o.message for o in out if isinstance(o.message, FileReply)]
    assert file.filename.endswith(".xlsx") and file.export.format == "xlsx"
    assert file.expires_at - file.requested_at == timedelta(hours=24)
