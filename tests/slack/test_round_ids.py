"""Slack payloads naming a round id no round can have are unreadable clicks, never a 500.

Round ids are `Integer` columns (32-bit on PostgreSQL); before the bound was checked, a
button value or block id with a round id such as 10**30 reached the database, which failed
on it, and Slack got a 500 (and redelivered).
"""

from __future__ import annotations

import json

import pytest

from bot.adapters.slack.render import parse_action, parse_view_submission
from bot.flows.events import MAX_ROUND_ID
from tests.slack.conftest import MARIA, SlackDriver, text_of

OUT_OF_RANGE = [10**30, 2**31, 0, -7]
IDS = ["10**30", "2**31", "zero", "negative"]


def _button(round_id: int) -> dict[str, object]:
    value = json.dumps({"r": round_id, "v": None})
    return {"type": "button", "action_id": "strategy:skip_round", "value": value}


@pytest.mark.parametrize("round_id", OUT_OF_RANGE, ids=IDS)
def test_a_button_value_out_of_range_is_unreadable(round_id: int) -> None:
    with pytest.raises(ValueError, match="out of range"):
        parse_action(_button(round_id), None)


@pytest.mark.parametrize("round_id", [10**30, 2**31, 0], ids=IDS[:3])
def test_a_block_id_out_of_range_is_unreadable(round_id: int) -> None:
    select = {
        "type": "static_select",
        "action_id": "strategy:answer",
        "block_id": f"strategy:r:{round_id}:channel",
        "selected_option": {"value": "Blogs"},
    }
    with pytest.raises(ValueError, match="out of range"):
        parse_action(select, None)


@pytest.mark.parametrize("round_id", OUT_OF_RANGE, ids=IDS)
def test_a_form_for_a_round_id_out_of_range_is_unreadable(round_id: int) -> None:
    view = {
        "callback_id": "strategy_form",
        "private_metadata": json.dumps({"r": round_id}),
        "state": {"values": {}},
    }
    with pytest.raises(ValueError, match="out of range"):
        parse_view_submission(view)


def test_the_bounds_themselves_are_round_ids() -> None:
    assert parse_action(_button(1), None) == ("skip_round", 1, None)
    assert parse_action(_button(MAX_ROUND_ID), None) == ("skip_round", MAX_ROUND_ID, None)


async def test_a_button_for_round_10_to_the_30_is_acked_and_explained(slack: SlackDriver) -> None:
    await slack.open_round()
    resp = await slack.press(MARIA, _button(10**30))
    assert resp.status == 200
    posts = await slack.fake.wait_for("chat.postMessage", 2, channel="D0MARIA")
    assert "couldn't read that button" in text_of(posts[-1].body)
    assert slack.answers(MARIA) == {}
