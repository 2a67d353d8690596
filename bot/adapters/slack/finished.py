"""After a stakeholder's last answer, turn the round's opening prompt into "Done — thanks".

Why: the opening prompt of a round stays in the DM with its buttons ("Answer all",
"Skip round", "Snooze") after the person has finished, which invites a second, confusing
round of clicks. Once the engine says a participant is done (a `Summary` with `done`), we
edit that first message with `chat.update` into a short read-only summary, with no
buttons. The full summary, with its "Edit" buttons, is still posted below as before.

Where the message is: the core knows (`Core.opening_prompt`: the round's opening prompt
was delivered through the outbox, and the Slack adapter recorded what `chat.postMessage`
returned as its platform message id: the ts, or `channel:ts` when an adapter stores
both). A bare ts is resolved against the person's
DM channel (`SlackAdapter.channel_for` in its workspace: cached, else
`conversations.open`, which returns the same DM every time).

Best effort: the answer is already stored and acknowledged when this runs (it is spawned
after the replies are written), so a failed update is logged and never fails anything.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from bot import messages
from bot.adapters.base import Core
from bot.adapters.slack.adapter import SlackAdapter, split_address
from bot.adapters.slack.mrkdwn import escape, fit
from bot.adapters.slack.render import render_message
from bot.flows.outbound import Outgoing, Summary

logger = logging.getLogger(__name__)

MAX_BLOCKS = 50


def done_summaries(replies: Sequence[Outgoing]) -> list[Summary]:
    """The `Summary` replies that say a participant has finished their round."""
    return [r.message for r in replies if isinstance(r.message, Summary) and r.message.done]


def render_done(summary: Summary, round_number: int) -> dict[str, Any]:
    """The read-only "Done — thanks" message that replaces the opening prompt.

    Args:
        summary: the participant's finished summary.
        round_number: the round's number, for the context line.

    Returns:
        A `chat.update` payload (`text` and at most 50 blocks, escaped, no buttons).
    """
    read_only = summary.model_copy(update={"editable": False})
    answers = render_message(read_only)[0]["blocks"][1:]  # drop its own header
    title = summary.conversation_title
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": messages.DONE_HEADER, "emoji": True},
        },
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": f":white_check_mark: *{fit(title, 500)}*"
                    f" · {messages.round_label(round_number)}",
                    "verbatim": True,
                }
            ],
        },
    ]
    # The last answer may have closed the round (close_when_all_answered): then there is
    # nothing left to change, and the note must not offer it.
    said = messages.DONE_NOTE if summary.editable else messages.DONE_CLOSED_NOTE
    note = {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": escape(said), "verbatim": True}],
    }
    blocks += answers[: MAX_BLOCKS - len(blocks) - 1]
    blocks.append(note)
    return {"text": fit(messages.done_fallback(title), 3000), "blocks": blocks}


async def mark_prompts_done(
    core: Core, adapter: SlackAdapter, actor: str, replies: Sequence[Outgoing]
) -> None:
    """Update the opening prompt of every round that `replies` say `actor` finished.

    Args:
        core: the rest of the bot (where was the opening prompt delivered?).
        adapter: the Slack adapter (client and DM channels).
        actor: who answered (`slack:U…`).
        replies: what the engine returned for the answer.
    """
    for summary in done_summaries(replies):
        try:
            ref = await core.opening_prompt(actor, summary.round_id)
            if ref is None:
                logger.info(
                    "slack: no delivered opening prompt of %s in round %s to mark done",
                    actor,
                    summary.round_id,
                )
                continue
            channel, sep, ts = ref.message_id.rpartition(":")
            if not sep:
                team, target = split_address(ref.destination)
                channel = await adapter.channel_for(target, team=team)
            payload = render_done(summary, ref.round_number)
            await adapter.client.chat_update(channel=channel, ts=ts, **payload)
        except Exception:
            logger.warning(
                "slack: could not mark the opening prompt of %s in round %s done",
                actor,
                summary.round_id,
                exc_info=True,
            )


__all__ = ["done_summaries", "mark_prompts_done", "render_done"]
