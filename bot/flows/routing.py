"""Who sees each reply, and where: one policy for every platform.

The engine answers the person who acted; this decides the address of each answer from
where they acted (`InboundEvent.place`, `InboundEvent.private_reply`), so Slack, Teams and
the console cannot disagree about it:

- **A form** is shown in the moment (a Slack modal, a Teams card on the turn, the
  console's form) and never queued: it is an offer to answer, not a message to keep.
- **A file** (`export`) goes to the actor's own chat, wherever they asked: a file of
  everyone's answers is never posted in a channel, and a Slack `response_url` cannot
  carry a file (the notice that comes with it answers where they asked).
- **With a private reply address** (a Slack slash command's `response_url`), every reply
  goes there, visible to the actor only, except a digest asked for in the CIO channel,
  which is posted in the channel for everyone there.
- **In a channel** (a Teams @mention, the console's CIO channel), what concerns one
  person's answers (prompts, summaries, a private notice such as `mine history`) goes to
  their own chat; a digest is posted in the channel only if it is the CIO channel (only
  the CIO and admins read digests), else it goes to the asker's own chat; notices answer
  in the channel.
- **Otherwise** (a DM, a personal chat, a button on a message in either), the reply goes
  to the actor's own chat.
"""

from __future__ import annotations

from bot.flows.events import InboundEvent
from bot.flows.outbound import (
    ConsistencyMessage,
    DigestMessage,
    FileReply,
    Form,
    History,
    Notice,
    OutboundMessage,
    Prompt,
    Summary,
)

# Messages about one person's answers: never shown in a channel.
PRIVATE_KINDS = (Prompt, Summary)
# The CIO's reading: in the CIO channel when asked there, else in the asker's own chat.
READING_KINDS = (DigestMessage, History, ConsistencyMessage)


def reply_address(event: InboundEvent, message: OutboundMessage, cio_channel: str) -> str | None:
    """Where a reply to `event` goes; None for a form, which is only shown in the moment.

    Args:
        event: what the actor did, with where they did it.
        message: one of the engine's replies.
        cio_channel: the playbook's CIO channel address.

    Returns:
        A `platform:id` address, or None.
    """
    if isinstance(message, Form):
        return None
    if isinstance(message, FileReply):
        return event.actor
    in_cio_channel = event.place is not None and event.place == cio_channel
    if event.private_reply is not None:
        if isinstance(message, READING_KINDS) and in_cio_channel:
            return cio_channel
        return event.private_reply
    if event.place is not None and event.place != event.actor:
        if isinstance(message, PRIVATE_KINDS) or (isinstance(message, Notice) and message.private):
            return event.actor
        if isinstance(message, READING_KINDS) and not in_cio_channel:
            return event.actor
        return event.place
    return event.actor
