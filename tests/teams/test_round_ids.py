"""Teams card submits naming a round id no round can have are unreadable clicks, never a 500.

Round ids are `Integer` columns (32-bit on PostgreSQL); before the bound was checked, a
submit with `"r": 10**30` reached the database, which failed on it, and Teams got a 500.
"""

from __future__ import annotations

import json

import pytest

from bot.adapters.teams.cards import parse_submit
from bot.flows.events import MAX_ROUND_ID
from tests.teams.conftest import MARIA, TeamsDriver, chat

OUT_OF_RANGE: list[object] = [10**30, 2**31, 0, -7, str(10**30), "2147483648"]
IDS = ["10**30", "2**31", "zero", "negative", "text-10**30", "text-2**31"]


@pytest.mark.parametrize("round_id", OUT_OF_RANGE, ids=IDS)
def test_a_round_id_out_of_range_is_unreadable(round_id: object) -> None:
    with pytest.raises(ValueError, match="out of range"):
        parse_submit({"strategy": "skip_round", "r": round_id})


def test_the_bounds_themselves_are_round_ids() -> None:
    assert parse_submit({"strategy": "skip_round", "r": 1}) == ("skip_round", 1, None)
    top = parse_submit({"strategy": "skip_round", "r": str(MAX_ROUND_ID)})
    assert top == ("skip_round", MAX_ROUND_ID, None)


async def test_a_submit_for_round_10_to_the_30_is_answered_not_a_500(teams: TeamsDriver) -> None:
    await teams.open_round()
    resp = await teams.submit(MARIA, {"strategy": "skip_round", "r": 10**30}, "1:1")
    assert resp.status == 200
    replies = await teams.fake.wait_for("send", 2, conversation=chat(MARIA))  # prompt, notice
    assert "couldn't read that button" in json.dumps(replies[-1].cards)
    assert teams.answers(MARIA) == {}
