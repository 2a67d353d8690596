"""Confidential questions: only the roles a playbook names read their answers.

A conversation, or one question, may say `confidential: [cio, general_counsel]` (the
playbook's roles; `bot.playbook.model.Roles`). Its answers are then read only by the
holders of those roles, one at a time, in their own chat, and every such reading is in
the audit log; everyone else, and every place several people read, sees how many
answered and skipped, nothing more. Why each rule:

- **Counts only, for every type.** A text answer is someone's words; a rating's mean,
  a measure's median or a choice's tally is what they said too, in figures (two people
  answered: the mean tells each one's rating to the other). So a withheld question shows
  its type, "N answered" and "N skipped", and nothing it would take an answer to compute.
- **Never in a shared place.** A digest posted in the CIO channel (at close, or asked for
  there) is read by whoever is in the channel, not only the CIO, so it carries counts,
  and a line saying who can read the answers and how: “digest <conversation>” in their
  own chat with the bot. Someone entitled who asks in the channel is also sent their
  view privately (their own chat, or Slack's reply only they see).
- **Per viewer, per question.** A question is shown in full to a viewer holding one of
  its roles (`may_read`); the CIO not named and admins are no exception. A holder of a
  role of the playbook's own who is neither the CIO nor an admin may ask for the digest
  of a conversation that names their role, and sees only what is confidential to them
  there, with its participation as counts: the role grants reading those answers, not
  the CIO's other reading.
- **Audited.** Each view that showed a confidential answer writes one audit entry per
  conversation and round it showed ("read confidential answers", who, on which platform,
  the round and the questions), in the transaction that queues the view.
- **Nowhere else.** Themes, the consistency view, what-we-heard, the language-model
  summary and every figure across conversations (the maturity map, standings, "needs
  you", `history`, divergences) leave confidential questions out whoever reads them, so
  no aggregate carries what the digest withholds: they are built once for everyone.
- **The promise made counts.** A round keeps the agenda it was asked with; a question is
  confidential if its round's agenda or the playbook now says so, and then readable only
  by the roles both name (a list narrowed today applies to old rounds at once, a list
  widened today does not reach answers given under the narrower one). A role the
  playbook no longer has is held by nobody.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from bot import messages
from bot.errors import UserError
from bot.flows.digest_model import ConversationDigest, Digest, QuestionRollup
from bot.flows.events import InboundEvent
from bot.flows.outbound import DigestMessage, OutboundMessage
from bot.flows.roles import Role, roles_of
from bot.playbook.model import Playbook

#: The audit log's action for a view that showed confidential answers.
AUDIT_ACTION = "read confidential answers"

#: question id -> the roles that may read its answers (only confidential questions).
Secrets = dict[str, frozenset[str]]


def _listed(value: Any) -> frozenset[str] | None:
    if isinstance(value, list | tuple) and value:
        return frozenset(v for v in value if isinstance(v, str))
    return None


def _of_spec(spec: Mapping[str, Any] | None, question_ids: Iterable[str]) -> Secrets:
    """What one conversation spec (the playbook's, or a round's agenda) makes confidential."""
    if not spec:
        return {}
    whole = _listed(spec.get("confidential"))
    own: dict[str, frozenset[str] | None] = {}
    for q in spec.get("questions") or []:
        if isinstance(q, dict) and isinstance(q.get("id"), str):
            own[q["id"]] = _listed(q.get("confidential"))
    out: Secrets = {}
    for qid in question_ids:
        roles = own.get(qid) or whole  # a question's own list wins over the conversation's
        if roles is not None:
            out[qid] = roles
    return out


def combine(*maps: Secrets) -> Secrets:
    """Several sources' confidential questions: any one makes it so, with the roles all name."""
    out: Secrets = {}
    for secrets in maps:
        for qid, roles in secrets.items():
            out[qid] = out[qid] & roles if qid in out else roles
    return out


