"""The consistency view: where the six conversations meet, hand over, disagree or go quiet.

Seed 001: "Marketing may lead the social media strategy but who should make sure it's
consistent with support, innovation, and networking?" The CIO does, and needs to see:

- **topics in two or more conversations**, side by side (the themes of
  `bot.flows.themes` over every conversation's latest closed round);
- **hand-offs**: something raised in one conversation in the words of another's area
  (the playbook's `area` per conversation), "raised in Social Innovation, belongs to Social
  Liability";
- **divergence**: the same maturity axis, or a rating question with the same id, whose
  means in different conversations are `DIVERGENCE` points or more apart; and one
  conversation's groups rating a question that far apart (in an anonymous conversation only
  groups of `MIN_GROUP_ANSWERS` or more answers are compared, so nobody's rating shows);
- **gaps**: a conversation with no closed round in `OVERDUE_PERIODS` cadence periods, a
  group that answered nothing in its conversation's last two closed rounds.

Confidential questions (`bot.flows.confidential`) are left out of all of it: this view is
built once for everyone it reaches, so their answers are never a theme, a quote, a hand-off,
a divergence or part of the summary sent to a language model.

Only closed rounds count, as everywhere in the strategy view. Cost: one query for the
answers of each conversation's latest closed round and one for group titles; the rest is
in memory.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import messages
from bot.flows import strategy
from bot.flows.confidential import secrets_of
from bot.flows.consistency_model import Across, Consistency, Divergence, Figure, Gap, Handoff
from bot.flows.history import ClosedRound, name_of
from bot.flows.summary import Excerpt, Summariser, SummaryUnavailable
from bot.flows.themes import Said, excerpt, find_themes, words
from bot.flows.themes_model import Theme, ThemeQuote
from storage.models import Answer, Conversation, Group, Member, Participant, Round

#: Means this far apart (on the 1-5 scale) are a divergence.
DIVERGENCE = 1.5
#: In an anonymous conversation a group's mean is shown only from this many answers.
MIN_GROUP_ANSWERS = 3
#: Themes listed across all six, and topics shown across conversations, at most.
THEMES = 8
ACROSS = 8
#: A conversation's themes over a range read at most this many of its newest text answers.
MAX_THEME_ANSWERS = 10_000
#: Quotes per hand-off.
HANDOFF_QUOTES = 3
OVERDUE_PERIODS = strategy.OVERDUE_PERIODS
_AXES = {"internal": messages.MATURITY_AXIS_INTERNAL, "external": messages.MATURITY_AXIS_EXTERNAL}


def build(
    session: Session,
    conversations: Sequence[Conversation],
    histories: dict[int, list[ClosedRound]],
    *,
    now: datetime,
    summariser: Summariser | None = None,
) -> Consistency:
    """The consistency view over these conversations' closed rounds.

    Args:
        session: an open session; only read from.
        conversations: the active conversations, in the playbook's order.
        histories: conversation id -> its closed rounds, newest first.
        now: the time of the digest (for "overdue").
        summariser: when configured, a language model's few sentences on the answers
            (sent with no identity); without one, or when it fails, the themes alone.
    """
    latest = {c.id: histories[c.id][0] for c in conversations if histories.get(c.id)}
    rows = _answers(session, [r.round.id for r in latest.values()])
    keys = {row["group"] for row in rows}
    for h in histories.values():
        for closed in h[:2]:
            keys.update(closed.groups)
    titles = _group_titles(session, keys)
    by_id = {c.id: c for c in conversations}
    said = _said(rows, {r.round.id: (by_id[cid], r.round) for cid, r in latest.items()}, titles)
    themes = find_themes(said, limit=THEMES)
    across = [t for t in find_themes(said, limit=THEMES * 3) if len(t.conversations) >= 2]
    summary: dict[str, Any] = {}
    if summariser is not None and said:
        summary = _summary(summariser, said)
    return Consistency(
        **summary,
        rounds=tuple((by_id[cid].key, r.round.number) for cid, r in latest.items()),
        themes=themes,
        across=tuple(
            Across(
                id=f"across:{t.key}",
                theme=t,
                action=messages.action_across(t.label, t.conversation_titles),
            )
            for t in across[:ACROSS]
        ),
        handoffs=tuple(_handoffs(said, conversations)),
        divergences=tuple(_divergences(conversations, latest, rows, titles)),
        gaps=tuple(_gaps(conversations, histories, titles, now)),
    )


def _summary(summariser: Summariser, said: Sequence[Said]) -> dict[str, Any]:
    # Only the conversation's title and the words: no name, no group, for everyone.
    excerpts = [Excerpt(conversation=s.conversation_title, text=s.text) for s in said]
    try:
        text = summariser.summarise(excerpts)
    except SummaryUnavailable:
        return {"summary_source": summariser.source, "summary_failed": True}
    return {"summary": text, "summary_source": summariser.source}


# --- loading -------------------------------------------------------------------------------


def _answers(session: Session, round_ids: Sequence[int]) -> list[dict[str, Any]]:
    """Every answer given in these rounds (not by someone who sat the round out)."""
    if not round_ids:
        return []
    stmt = (
        select(
            Participant.round_id,
            Participant.id,
            Participant.group_key,
            Member.id,
            Member.display_name,
            Answer.question_id,
            Answer.value,
        )
        .join(Participant, Participant.id == Answer.participant_id)
        .join(Member, Member.id == Participant.member_id)
        .where(
            Participant.round_id.in_(round_ids),
            Participant.status != "skipped",
            Answer.skipped.is_(False),
        )
        .order_by(Participant.round_id, Answer.answered_at, Answer.id)
    )
    return [
        {
            "round": r[0],
            "participant": r[1],
            "group": r[2],
            "member": r[3],
            "name": r[4],
            "question": r[5],
            "value": r[6],
        }
        for r in session.execute(stmt)
    ]


def _group_titles(session: Session, keys: set[str]) -> dict[str, str]:
    if not keys:
        return {}
    rows = session.execute(select(Group.key, Group.title).where(Group.key.in_(sorted(keys))))
    return {key: title for key, title in rows}


def _agenda(rnd: Round) -> dict[str, dict[str, Any]]:
    questions = (rnd.agenda or {}).get("questions") or []
    return {q["id"]: q for q in questions if isinstance(q, dict) and isinstance(q.get("id"), str)}


def _anonymous(conv: Conversation, rnd: Round) -> bool:
    # As the digest: anonymous if the round was run so or the conversation is so now.
    return bool((rnd.agenda or {}).get("anonymous")) or bool((conv.spec or {}).get("anonymous"))


def _said(
    rows: Sequence[dict[str, Any]],
    by_round: dict[int, tuple[Conversation, Round]],
    titles: dict[str, str],
) -> list[Said]:
    agendas = {rid: _agenda(rnd) for rid, (_, rnd) in by_round.items()}
    # A confidential answer is never a theme's, a hand-off's or the summary's: those are
    # read by everyone the view reaches, and quote (`bot.flows.confidential`).
    secrets = {rid: secrets_of(conv.spec, rnd.agenda) for rid, (conv, rnd) in by_round.items()}
    out = []
    for row in rows:
        conv, rnd = by_round[row["round"]]
        question = agendas[row["round"]].get(row["question"])
        if question is None or question.get("type") != "text":
            continue
        if row["question"] in secrets[row["round"]]:
            continue
        if not isinstance(row["value"], str) or not row["value"].strip():
            continue
        anonymous = _anonymous(conv, rnd)
        out.append(
            Said(
                text=row["value"],
                # Tells people apart only; never shown (an anonymous quote has no author).
                person=f"m{row['member']}",
                conversation_key=conv.key,
                conversation_title=conv.title,
                question_id=row["question"],
                question_text=str(question.get("text", "")),
                # Anonymous: no group either (a group may be one person).
                group_key=None if anonymous else row["group"],
                group_title=None if anonymous else titles.get(row["group"], row["group"]),
                author=None if anonymous else row["name"],
                round_number=rnd.number,
            )
        )
    return out


def conversation_themes(
    session: Session, conv: Conversation, rounds: Sequence[Round], *, limit: int = THEMES
) -> tuple[Theme, ...]:
    """The themes of one conversation's text answers in these rounds (a round, or a range).

    Two queries (the answers, the group titles), whatever the number of rounds. A range
    reads the newest `MAX_THEME_ANSWERS` text answers at most, so a digest over 50 rounds
    of a large organisation stays quick (`bench/themes.py` times 100,000).
    """
    rows = _answers(session, [r.id for r in rounds])
    titles = _group_titles(session, {row["group"] for row in rows})
    said = _said(rows, {r.id: (conv, r) for r in rounds}, titles)
    if len(said) > MAX_THEME_ANSWERS:
        said = sorted(said, key=lambda s: -(s.round_number or 0))[:MAX_THEME_ANSWERS]
    return find_themes(said, limit=limit)


# --- hand-offs -----------------------------------------------------------------------------


def _keys(phrase: str) -> tuple[str, ...]:
    return tuple(t.key for t in words(phrase))


def _area(conv: Conversation) -> list[tuple[str, tuple[str, ...]]]:
    area = (conv.spec or {}).get("area") or []
    out = []
    for word in area:
        if isinstance(word, str) and _keys(word):
            out.append((word, _keys(word)))
    return out


def _find(tokens: Sequence[Any], phrase: tuple[str, ...]) -> tuple[int, int] | None:
    """Where a phrase's words (folded alike) first stand together in an answer's words."""
    n = len(phrase)
    for i in range(len(tokens) - n + 1):
        if all(tokens[i + j].key == phrase[j] for j in range(n)):
            return tokens[i].start, tokens[i + n - 1].end
    return None


def _handoffs(said: Sequence[Said], conversations: Sequence[Conversation]) -> list[Handoff]:
    """What one conversation raised in the words of another's area, per pair."""
    areas = {c.key: _area(c) for c in conversations}
    titles = {c.key: c.title for c in conversations}
    own_words = {key: {k for _, k in area} for key, area in areas.items()}
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for answer in said:
        tokens = words(answer.text)
        for target in conversations:
            if target.key == answer.conversation_key:
                continue
            for word, phrase in areas[target.key]:
                if phrase in own_words.get(answer.conversation_key, set()):
                    continue  # both conversations' area: not a hand-off
                place = _find(tokens, phrase)
                if place is None:
                    continue
                pair = (answer.conversation_key, target.key)
                entry = found.setdefault(pair, {"words": [], "people": set(), "quotes": []})
                if word not in entry["words"]:
                    entry["words"].append(word)
                entry["people"].add(answer.person)
                quoted = {q[0] for q in entry["quotes"]}
                if answer.person not in quoted and len(entry["quotes"]) < HANDOFF_QUOTES:
                    entry["quotes"].append((answer.person, answer, place))
    order = {c.key: n for n, c in enumerate(conversations)}
    out = []
    ranked = sorted(
        found.items(),
        key=lambda item: (-len(item[1]["people"]), order[item[0][0]], order[item[0][1]]),
    )
    for (source, to), entry in ranked:
        out.append(
            Handoff(
                id=f"handoff:{source}:{to}",
                from_key=source,
                from_title=titles[source],
                to_key=to,
                to_title=titles[to],
                words=tuple(entry["words"]),
                people=len(entry["people"]),
                quotes=tuple(
                    ThemeQuote(
                        text=excerpt(a.text, start, end),
                        author=a.author,
                        conversation_key=a.conversation_key,
                        conversation_title=a.conversation_title,
                        group_title=a.group_title,
                    )
                    for _, a, (start, end) in entry["quotes"]
                ),
                action=messages.action_handoff(titles[source], titles[to]),
            )
        )
    return out


