"""A person's data: `forget <person>` erases it, `mine history` / `mine export` show it.

Why a module of its own: erasure has to know every place the bot keeps something about a
person, and keeping that list in one file is what lets a test (and a privacy officer)
check it against the tables. What a person leaves behind, and what happens to it:

- their member row, group memberships, participations, answers and every earlier revision
  of an answer: deleted;
- their Teams personal-chat reference (`teams_references` at their address) and their
  Slack DM channel id (`slack_dm_channels`): deleted;
- every outbox message to them (pending or sent: the sent ones are copies of what they
  were shown, their own answers included): deleted;
- their free-text answers quoted in stored digests and in digests queued or sent to the
  CIO channel: removed from the quotes (the digest's counts, means and medians stay, so
  trends remain readable; `forget` says how many digests it scrubbed);
- their display name in a digest's "answered nothing" list, and their identity or name
  (or the words the admin named them by, "@U0123ABCD") anywhere else in those JSON
  documents (a notice to an admin, a stored command's text, an audit entry's detail):
  replaced by `[forgotten]`;
- audit entries they made as an admin: kept (the log is the record of what was done) with
  the actor replaced by `[forgotten]`; rounds they opened and digests they asked for keep
  no name either.

The playbook is configuration, not data: someone still listed there (or in a Slack user
group a group reads) is a member again at the next sync, and `forget` says so.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from bot import messages
from bot.errors import UserError
from bot.flows import rounds
from bot.flows.answers import display_value
from bot.flows.outbound import Notice, OutboundMessage
from bot.flows.turn import Turn
from bot.playbook.model import QuestionType
from storage import models

#: What replaces a forgotten person's identity, name or words in what is kept.
FORGOTTEN = "[forgotten]"
#: Texts this long are also removed where they appear inside a longer string; shorter ones
#: ("yes", "Blogs") only where they stand as a quoted answer, so no option list is mangled.
_SUBSTRING_MIN = 12
#: How many rows of a big table are read at a time while scrubbing.
_CHUNK = 500


def is_quote_of(text: object, texts: frozenset[str]) -> bool:
    """Whether a quoted text is one of these answers, whole or cut around a theme ("… x …")."""
    if not isinstance(text, str):
        return False
    if text in texts or text.strip() in texts:
        return True
    core = text.strip().strip("…").strip()
    return len(core) >= _SUBSTRING_MIN and any(core in t for t in texts)


def without_quotes(value: Any, texts: frozenset[str]) -> Any:
    """A JSON document without any quote (a dict with `text` and `author`) of these texts."""
    if isinstance(value, list):
        return [
            without_quotes(v, texts)
            for v in value
            if not (isinstance(v, dict) and "author" in v and is_quote_of(v.get("text"), texts))
        ]
    if isinstance(value, dict):
        return {k: without_quotes(v, texts) for k, v in value.items()}
    return value


@dataclass
class Scrubber:
    """Removes one person from JSON documents and strings: identity, name and own words."""

    identity: str
    name: str
    texts: frozenset[str] = field(default_factory=frozenset)
    # Other words that named them: what the admin typed after `forget` ("@U0123ABCD"),
    # kept in the stored command itself.
    aliases: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        names = [re.escape(self.identity)]
        for name in {self.name, *self.aliases}:
            if len(name) >= 3:
                names.append(r"(?<!\w)" + re.escape(name) + r"(?!\w)")
        names.extend(re.escape(t) for t in sorted(self.texts, key=len) if len(t) >= _SUBSTRING_MIN)
        self._pattern = re.compile("|".join(sorted(names, key=len, reverse=True)))

    def text(self, value: str) -> str:
        """A string with the person's identity, name and long answers replaced."""
        if value in self.texts or value == self.name:
            return FORGOTTEN
        return self._pattern.sub(FORGOTTEN, value)

    def _quotes_them(self, item: object) -> bool:
        if isinstance(item, str):
            return item in (self.identity, self.name)
        if isinstance(item, dict) and "text" in item and "author" in item:
            return item.get("author") == self.name or is_quote_of(item.get("text"), self.texts)
        return False

    def json(self, value: Any) -> Any:
        """A JSON document without the person: their quotes dropped, the rest replaced."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.json(v) for v in value if not self._quotes_them(v)]
        if isinstance(value, dict):
            return {k: self.json(v) for k, v in value.items()}
        return value


@dataclass
class Erased:
    """What `forget` removed and what it left, for its reply and the audit log."""

    answers: int = 0
    revisions: int = 0
    rounds: int = 0
    memberships: int = 0
    messages: int = 0
    digests: int = 0
    documents: int = 0
    audit_entries: int = 0


def find_person(session: Session, words: Sequence[str]) -> models.Member | None:
    """The member an admin named: an identity (`slack:U…`), a Slack `@U…`, or a full name.

    Raises:
        UserError: a name that several members share (each is listed by identity).
    """
    wanted = " ".join(words).strip()
    candidates = [wanted]
    if re.fullmatch(r"@?[UW][A-Z0-9]{2,}", wanted):
        candidates.append("slack:" + wanted.lstrip("@"))
    for identity in candidates:
        member = session.scalar(select(models.Member).where(models.Member.identity == identity))
        if member is not None:
            return member
    named = list(
        session.scalars(
            select(models.Member).where(
                func.lower(models.Member.display_name) == wanted.lstrip("@").lower()
            )
        )
    )
    if len(named) > 1:
        raise UserError(messages.forget_ambiguous(wanted, [m.identity for m in named]))
    return named[0] if named else None


def _own_texts(session: Session, member: models.Member) -> frozenset[str]:
    """Every free text the person ever gave (current answers and earlier revisions)."""
    texts: set[str] = set()
    rows = session.execute(
        select(models.Answer, models.Round)
        .join(models.Participant, models.Answer.participant_id == models.Participant.id)
        .join(models.Round, models.Participant.round_id == models.Round.id)
        .where(models.Participant.member_id == member.id)
    ).all()
    for answer, round_ in rows:
        questions = {q.id: q for q in rounds.agenda_of(round_).questions}
        question = questions.get(answer.question_id)
        if question is None or question.type is not QuestionType.TEXT:
            continue
        values = [answer.value]
        values.extend(
            session.scalars(
                select(models.AnswerRevision.value).where(
                    models.AnswerRevision.answer_id == answer.id
                )
            )
        )
        texts.update(v for v in values if isinstance(v, str) and v)
    return frozenset(texts)


def _chunks(session: Session, query: Any) -> Iterator[Any]:
    """The rows of a query, a chunk at a time (tables like the outbox can be large)."""
    yield from session.scalars(query.execution_options(yield_per=_CHUNK))


def erase(session: Session, member: models.Member, *, named: str = "") -> Erased:
    """Delete a member and everything that is theirs; scrub them from what is kept.

    `named` is how the admin named them, scrubbed too (it is in the stored command).
    Runs in the caller's transaction, so an erasure is whole or not at all.
    """
    aliases = frozenset({named} - {""})
    scrub = Scrubber(member.identity, member.display_name, _own_texts(session, member), aliases)
    erased = Erased()
    participant_ids = list(
        session.scalars(
            select(models.Participant.id).where(models.Participant.member_id == member.id)
        )
    )
    erased.rounds = len(participant_ids)
    if participant_ids:
        answer_ids = list(
            session.scalars(
                select(models.Answer.id).where(models.Answer.participant_id.in_(participant_ids))
            )
        )
        erased.answers = len(answer_ids)
        if answer_ids:
            erased.revisions = _deleted(
                session,
                delete(models.AnswerRevision).where(
                    models.AnswerRevision.answer_id.in_(answer_ids)
                ),
            )
            session.execute(delete(models.Answer).where(models.Answer.id.in_(answer_ids)))
        session.execute(
            delete(models.Participant).where(models.Participant.id.in_(participant_ids))
        )
    erased.memberships = _deleted(
        session, delete(models.GroupMember).where(models.GroupMember.member_id == member.id)
    )
    erased.messages = _deleted(
        session,
        delete(models.OutboxMessage).where(models.OutboxMessage.destination == member.identity),
    )
    session.execute(
        delete(models.TeamsReference).where(models.TeamsReference.address == member.identity)
    )
    if member.identity.startswith("slack:"):  # `slack:U…`, or `slack:T…/U…`: their DM's id
        team, _, user = member.identity.removeprefix("slack:").rpartition("/")
        session.execute(
            delete(models.SlackDmChannel).where(
                models.SlackDmChannel.team_id == team, models.SlackDmChannel.user_id == user
            )
        )
    session.execute(
        delete(models.PendingCommand).where(
            models.PendingCommand.status == "pending",
            models.PendingCommand.event["actor"].as_string() == member.identity,
        )
    )
    session.execute(
        update(models.Round).where(models.Round.opened_by == member.identity).values(opened_by=None)
    )
    session.execute(
        update(models.Digest)
        .where(models.Digest.requested_by == member.identity)
        .values(requested_by=None)
    )
    session.delete(member)
    session.flush()
    erased.digests = _scrub_rows(session, models.Digest, "payload", scrub)
    erased.documents = _scrub_rows(session, models.OutboxMessage, "payload", scrub)
    erased.documents += _scrub_rows(session, models.PendingCommand, "event", scrub)
    erased.audit_entries = _scrub_audit(session, scrub)
    return erased


def _deleted(session: Session, statement: Any) -> int:
    return int(session.execute(statement).rowcount or 0)  # type: ignore[attr-defined]


def _scrub_rows(session: Session, table: Any, column: str, scrub: Scrubber) -> int:
    """Rewrite the JSON column of every row that mentions the person; how many changed."""
    changed = []
    for row in _chunks(session, select(table).order_by(table.id)):
        before = getattr(row, column)
        after = scrub.json(before)
        if after != before:
            changed.append((row.id, after))
    for row_id, after in changed:
        session.execute(update(table).where(table.id == row_id).values({column: after}))
    return len(changed)


def _scrub_audit(session: Session, scrub: Scrubber) -> int:
    """Audit entries keep what was done; the forgotten person's name goes."""
    changed = 0
    for entry in list(_chunks(session, select(models.AuditEntry).order_by(models.AuditEntry.id))):
        actor = FORGOTTEN if entry.actor == scrub.identity else entry.actor
        detail = scrub.json(entry.detail)
        target = scrub.text(entry.target)
        if (actor, detail, target) != (entry.actor, entry.detail, entry.target):
            session.execute(
                update(models.AuditEntry)
                .where(models.AuditEntry.id == entry.id)
                .values(actor=actor, detail=detail, target=target)
            )
            changed += 1
    return changed