def question_ids(agenda: Mapping[str, Any] | None) -> list[str]:
    """The question ids of a round's agenda, in its order."""
    return [
        q["id"]
        for q in (agenda or {}).get("questions") or []
        if isinstance(q, dict) and isinstance(q.get("id"), str)
    ]


def secrets_of(spec: Mapping[str, Any] | None, agenda: Mapping[str, Any] | None) -> Secrets:
    """The confidential questions of a round: its agenda's, and the playbook's now.

    Args:
        spec: the conversation as the playbook says now (`Conversation.spec`).
        agenda: the round's snapshot of it (`Round.agenda`).
    """
    ids = question_ids(agenda)
    return combine(_of_spec(agenda, ids), _of_spec(spec, ids))


class _Turn(Protocol):
    """What delivery needs of `bot.flows.turn.Turn` (which imports this module's users)."""

    playbook: Playbook

    def audit(self, actor: str, action: str, target: str, **detail: object) -> None: ...


@dataclass(frozen=True)
class Viewer:
    """Who a view is for: the roles they hold, and whether they read digests at all."""

    actor: str
    roles: frozenset[str]
    reader: bool


def viewer_of(playbook: Playbook, actor: str) -> Viewer:
    """The viewer an identity is, from the playbook's roles."""
    return Viewer(
        actor=actor,
        roles=playbook.roles.held_by(actor),
        reader=Role.READER in roles_of(playbook, actor),
    )


def may_read(viewer: Viewer | None, roles: Iterable[str]) -> bool:
    """Whether this viewer may read answers confidential to these roles (None: a channel)."""
    return viewer is not None and bool(viewer.roles & set(roles))


def may_ask(playbook: Playbook, actor: str) -> bool:
    """Whether a holder of a role of the playbook's own may ask for a digest (`digest`)."""
    return bool(playbook.roles.held_by(actor) - {"cio", "admins"})


def confidential_to(playbook: Playbook, actor: str) -> list[str]:
    """The conversations whose answers (some or all) this identity may read as confidential."""
    held = playbook.roles.held_by(actor)
    return [conv.key for conv in playbook.conversations if held & conv.all_confidential()]


def check_scope(playbook: Playbook, actor: str, scope: str) -> None:
    """A viewer who is not a reader asks only for a conversation confidential to them.

    Raises:
        UserError: `all`, or a conversation none of their roles reads.
    """
    mine = confidential_to(playbook, actor)
    if scope not in mine:
        raise UserError(messages.confidential_scope(mine))


@dataclass(frozen=True)
class Reading:
    """Confidential answers one view showed: of which conversation, round and questions."""

    conversation_key: str
    rounds: str  # "4", or "2-6" over a range
    question_ids: tuple[str, ...]


def counts_only(q: QuestionRollup) -> QuestionRollup:
    """A question as someone not entitled sees it: its type, answered and skipped."""
    return q.model_copy(
        update={"rating": None, "choices": None, "numbers": None, "texts": (), "withheld": True}
    )


def has_secrets(digest: Digest) -> bool:
    """Whether anything in the digest is confidential (a view must then be chosen)."""
    return any(
        any(q.confidential is not None for q in c.questions)
        or any(t.confidential is not None for t in c.trends)
        or any(r.confidential is not None for r in c.recurring)
        for c in digest.conversations
    )


def view(digest: Digest, viewer: Viewer | None) -> tuple[Digest, list[Reading]]:
    """The digest as this viewer may read it, and the confidential answers it shows them.

    Args:
        digest: the digest as built (everything in it).
        viewer: who reads it in their own chat; None for a place several people read (the
            CIO channel), which sees no confidential answer.

    Returns:
        The view, and one `Reading` per conversation whose confidential answers it shows
        (to be audited).
    """
    reader = viewer is None or viewer.reader
    if reader and not has_secrets(digest):
        return digest, []
    readings: list[Reading] = []
    conversations = []
    for c in digest.conversations:
        shown, reading = _conversation_view(c, viewer, reader, digest)
        conversations.append(shown)
        if reading is not None:
            readings.append(reading)
    update: dict[str, Any] = {"conversations": tuple(conversations)}
    if not reader:  # the CIO's reading across the six is not theirs
        update.update(maturity=None, standings=(), consistency=None)
    return digest.model_copy(update=update), readings


