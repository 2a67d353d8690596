"""Roll a round's answers up into the CIO's digest, and keep a copy of each digest built.

The CIO does not read answers one by one: the seeds ask for conversations that are
*measured, not just discussed* and compared over time, and for an enterprise view across
all six conversations that places the organisation on the social-maturity map (seed 004).
So a digest carries, per conversation, who took part, each question's numbers next to the
previous round's, and for scope "all" the maturity stage with its recommended next move.

Cost does not depend on the size of the organisation: a digest runs a fixed handful of
queries (conversations, their recent rounds, the participants and the answers of the chosen
rounds in one joined query each, and group titles), whatever the number of participants or
answers; the roll-up itself is a single pass in Python.

Anonymous conversations never put a name into the digest (`author` and `missing` stay
empty), so no renderer downstream can leak who said what.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, assert_never

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import messages
from bot.errors import UserError
from bot.flows import consistency as listening
from bot.flows import strategy
from bot.flows.answers import kind_of
from bot.flows.confidential import Secrets, combine, secrets_of
from bot.flows.digest_model import (
    ChoiceRollup,
    ConversationDigest,
    Digest,
    GroupParticipation,
    NumberRollup,
    QuestionRollup,
    RatingRollup,
    RecurringChoices,
    TextAnswer,
)
from bot.flows.digest_model import Span as DigestSpan
from bot.flows.history import (
    DEFAULT_TREND_ROUNDS,
    ClosedRound,
    closed_rounds,
    newest_rounds,
    trend_rounds,
    trends,
)
from bot.flows.strategy_model import Standing
from bot.flows.summary import Summariser
from bot.playbook.model import QuestionType
from storage.models import Answer, Conversation, Group, Member, Participant, Round
from storage.models import Digest as DigestRow

# A round's agenda is a JSON snapshot: a type this version does not know is left out.
_QUESTION_TYPES = frozenset(t.value for t in QuestionType)
_DIGEST_ROUND_STATUSES = ("open", "closed")
#: A range digest covers at most this many rounds (`digest <conversation> since <date>`).
MAX_RANGE_ROUNDS = 50


@dataclass(frozen=True)
class _Person:
    id: int
    group_key: str
    status: str
    name: str


@dataclass(frozen=True)
class _Reply:
    value: Any
    skipped: bool
    group_key: str
    name: str
    participant_id: int


@dataclass
class _RoundData:
    people: list[_Person] = field(default_factory=list)
    # question id -> replies, in the order they were given (answered_at, then id)
    replies: dict[str, list[_Reply]] = field(default_factory=lambda: defaultdict(list))


def build_digest(
    session: Session,
    *,
    scope: str,
    which: Literal["last", "previous"] = "last",
    organisation: str,
    now: datetime,
    rounds: int | None = None,
    since: datetime | None = None,
    up_to_number: int | None = None,
    summariser: Summariser | None = None,
) -> Digest:
    """Build the digest of one conversation, or of all of them with the strategy view.

    Args:
        session: an open session; only read from.
        scope: a conversation key, or "all" for every active conversation.
        which: "last" for the newest open or closed round (an open one gives a partial
            digest), "previous" for the round before it.
        organisation: the organisation's name, for the header.
        now: when the digest is generated.
        rounds: a digest over the conversation's last `rounds` closed rounds.
        since: a digest over the conversation's rounds closed at or after this time.
        up_to_number: only rounds numbered up to this (a closed round's own digest, built
            once it has closed, when a newer round may already be open).
        summariser: the optional language-model summary of the consistency view (scope
            "all" only; off unless configured).

    Returns:
        The digest; a conversation without such a round has status "none". Each
        conversation carries its trends over its last closed rounds (its playbook's
        `trend_rounds`), and scope "all" the standings and the maturity map.

    Raises:
        UserError: the scope names no known conversation, or a range has no closed round.
    """
    if which not in ("last", "previous"):
        raise ValueError(f"which must be 'last' or 'previous', not {which!r}")
    wanted = scope.strip().lower()
    conversations = _conversations_in_scope(session, wanted, scope)
    if rounds is not None or since is not None:
        if wanted == "all" or which != "last":
            raise ValueError("a range digest is of one conversation's last rounds")
        return _range_digest(
            session,
            conversations[0],
            organisation=organisation,
            now=now,
            rounds=rounds,
            since=since,
        )
    offset = 0 if which == "last" else 1
    ids = [c.id for c in conversations]
    recent = newest_rounds(
        session,
        ids,
        statuses=_DIGEST_ROUND_STATUSES,
        depth=offset + 2,
        up_to_number=up_to_number,
    )
    depth = max((trend_rounds(c.spec) for c in conversations), default=DEFAULT_TREND_ROUNDS)
    histories = closed_rounds(session, ids, depth=depth, up_to_number=up_to_number)

    picks: list[tuple[Conversation, Round | None, Round | None]] = []
    for conv in conversations:
        newest = recent.get(conv.id, [])
        chosen = newest[offset] if len(newest) > offset else None
        previous = newest[offset + 1] if len(newest) > offset + 1 else None
        picks.append((conv, chosen, previous))

    round_ids = [r.id for _, c, p in picks for r in (c, p) if r is not None]
    data = _load_round_data(session, round_ids)
    group_keys = {p.group_key for d in data.values() for p in d.people}
    for _, chosen, _ in picks:
        if chosen is not None:
            group_keys.update(_agenda_groups(chosen))
    titles = _group_titles(session, group_keys)

    digests = tuple(
        _conversation_digest(
            conv, chosen, previous, data, titles, history=_trimmed(conv, histories)
        )
        for conv, chosen, previous in picks
    )
    if wanted != "all":  # one conversation's round: its themes (all six: the consistency view)
        digests = tuple(
            d.model_copy(update={"themes": listening.conversation_themes(session, conv, [chosen])})
            if chosen is not None
            else d
            for d, (conv, chosen, _) in zip(digests, picks, strict=True)
        )
    maturity = None
    consistency = None
    standings: tuple[Standing, ...] = ()
    if wanted == "all":
        trimmed = {c.id: _trimmed(c, histories) for c in conversations}
        maturity = strategy.maturity(conversations, trimmed, depth=depth)
        consistency = listening.build(
            session, conversations, trimmed, now=now, summariser=summariser
        )
        group_keys = {k for h in trimmed.values() if h for k in h[0].groups}
        titles.update(_group_titles(session, group_keys - titles.keys()))
        standings = tuple(
            strategy.standing(
                conv,
                trimmed[conv.id],
                open_round_number=next(
                    (r.number for r in recent.get(conv.id, []) if r.status == "open"), None
                ),
                group_titles=titles,
                now=now,
            )
            for conv in conversations
        )
    return Digest(
        scope=wanted,
        organisation=organisation,
        generated_at=now,
        which=which,
        conversations=digests,
        maturity=maturity,
        standings=standings,
        consistency=consistency,
    )


def _trimmed(conv: Conversation, histories: dict[int, list[ClosedRound]]) -> list[ClosedRound]:
    """A conversation's closed rounds, as many as its own `trend_rounds` asks for."""
    return (histories.get(conv.id) or [])[: trend_rounds(conv.spec)]


