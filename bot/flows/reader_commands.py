"""The commands the CIO and admins use to read: status and digest.

They only read (a digest asked for is kept in the `digests` table for history); roles
are checked by the command table before they run.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from bot import messages
from bot.flows import rounds
from bot.flows.cadence import parse_cadence
from bot.flows.digest import build_digest, save_digest
from bot.flows.directory import unreachable_lines
from bot.flows.outbound import DigestMessage, Notice, OutboundMessage
from bot.flows.rounds import deadline_of
from bot.flows.turn import Turn
from storage import models
from storage.outbox import failures


def status(turn: Turn, actor: str, args: Sequence[str]) -> list[OutboundMessage]:
    """`status [conversation]`: cadence, next round, progress, delivery problems."""
    convs = (
        [turn.conversation(args[0])]
        if args
        else list(
            turn.session.scalars(
                select(models.Conversation)
                .where(models.Conversation.active)
                .order_by(models.Conversation.id)
            )
        )
    )
    lines = []
    for conv in convs:
        cadence = parse_cadence(conv.effective_cadence)
        upcoming = None if conv.paused else cadence.next_after(turn.now)
        lines.append(messages.status_line(conv.title, conv.key, cadence.describe(), upcoming))
        open_round = turn.open_round(conv)
        if open_round is not None:
            counts = turn.status_counts(open_round)
            lines.append(
                messages.status_open_round(
                    open_round.number,
                    counts.get("done", 0),
                    sum(counts.values()),
                    counts.get("skipped", 0),
                    deadline_of(open_round),
                )
            )
            held = rounds.held_count(turn.session, open_round)
            if held:
                lines.append(messages.status_held(held))
    problems = failures(turn.session, limit=10)
    if problems:
        lines.extend(["", messages.STATUS_DELIVERY_PROBLEMS])
        lines.extend(f"    {f.destination}: {f.last_error}" for f in problems)
    unreachable = unreachable_lines(turn.session, (g for c in convs for g in c.spec["groups"]))
    if unreachable:  # e.g. an email: member nobody in Slack has (bot.flows.directory)
        lines.extend(["", messages.STATUS_NOT_REACHABLE, *(f"    {u}" for u in unreachable)])
    return [Notice(title=messages.STATUS_TITLE, lines=tuple(lines))]


def digest(turn: Turn, actor: str, args: Sequence[str]) -> list[OutboundMessage]:
    """`digest [conversation|all] [last|previous]`: the roll-up, kept for history."""
    scope, which = "all", "last"
    for word in args:
        if word.lower() in ("last", "previous"):
            which = word.lower()
        elif word.lower() == "all":
            scope = "all"
        else:
            scope = turn.conversation(word).key
    built = build_digest(
        turn.session,
        scope=scope,
        which=which,  # type: ignore[arg-type]
        organisation=turn.playbook.organisation,
        now=turn.now,
    )
    save_digest(turn.session, built, round_id=None, requested_by=actor)
    return [DigestMessage(digest=built)]