# --- divergence ----------------------------------------------------------------------------


def _divergences(
    conversations: Sequence[Conversation],
    latest: dict[int, ClosedRound],
    rows: Sequence[dict[str, Any]],
    titles: dict[str, str],
) -> list[Divergence]:
    out: list[Divergence] = []
    placed = [(c, latest[c.id]) for c in conversations if c.id in latest]
    # The same maturity axis, conversation by conversation.
    for axis, label in _AXES.items():
        figures = [
            Figure(key=c.key, title=c.title, value=v, round_number=r.round.number)
            for c, r in placed
            if (v := getattr(r.point, axis)) is not None
        ]
        item = _spread(f"divergence:maturity-{axis}", "conversations", label, figures)
        if item is not None:
            out.append(item)
    # A rating question with the same id in several conversations (not a maturity one).
    shared: dict[str, list[Figure]] = defaultdict(list)
    names: dict[str, str] = {}
    for c, r in placed:
        for qid, q in _agenda(r.round).items():
            value = r.figures.get(qid)
            if q.get("type") != "rating" or q.get("maturity") or value is None:
                continue
            shared[qid].append(
                Figure(key=c.key, title=c.title, value=value, round_number=r.round.number)
            )
            names.setdefault(qid, name_of(q))
    for qid in sorted(shared):
        if len(shared[qid]) >= 2:
            item = _spread(f"divergence:{qid}", "conversations", names[qid], shared[qid])
            if item is not None:
                out.append(item)
    # One conversation's groups rating the same question far apart.
    by_round: dict[int, dict[tuple[str, str], list[int]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        v = row["value"]
        if isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 5:
            by_round[row["round"]][(row["question"], row["group"])].append(v)
    for c, r in placed:
        agenda = _agenda(r.round)
        least = MIN_GROUP_ANSWERS if _anonymous(c, r.round) else 1
        per_question: dict[str, list[Figure]] = defaultdict(list)
        for (qid, group), values in sorted(by_round[r.round.id].items()):
            asked = agenda.get(qid)
            if asked is None or asked.get("type") != "rating" or len(values) < least:
                continue
            if qid in r.secrets:  # a confidential rating's figures are not shown across
                continue
            per_question[qid].append(
                Figure(
                    key=group,
                    title=titles.get(group, group),
                    value=round(sum(values) / len(values), 2),
                    round_number=r.round.number,
                )
            )
        for qid, figures in per_question.items():
            if len(figures) < 2:
                continue
            item = _spread(
                f"divergence:{c.key}:{qid}:groups", "groups", name_of(agenda[qid]), figures, c
            )
            if item is not None:
                out.append(item)
    return out


def _spread(
    item_id: str,
    kind: str,
    what: str,
    figures: Sequence[Figure],
    conv: Conversation | None = None,
) -> Divergence | None:
    if len(figures) < 2:
        return None
    ordered = sorted(figures, key=lambda f: (-f.value, f.title))
    spread = round(ordered[0].value - ordered[-1].value, 2)
    if spread < DIVERGENCE:
        return None
    high, low = ordered[0].title, ordered[-1].title
    action = (
        messages.action_divergence_groups(what, conv.title, high, low)
        if conv is not None
        else messages.action_divergence(what, high, low)
    )
    return Divergence(
        id=item_id,
        kind="groups" if kind == "groups" else "conversations",
        what=what,
        conversation_key=conv.key if conv is not None else None,
        conversation_title=conv.title if conv is not None else None,
        figures=tuple(ordered),
        spread=spread,
        action=action,
    )


# --- gaps ----------------------------------------------------------------------------------


def _gaps(
    conversations: Sequence[Conversation],
    histories: dict[int, list[ClosedRound]],
    titles: dict[str, str],
    now: datetime,
) -> list[Gap]:
    out = []
    for c in conversations:
        history = histories.get(c.id) or []
        overdue = strategy.overdue(c, history[0] if history else None, now)
        if overdue is not None:
            out.append(
                Gap(
                    id=f"gap:overdue:{c.key}",
                    kind="overdue",
                    conversation_key=c.key,
                    conversation_title=c.title,
                    since=overdue.since,
                    periods=overdue.periods,
                    action=messages.action_overdue(c.title, c.key),
                )
            )
        if len(history) < 2:
            continue
        last_two = history[:2]
        for group in sorted(set(last_two[0].groups) & set(last_two[1].groups)):
            asked = [r.groups[group] for r in last_two]
            if all(invited and not answered for invited, answered in asked):
                title = titles.get(group, group)
                out.append(
                    Gap(
                        id=f"gap:absent:{c.key}:{group}",
                        kind="absent_group",
                        conversation_key=c.key,
                        conversation_title=c.title,
                        group_key=group,
                        group_title=title,
                        rounds=tuple(sorted(r.round.number for r in last_two)),
                        action=messages.action_absent(title, c.title),
                    )
                )
    return out