def _range_digest(
    session: Session,
    conv: Conversation,
    *,
    organisation: str,
    now: datetime,
    rounds: int | None,
    since: datetime | None,
) -> Digest:
    """One conversation over a range of closed rounds: trends, participation, recurring."""
    depth = rounds if rounds is not None else MAX_RANGE_ROUNDS
    history = closed_rounds(session, [conv.id], depth=depth, since=since).get(conv.id, [])
    if not history:
        raise UserError(messages.no_closed_rounds(conv.title, since))
    newest = history[0].round
    before = _recent_rounds_before(session, conv.id, newest)
    data = _load_round_data(session, [r.id for r in (newest, before) if r is not None])
    keys = {p.group_key for d in data.values() for p in d.people} | set(_agenda_groups(newest))
    titles = _group_titles(session, keys)
    digest = _conversation_digest(conv, newest, before, data, titles, history=history)
    themes = listening.conversation_themes(session, conv, [c.round for c in history])
    digest = digest.model_copy(update={"recurring": _recurring(session, history), "themes": themes})
    return Digest(
        scope=conv.key,
        organisation=organisation,
        generated_at=now,
        conversations=(digest,),
        span=DigestSpan(
            how="rounds" if rounds is not None else "since",
            rounds=rounds,
            since=since,
            first_round=history[-1].round.number,
            last_round=newest.number,
        ),
    )


