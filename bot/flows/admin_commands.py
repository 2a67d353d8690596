"""The commands admins use to run the conversations: ask, close, remind, schedule, pause, resume.

Every one is recorded in the audit log with who did it, and `audit` reads that log back.
Cadence and pause changes also wake the scheduler (`EngineHooks.schedule_changed`), and a
changed or resumed cadence moves the conversation's care date
(`Conversation.scheduled_since`), so a restart right after does not catch up on the old
schedule.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select

from bot import messages
from bot.errors import UserError
from bot.flows import rounds
from bot.flows.cadence import parse_cadence
from bot.flows.outbound import Notice, OutboundMessage
from bot.flows.reader_commands import since_day
from bot.flows.rounds import deadline_of
from bot.flows.turn import Turn
from storage import models


def ask(turn: Turn, actor: str, args: Sequence[str]) -> list[OutboundMessage]:
    """`ask <conversation>`: open a round now.

    Raises:
        UserError: a round is open already, or the conversation's groups are empty.
    """
    conv = turn.conversation(args[0])
    existing = turn.open_round(conv)
    if existing is not None:
        raise UserError(messages.round_already_open(conv.title, existing.number))
    round_ = rounds.open_round(
        turn.session,
        conv,
        scheduled_for=rounds.manual_slot(turn.session, conv, turn.now),
        trigger="manual",
        now=turn.now,
        cio_channel=turn.playbook.cio_channel,
        opened_by=actor,
    )
    if round_ is None:  # another admin (or replica) opened one at this very moment
        existing = turn.open_round(conv)
        if existing is None:
            raise UserError(messages.GENERIC_FAILURE)
        raise UserError(messages.round_already_open(conv.title, existing.number))
    invited = rounds.invited_count(turn.session, round_)
    if not invited:
        raise UserError(messages.no_members(conv.title))
    turn.audit(actor, "ask", conv.key, round=round_.number)
    lines = [messages.round_opened(conv.title, round_.number, invited, deadline_of(round_))]
    held = rounds.held_count(turn.session, round_)
    local_time = rounds.agenda_of(round_).local_time
    if held and local_time:
        lines.append(rounds.held_line(held, local_time))
    return [Notice(level="success", lines=tuple(lines))]


def close(turn: Turn, actor: str, args: Sequence[str]) -> list[OutboundMessage]:
    """`close <conversation>`: close the open round and post its digest."""
    conv, round_ = turn.require_open_round(args[0])
    if not turn.close(round_, reason=f"closed by {actor}"):
        raise UserError(messages.no_open_round(conv.title))
    turn.audit(actor, "close", conv.key, round=round_.number)
    counts = turn.status_counts(round_)
    done, invited = counts.get("done", 0), sum(counts.values())
    line = messages.round_closed_notice(conv.title, round_.number, done, invited)
    return [Notice(level="success", lines=(line,))]


def remind(turn: Turn, actor: str, args: Sequence[str]) -> list[OutboundMessage]:
    """`remind <conversation>`: remind everyone who has not finished."""
    conv, round_ = turn.require_open_round(args[0])
    count = rounds.remind_now(turn.session, round_, turn.now)
    turn.audit(actor, "remind", conv.key, count=count)
    return [Notice(level="success", lines=(messages.reminders_sent(conv.title, count),))]


def schedule(turn: Turn, actor: str, args: Sequence[str]) -> list[OutboundMessage]:
    """`schedule <conversation> <cadence>`: effective at once, kept across restarts."""
    conv = turn.conversation(args[0])
    text = " ".join(args[1:])
    try:
        cadence = parse_cadence(text)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    old = conv.effective_cadence
    conv.cadence_override = text
    conv.scheduled_since = turn.now  # the new cadence starts with its next occurrence
    turn.audit(actor, "schedule", conv.key, old=old, new=text)
    turn.hooks.schedule_changed()
    upcoming = None if conv.paused else cadence.next_after(turn.now)
    line = messages.schedule_changed(conv.title, cadence.describe(), upcoming)
    return [Notice(level="success", lines=(line,))]


def pause(turn: Turn, actor: str, args: Sequence[str]) -> list[OutboundMessage]:
    """`pause <conversation>`: no new rounds until resumed."""
    conv = turn.conversation(args[0])
    conv.paused = True
    turn.audit(actor, "pause", conv.key)
    turn.hooks.schedule_changed()
    return [Notice(level="success", lines=(messages.paused(conv.title),))]


def resume(turn: Turn, actor: str, args: Sequence[str]) -> list[OutboundMessage]:
    """`resume <conversation>`: rounds open on the cadence again, from its next time."""
    conv = turn.conversation(args[0])
    if conv.paused:
        conv.scheduled_since = turn.now  # nothing skipped while paused is owed
    conv.paused = False
    turn.audit(actor, "resume", conv.key)
    turn.hooks.schedule_changed()
    upcoming = parse_cadence(conv.effective_cadence).next_after(turn.now)
    return [Notice(level="success", lines=(messages.resumed(conv.title, upcoming),))]


#: `audit` shows at most this many entries, newest first.
AUDIT_LINES = 50


def audit(turn: Turn, actor: str, args: Sequence[str]) -> list[OutboundMessage]:
    """`audit [since <date>] [<conversation>]`: who did what, newest first.

    The log is append-only: nothing in the bot updates or deletes an entry. Each line names
    the actor by their full identity (`slack:U…`, `teams:…`, `console:…`), which is also
    the platform they acted on.

    Raises:
        UserError: an unknown conversation, a bad or future date, or words left over.
    """
    words = list(args)
    since = None
    if "since" in (w.lower() for w in words):
        at = [w.lower() for w in words].index("since")
        if at + 1 >= len(words):
            raise UserError(messages.AUDIT_SINCE_NEEDS_DATE)
        since = since_day(turn, words[at + 1], messages.audit_future_date)
        del words[at : at + 2]
    if len(words) > 1:
        raise UserError(messages.usage("audit", "audit [since <date>] [conversation]"))
    conv = turn.conversation(words[0]) if words else None
    query = select(models.AuditEntry)
    if since is not None:
        query = query.where(models.AuditEntry.at >= since)
    if conv is not None:
        query = query.where(models.AuditEntry.target == conv.key)
    total = turn.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    entries = turn.session.scalars(
        query.order_by(models.AuditEntry.at.desc(), models.AuditEntry.id.desc()).limit(AUDIT_LINES)
    ).all()
    if not entries:
        return [Notice(title=messages.AUDIT_TITLE, lines=(messages.AUDIT_EMPTY,))]
    lines = [messages.audit_line(e.at, e.actor, e.action, e.target, e.detail) for e in entries]
    if total > len(entries):
        lines.append(messages.audit_more(total - len(entries)))
    return [Notice(title=messages.AUDIT_TITLE, lines=tuple(lines))]