def _conversation_view(
    c: ConversationDigest, viewer: Viewer | None, reader: bool, digest: Digest
) -> tuple[ConversationDigest, Reading | None]:
    questions: list[QuestionRollup] = []
    revealed: list[str] = []
    withheld_roles: set[str] = set()
    withheld = 0
    for q in c.questions:
        if q.confidential is not None and may_read(viewer, q.confidential):
            questions.append(q)
            revealed.append(q.question_id)
        elif q.confidential is not None:
            questions.append(counts_only(q))
            withheld += 1
            withheld_roles.update(q.confidential)
        elif reader:
            questions.append(q)
    trends = tuple(t for t in c.trends if _shown(t.confidential, viewer, reader))
    recurring = tuple(r for r in c.recurring if _shown(r.confidential, viewer, reader))
    revealed += [t.question_id for t in trends if t.confidential is not None]
    revealed += [r.question_id for r in recurring if r.confidential is not None]
    update: dict[str, Any] = {
        "questions": tuple(questions),
        "trends": trends,
        "recurring": recurring,
        "withheld": withheld,
        "withheld_roles": tuple(sorted(withheld_roles)),
        "revealed": tuple(dict.fromkeys(revealed)),
    }
    if not reader:  # names of who did not answer, and the themes, are the CIO's reading
        silent = tuple(p.model_copy(update={"missing": ()}) for p in c.participation)
        update["participation"] = silent
        update["themes"] = ()
    reading = None
    if revealed:
        span = digest.span
        rounds = (
            f"{span.first_round}-{span.last_round}"
            if span is not None
            else str(c.round_number or "")
        )
        reading = Reading(c.conversation_key, rounds, tuple(dict.fromkeys(revealed)))
    return c.model_copy(update=update), reading


def _shown(roles: tuple[str, ...] | None, viewer: Viewer | None, reader: bool) -> bool:
    """Whether a trend or a range's choices are in the view (they are figures: all or none)."""
    return may_read(viewer, roles) if roles is not None else reader


def channel_view(digest: Digest) -> Digest:
    """The digest as a place several people read sees it: no confidential answer."""
    return view(digest, None)[0]


def audit(turn: _Turn, actor: str, readings: Iterable[Reading]) -> None:
    """One audit entry per conversation and round whose confidential answers were shown."""
    platform = actor.split(":", 1)[0]
    for r in readings:
        turn.audit(
            actor,
            AUDIT_ACTION,
            r.conversation_key,
            platform=platform,
            round=r.rounds,
            questions=", ".join(r.question_ids),
        )


def deliveries(
    turn: _Turn, event: InboundEvent, message: OutboundMessage, address: str
) -> list[tuple[str, OutboundMessage, str]]:
    """Where a reply goes, as whom it may be read there: (address, message, key suffix).

    A digest going to the asker alone (their own chat, or Slack's reply only they see) is
    their view, audited if it shows confidential answers; one going to a shared place
    (the CIO channel) is the channel's view, and an asker entitled to more also gets
    their view privately. Every other reply goes as it is.
    """
    if not isinstance(message, DigestMessage):
        return [(address, message, "")]
    viewer = viewer_of(turn.playbook, event.actor)
    private = address in (event.actor, event.private_reply)
    if private:
        shown, readings = view(message.digest, viewer)
        audit(turn, event.actor, readings)
        return [(address, DigestMessage(digest=shown), "")]
    out: list[tuple[str, OutboundMessage, str]] = [
        (address, DigestMessage(digest=channel_view(message.digest)), "")
    ]
    mine, readings = view(message.digest, viewer)
    if readings:
        audit(turn, event.actor, readings)
        out.append((event.private_reply or event.actor, DigestMessage(digest=mine), ":private"))
    return out