def _recent_rounds_before(session: Session, conversation_id: int, rnd: Round) -> Round | None:
    """The open or closed round just before `rnd` (what its figures are compared with)."""
    stmt = (
        select(Round)
        .where(
            Round.conversation_id == conversation_id,
            Round.number < rnd.number,
            Round.status.in_(_DIGEST_ROUND_STATUSES),
        )
        .order_by(Round.number.desc(), Round.id.desc())
        .limit(1)
    )
    return session.scalars(stmt).first()


def _recurring(session: Session, history: Sequence[ClosedRound]) -> tuple[RecurringChoices, ...]:
    """Each choice and yes/no question of the newest round: its options' counts, all rounds."""
    newest = history[0].round
    choice_questions = [
        q for q in _questions(newest) if kind_of(QuestionType(q["type"])).rollup == "choices"
    ]
    if not choice_questions:
        return ()
    ids = [c.round.id for c in history]
    asked_in: dict[str, int] = defaultdict(int)
    same_type: dict[int, set[str]] = {}
    for c in history:
        by_id = {q["id"]: q["type"] for q in _questions(c.round)}
        same_type[c.round.id] = {
            q["id"] for q in choice_questions if by_id.get(q["id"]) == q["type"]
        }
        for qid in same_type[c.round.id]:
            asked_in[qid] += 1
    replies: dict[str, list[_Reply]] = defaultdict(list)
    rows = session.execute(
        select(Participant.round_id, Answer.question_id, Answer.value)
        .join(Participant, Participant.id == Answer.participant_id)
        .where(
            Participant.round_id.in_(ids),
            Participant.status != "skipped",
            Answer.skipped.is_(False),
            Answer.question_id.in_([q["id"] for q in choice_questions]),
        )
    )
    for row in rows:  # round id, question id, value
        question_id: str = row[1]
        if question_id in same_type.get(row[0], set()):
            replies[question_id].append(_Reply(row[2], False, "", "", 0))
    secret = combine(*(c.secrets for c in history))
    return tuple(
        RecurringChoices(
            question_id=q["id"],
            text=str(q.get("text", q["id"])),
            type=QuestionType(q["type"]),
            counts=_choice_counts(q, replies.get(q["id"], [])),
            rounds=asked_in.get(q["id"], 0),
            confidential=_roles(secret.get(q["id"])),
        )
        for q in choice_questions
    )


def save_digest(
    session: Session, digest: Digest, *, round_id: int | None, requested_by: str | None
) -> int:
    """Keep a built digest in the `digests` table, for history and later comparison.

    Args:
        session: a session inside the caller's transaction.
        digest: the digest to store (as its JSON dump).
        round_id: the round it was built for (a closed round's digest), if any.
        requested_by: the identity that asked for it; None when posted on close.

    Returns:
        The new row's id.
    """
    row = DigestRow(
        round_id=round_id,
        scope=digest.scope,
        requested_by=requested_by,
        created_at=digest.generated_at,
        payload=digest.model_dump(mode="json"),
    )
    session.add(row)
    session.flush()
    return row.id


# --- loading -------------------------------------------------------------------------------


def _conversations_in_scope(session: Session, wanted: str, raw: str) -> list[Conversation]:
    if wanted == "all":
        stmt = select(Conversation).where(Conversation.active).order_by(Conversation.id)
        return list(session.scalars(stmt))
    conv = session.scalars(select(Conversation).where(Conversation.key == wanted)).first()
    if conv is None:
        keys = session.scalars(
            select(Conversation.key).where(Conversation.active).order_by(Conversation.key)
        ).all()
        raise UserError(messages.unknown_conversation(raw.strip()[:40], [*keys, "all"], None))
    return [conv]