def _still_listed(turn: Turn, identity: str) -> list[str]:
    """The playbook groups that list this identity: the next sync brings them back."""
    return sorted(
        key
        for key, group in turn.playbook.groups.items()
        if any(m.id == identity for m in group.members)
    )


def forget(turn: Turn, actor: str, args: Sequence[str]) -> list[OutboundMessage]:
    """`forget <person>`: erase a person's data everywhere (admins), and say what is kept.

    The reply never names the person: it is itself kept in the outbox for a while, and
    an erasure that left the name in its own receipt would not be one.

    Raises:
        UserError: nobody by that identity or name (nothing is changed).
    """
    member = find_person(turn.session, args)
    if member is None:
        raise UserError(messages.forget_unknown(" ".join(args)[:60]))
    listed = _still_listed(turn, member.identity)
    erased = erase(turn.session, member, named=" ".join(args).strip())
    turn.audit(
        actor,
        "forget",
        "a person",
        answers=erased.answers,
        rounds=erased.rounds,
        digests=erased.digests,
    )
    lines = [
        messages.forget_done(
            erased.answers, erased.revisions, erased.rounds, erased.memberships, erased.messages
        ),
        messages.forget_kept(erased.digests, erased.audit_entries),
    ]
    if listed:
        lines.append(messages.forget_still_listed(listed))
    return [Notice(level="success", title=messages.FORGET_TITLE, lines=tuple(lines))]


