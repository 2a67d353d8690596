"""The commands the CIO and admins use to read: status, digest and history.

They only read (a digest asked for is kept in the `digests` table for history); roles
are checked by the command table before they run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time

from sqlalchemy import func, select

from bot import messages
from bot.errors import UserError
from bot.flows import rounds
from bot.flows.cadence import parse_cadence
from bot.flows.confidential import check_scope
from bot.flows.consistency import build as build_consistency
from bot.flows.digest import MAX_RANGE_ROUNDS, build_digest, save_digest
from bot.flows.directory import unreachable_lines
from bot.flows.history import closed_rounds, trend_rounds
from bot.flows.outbound import ConsistencyMessage, DigestMessage, History, Notice, OutboundMessage
from bot.flows.retention import next_purge
from bot.flows.roles import Role
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
        lines.append(
            messages.status_retention(turn.playbook.retention_of(conv.key), next_purge(turn.now))
        )
    problems = failures(turn.session, limit=10)
    if problems:
        lines.extend(["", messages.STATUS_DELIVERY_PROBLEMS])
        lines.extend(f"    {f.destination}: {f.last_error}" for f in problems)
    unreachable = unreachable_lines(turn.session, (g for c in convs for g in c.spec["groups"]))
    if unreachable:  # e.g. an email: member nobody in Slack has (bot.flows.directory)
        lines.extend(["", messages.STATUS_NOT_REACHABLE, *(f"    {u}" for u in unreachable)])
    return [Notice(title=messages.STATUS_TITLE, lines=tuple(lines))]


def digest(turn: Turn, actor: str, args: Sequence[str]) -> list[OutboundMessage]:
    """`digest [conversation|all] [last|previous]`, or one conversation over a range.

    `digest <conversation> rounds <n>` covers its last n closed rounds, `digest
    <conversation> since <YYYY-MM-DD>` those closed since that day (UTC). Every digest
    asked for is kept for history, whole; what the asker and the place they asked in may
    read of it is chosen when it is delivered (`bot.flows.confidential.deliveries`).
    """
    words = [w.lower() for w in args]
    if Role.READER not in turn.roles(actor):  # a role of the playbook's own: its conversations
        named = next((w for w in words if w not in ("last", "previous", "rounds", "since")), "all")
        check_scope(turn.playbook, actor, named)
    if len(words) == 3 or (len(words) >= 2 and words[1] in ("rounds", "since")):
        return _range(turn, actor, words)
    scope, which = "all", "last"
    for word in args:
        if word.lower() in ("last", "previous"):
            which = word.lower()
        elif word.lower() == "all":
            scope = "all"
        elif word.lower() in ("rounds", "since"):
            raise UserError(messages.RANGE_OF_ONE)
        else:
            scope = turn.conversation(word).key
    built = build_digest(
        turn.session,
        scope=scope,
        which=which,  # type: ignore[arg-type]
        organisation=turn.playbook.organisation,
        now=turn.now,
        summariser=turn.hooks.summariser if scope == "all" else None,
    )
    save_digest(turn.session, built, round_id=None, requested_by=actor)
    return [DigestMessage(digest=built)]


def _range(turn: Turn, actor: str, words: list[str]) -> list[OutboundMessage]:
    if words[0] == "all" or words[0] in ("rounds", "since"):
        raise UserError(messages.RANGE_OF_ONE)
    conv = turn.conversation(words[0])
    if len(words) == 2:
        raise UserError(messages.range_needs(words[1], conv.key))
    if words[1] not in ("rounds", "since"):
        raise UserError(messages.digest_words(" ".join(words[1:])))
    how, value = words[1], words[2]
    count: int | None = None
    since: datetime | None = None
    if how == "rounds":
        if not value.isdigit() or not 1 <= int(value) <= MAX_RANGE_ROUNDS:
            raise UserError(messages.bad_round_count(value, MAX_RANGE_ROUNDS))
        count = int(value)
    else:
        since = since_day(turn, value)
    built = build_digest(
        turn.session,
        scope=conv.key,
        organisation=turn.playbook.organisation,
        now=turn.now,
        rounds=count,
        since=since,
    )
    save_digest(turn.session, built, round_id=None, requested_by=actor)
    return [DigestMessage(digest=built)]


def since_day(
    turn: Turn, value: str, future: Callable[[str], str] = messages.future_date
) -> datetime:
    """The start (00:00 UTC) of the day `since <YYYY-MM-DD>` names.

    Args:
        turn: the command's turn (its clock says what today is).
        value: the word after `since`.
        future: the sentence for a day after today (each command says what it lists).

    Raises:
        UserError: not a date, or a day after today.
    """
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise UserError(messages.bad_date(value)) from None
    if day > turn.now.astimezone(UTC).date():
        raise UserError(future(day.isoformat()))
    return datetime.combine(day, time(0, 0), tzinfo=UTC)


def history(turn: Turn, actor: str, args: Sequence[str]) -> list[OutboundMessage]:
    """`history <conversation>`: its closed rounds, newest first, with their figures."""
    conv = turn.conversation(args[0])
    closed = closed_rounds(turn.session, [conv.id], depth=MAX_RANGE_ROUNDS + 1).get(conv.id, [])
    listed = closed[:MAX_RANGE_ROUNDS]
    more = 0
    if len(closed) > MAX_RANGE_ROUNDS:
        total = turn.session.scalar(
            select(func.count())
            .select_from(models.Round)
            .where(models.Round.conversation_id == conv.id, models.Round.status == "closed")
        )
        more = (total or 0) - MAX_RANGE_ROUNDS
    open_round = turn.open_round(conv)
    return [
        History(
            conversation_key=conv.key,
            title=conv.title,
            rounds=tuple(c.point for c in reversed(listed)),
            more=more,
            open_round_number=open_round.number if open_round is not None else None,
        )
    ]


def consistency(turn: Turn, actor: str, args: Sequence[str]) -> list[OutboundMessage]:
    """`consistency`: topics across conversations, hand-offs, divergence and gaps."""
    convs = list(
        turn.session.scalars(
            select(models.Conversation)
            .where(models.Conversation.active)
            .order_by(models.Conversation.id)
        )
    )
    depth = max((trend_rounds(c.spec) for c in convs), default=2)
    histories = closed_rounds(turn.session, [c.id for c in convs], depth=max(depth, 2))
    built = build_consistency(
        turn.session, convs, histories, now=turn.now, summariser=turn.hooks.summariser
    )
    return [
        ConsistencyMessage(
            organisation=turn.playbook.organisation, generated_at=turn.now, consistency=built
        )
    ]