def _load_round_data(session: Session, round_ids: Sequence[int]) -> dict[int, _RoundData]:
    """Participants and answers of these rounds: two queries, whatever their number."""
    data: dict[int, _RoundData] = {rid: _RoundData() for rid in round_ids}
    if not round_ids:
        return data
    people = session.execute(
        select(
            Participant.id,
            Participant.round_id,
            Participant.group_key,
            Participant.status,
            Member.display_name,
        )
        .join(Member, Member.id == Participant.member_id)
        .where(Participant.round_id.in_(round_ids))
        .order_by(Participant.id)
    )
    for participant_id, round_id, group_key, status, name in people:
        data[round_id].people.append(_Person(participant_id, group_key, status, name))
    # Answers of someone who then sat the round out are not counted anywhere: they said
    # they would not take part, and the participation line does not count them either.
    replies = session.execute(
        select(
            Participant.round_id,
            Answer.question_id,
            Answer.value,
            Answer.skipped,
            Participant.group_key,
            Member.display_name,
            Participant.id,
        )
        .join(Participant, Participant.id == Answer.participant_id)
        .join(Member, Member.id == Participant.member_id)
        .where(Participant.round_id.in_(round_ids), Participant.status != "skipped")
        .order_by(Answer.answered_at, Answer.id)
    )
    for row in replies:  # round_id, question_id, value, skipped, group_key, name, participant
        reply = _Reply(
            value=row[2], skipped=bool(row[3]), group_key=row[4], name=row[5], participant_id=row[6]
        )
        data[row[0]].replies[row[1]].append(reply)
    return data


def _partly(people: Iterable[_Person], data: _RoundData) -> set[int]:
    """Participants who answered something but did not finish (the round closed on them)."""
    gave = {
        r.participant_id
        for replies in data.replies.values()
        for r in replies
        if not r.skipped and r.value is not None
    }
    return {p.id for p in people if p.status in ("pending", "answering") and p.id in gave}


def _group_titles(session: Session, keys: Iterable[str]) -> dict[str, str]:
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    rows = session.execute(select(Group.key, Group.title).where(Group.key.in_(wanted)))
    return {key: title for key, title in rows}


# --- rolling up ----------------------------------------------------------------------------


def _agenda_groups(rnd: Round) -> list[str]:
    groups = (rnd.agenda or {}).get("groups") or []
    return [g for g in groups if isinstance(g, str)]


def _questions(rnd: Round | None) -> list[dict[str, Any]]:
    if rnd is None:
        return []
    questions = (rnd.agenda or {}).get("questions") or []
    return [
        q
        for q in questions
        if isinstance(q, dict) and isinstance(q.get("id"), str) and q.get("type") in _QUESTION_TYPES
    ]


def _is_anonymous(conv: Conversation, rnd: Round) -> bool:
    # Either the round was run anonymously or the conversation is anonymous now: never
    # reveal names collected under a promise of anonymity, nor after one was made.
    return bool((rnd.agenda or {}).get("anonymous")) or bool((conv.spec or {}).get("anonymous"))