# --- what is stored about me (`mine history`, `mine export`) ---------------------------------


@dataclass(frozen=True)
class StoredAnswer:
    """One of a person's stored answers, with where and when it was given."""

    conversation: str
    round_number: int
    question: str
    answer: str
    answered_at: str
    revisions: int


def stored_answers(session: Session, member: models.Member) -> list[StoredAnswer]:
    """Every answer kept for the person, oldest round first."""
    rows = session.execute(
        select(models.Answer, models.Round)
        .join(models.Participant, models.Answer.participant_id == models.Participant.id)
        .join(models.Round, models.Participant.round_id == models.Round.id)
        .where(models.Participant.member_id == member.id)
        .order_by(models.Round.opened_at, models.Round.id, models.Answer.id)
    ).all()
    out = []
    for answer, round_ in rows:
        agenda = rounds.agenda_of(round_)
        question = next((q for q in agenda.questions if q.id == answer.question_id), None)
        if question is None:
            continue
        shown = messages.SKIPPED if answer.skipped else display_value(question, answer.value)
        out.append(
            StoredAnswer(
                conversation=agenda.title,
                round_number=round_.number,
                question=question.text,
                answer=shown,
                answered_at=f"{answer.answered_at:%Y-%m-%d %H:%M} UTC",
                revisions=answer.revision - 1,
            )
        )
    return out


def _profile_lines(session: Session, member: models.Member) -> list[str]:
    groups = list(
        session.scalars(
            select(models.Group.title)
            .join(models.GroupMember, models.GroupMember.group_id == models.Group.id)
            .where(models.GroupMember.member_id == member.id)
            .order_by(models.Group.title)
        )
    )
    participations = session.scalar(
        select(func.count())
        .select_from(models.Participant)
        .where(models.Participant.member_id == member.id)
    )
    return messages.mine_profile(
        member.identity, member.display_name, member.timezone, groups, participations or 0
    )


def _answer_lines(answers: Iterable[StoredAnswer]) -> list[str]:
    return [
        messages.mine_answer_line(
            a.conversation, a.round_number, a.question, a.answer, a.answered_at, a.revisions
        )
        for a in answers
    ]


def mine_data(turn: Turn, actor: str, what: str) -> list[OutboundMessage]:
    """`mine history` (read) or `mine export` (the same, as one plain-text document).

    Both are private (never shown in a channel) and audited; audit entries name only
    the person themself.
    """
    member = turn.member(actor)
    turn.audit(actor, f"mine {what}", "their own data")
    if member is None:
        return [Notice(private=True, lines=(messages.MINE_NOTHING_STORED,))]
    answers = stored_answers(turn.session, member)
    lines = _profile_lines(turn.session, member)
    lines.append("")
    lines.extend(_answer_lines(answers) or [messages.MINE_NO_ANSWERS])
    if what == "export":
        document = messages.mine_export_document(lines)
        return [Notice(private=True, title=messages.MINE_EXPORT_TITLE, lines=(document,))]
    return [Notice(private=True, title=messages.MINE_HISTORY_TITLE, lines=tuple(lines))]