def _conversation_digest(
    conv: Conversation,
    chosen: Round | None,
    previous: Round | None,
    data: dict[int, _RoundData],
    titles: dict[str, str],
    *,
    history: Sequence[ClosedRound] = (),
) -> ConversationDigest:
    if chosen is None:
        return ConversationDigest(
            conversation_key=conv.key,
            title=conv.title,
            round_id=None,
            round_number=None,
            status="none",
            anonymous=bool((conv.spec or {}).get("anonymous")),
        )
    anonymous = _is_anonymous(conv, chosen)
    current = data[chosen.id]
    # Change is measured between closed rounds only: an open round is still filling up,
    # and comparing it with a finished one would read as a fall ("▼ 100 pts").
    if chosen.status != "closed" or previous is None or previous.status != "closed":
        previous = None
    before = data[previous.id] if previous is not None else None
    previous_questions = {q["id"]: q for q in _questions(previous)}
    partly = _partly(current.people, current)
    pooled = anonymous and pooled_groups(chosen, (p.group_key for p in current.people))
    # Compared with the previous round, a question confidential in either is confidential.
    secrets = combine(
        secrets_of(conv.spec, chosen.agenda),
        *([secrets_of(conv.spec, previous.agenda)] if previous is not None else []),
    )
    return ConversationDigest(
        conversation_key=conv.key,
        title=conv.title,
        round_id=chosen.id,
        round_number=chosen.number,
        status="open" if chosen.status == "open" else "closed",
        opened_at=chosen.opened_at,
        deadline=chosen.deadline,
        closed_at=chosen.closed_at,
        anonymous=anonymous,
        invited=len(current.people),
        answered=sum(1 for p in current.people if p.status == "done"),
        partly=len(partly),
        previous_round_number=previous.number if previous is not None else None,
        previous_invited=len(before.people) if before is not None else None,
        previous_answered=(
            sum(1 for p in before.people if p.status == "done") if before is not None else None
        ),
        participation=_participation(chosen, current, titles, anonymous, partly, pooled),
        questions=tuple(
            _question_rollup(
                q, current, before, previous_questions.get(q["id"]), anonymous, pooled, secrets
            )
            for q in _questions(chosen)
        ),
        rounds=tuple(c.point for c in reversed(history)),
        trends=trends(history),
    )


#: The participation row of a pooled anonymous round (see `pooled_groups`).
POOLED = "all-groups"


def pooled_groups(rnd: Round, group_keys: Iterable[str]) -> bool:
    """Whether an anonymous round has a group too small to show on its own.

    A group with fewer people than the conversation's `min_group_size` (default 3) would
    name them through its figures and quotes, so the whole round is shown pooled: one
    participation row for all groups, and text answers without a group.
    """
    sizes: dict[str, int] = {}
    for key in group_keys:
        sizes[key] = sizes.get(key, 0) + 1
    smallest = int((rnd.agenda or {}).get("min_group_size") or 3)
    return any(size < smallest for size in sizes.values())


def _participation(
    rnd: Round,
    current: _RoundData,
    titles: dict[str, str],
    anonymous: bool,
    partly: set[int],
    pooled: bool = False,
) -> tuple[GroupParticipation, ...]:
    by_group: dict[str, list[_Person]] = {key: [] for key in _agenda_groups(rnd)}
    for person in current.people:
        by_group.setdefault(person.group_key, []).append(person)
    if pooled:
        smallest = int((rnd.agenda or {}).get("min_group_size") or 3)
        by_group = {POOLED: [p for people in by_group.values() for p in people]}
        titles = {POOLED: messages.pooled_groups(smallest)}
    out = []
    for key, people in by_group.items():
        missing = () if anonymous else _missing(people, partly)
        out.append(
            GroupParticipation(
                group_key=key,
                title=titles.get(key, key),
                invited=len(people),
                answered=sum(1 for p in people if p.status == "done"),
                partly=sum(1 for p in people if p.id in partly),
                skipped=sum(1 for p in people if p.status == "skipped"),
                missing=missing,
            )
        )
    return tuple(out)


def _missing(people: Iterable[_Person], partly: set[int]) -> tuple[str, ...]:
    names = [p.name for p in people if p.status not in ("done", "skipped") and p.id not in partly]
    return tuple(sorted(names, key=str.casefold))


def _question_rollup(
    question: dict[str, Any],
    current: _RoundData,
    before: _RoundData | None,
    previous_question: dict[str, Any] | None,
    anonymous: bool,
    pooled: bool = False,
    secrets: Secrets | None = None,
) -> QuestionRollup:
    qid: str = question["id"]
    roles = (secrets or {}).get(qid)
    qtype: str = question["type"]
    replies = current.replies.get(qid, [])
    given = [r for r in replies if not r.skipped and r.value is not None]
    # The previous round is comparable only if it asked the same question the same way.
    comparable = (
        before is not None
        and previous_question is not None
        and previous_question.get("type") == qtype
    )
    earlier = before.replies.get(qid, []) if before is not None and comparable else []

    rating: RatingRollup | None = None
    choices: ChoiceRollup | None = None
    numbers: NumberRollup | None = None
    texts: tuple[TextAnswer, ...] = ()
    rollup = kind_of(QuestionType(qtype)).rollup
    match rollup:
        case "rating":
            values = _ratings(given)
            rating = RatingRollup(
                mean=_mean(values),
                count=len(values),
                distribution={score: values.count(score) for score in range(1, 6)},
                labels=_labels(question.get("labels")),
                previous_mean=_mean(_ratings(earlier)) if comparable else None,
            )
        case "choices":
            choices = ChoiceRollup(
                counts=_choice_counts(question, given),
                previous_counts=(
                    _choice_counts(previous_question, earlier)
                    if comparable and previous_question is not None
                    else None
                ),
            )
        case "numbers":
            figures = _figures(given)
            numbers = NumberRollup(
                median=_median(figures),
                low=min(figures) if figures else None,
                high=max(figures) if figures else None,
                count=len(figures),
                unit=question.get("unit"),
                target=question.get("target"),
                better=question.get("better") or "higher",
                previous_median=_median(_figures(earlier)) if comparable else None,
            )
        case "texts":
            texts = tuple(
                TextAnswer(
                    text=r.value.strip(),
                    author=None if anonymous else r.name,
                    group_key=None if pooled else r.group_key,
                )
                for r in given
                if isinstance(r.value, str) and r.value.strip()
            )
            if pooled:  # in the order given, the quotes would line up with the groups
                texts = tuple(sorted(texts, key=lambda t: t.text.casefold()))
        case _:
            assert_never(rollup)
    return QuestionRollup(
        question_id=qid,
        text=str(question.get("text", qid)),
        type=QuestionType(qtype),  # checked against _QUESTION_TYPES in _questions
        answered=len(given),
        skipped=sum(1 for r in replies if r.skipped),
        rating=rating,
        choices=choices,
        numbers=numbers,
        texts=texts,
        confidential=_roles(roles),
    )


def _roles(roles: frozenset[str] | None) -> tuple[str, ...] | None:
    """The model's form of a question's readers: None when it is not confidential."""
    return tuple(sorted(roles)) if roles is not None else None


def _ratings(replies: Iterable[_Reply]) -> list[int]:
    out = []
    for r in replies:
        v = r.value
        if not r.skipped and isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 5:
            out.append(v)
    return out


def _figures(replies: Iterable[_Reply]) -> list[float]:
    return [
        float(r.value)
        for r in replies
        if not r.skipped and isinstance(r.value, int | float) and not isinstance(r.value, bool)
    ]


def _median(values: Sequence[float]) -> float | None:
    return round(statistics.median(values), 4) if values else None


def _mean(values: Sequence[float]) -> float | None:
    return round(sum(values) / len(values), 2) if values else None


def _labels(raw: Any) -> dict[int, str]:
    out: dict[int, str] = {}
    if isinstance(raw, dict):
        for key, label in raw.items():
            try:
                score = int(key)
            except (TypeError, ValueError):
                continue
            if 1 <= score <= 5 and isinstance(label, str):
                out[score] = label
    return dict(sorted(out.items()))


def _choice_counts(question: dict[str, Any], replies: Iterable[_Reply]) -> dict[str, int]:
    """Counts per option, every option present (zero included), in the agenda's order."""
    if question.get("type") == "yes_no":
        options = ["yes", "no"]
    else:
        options = [o for o in question.get("options") or [] if isinstance(o, str)]
    tally: Counter[str] = Counter()
    for r in replies:
        if r.skipped or r.value is None:
            continue
        if isinstance(r.value, bool):
            tally["yes" if r.value else "no"] += 1
        elif isinstance(r.value, list):
            tally.update({v for v in r.value if isinstance(v, str)})
        elif isinstance(r.value, str):
            tally[r.value] += 1
    counts = {option: tally.pop(option, 0) for option in options}
    counts.update(sorted(tally.items()))  # values no longer in the agenda are still counted
    return counts
