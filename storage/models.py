"""The tables. Unique constraints carry the product's invariants.

- `Round` is unique per (conversation, scheduled_for): a round opens once per scheduled time,
  whatever retries, restarts or replicas do.
- `Participant` is unique per (round, member) and `OutboxMessage.idempotency_key` is unique:
  each stakeholder gets each prompt once per round.
- `InboundEvent` is unique per (platform, event_id): a platform's retry changes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Refuse naive values; store UTC (naive on SQLite, which has no zone type)."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Read back an aware UTC datetime."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Declarative base with a JSON type map."""

    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, datetime: UTCDateTime}


class Group(Base):
    """A stakeholder group, synchronised from the playbook."""

    __tablename__ = "groups"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(100))


class Member(Base):
    """A person the bot can prompt, by platform identity (`slack:U0123`, `console:maria`)."""

    __tablename__ = "members"
    id: Mapped[int] = mapped_column(primary_key=True)
    identity: Mapped[str] = mapped_column(String(210), unique=True)
    display_name: Mapped[str] = mapped_column(String(80))
    timezone: Mapped[str | None] = mapped_column(String(64))
    # Why the platform cannot reach this person (not installed, deactivated...), if known.
    unreachable_reason: Mapped[str | None] = mapped_column(String(200))
    # When a chat directory last answered for this person (Slack users.info, or
    # users.lookupByEmail for an `email:` member); None if never. Profiles are read again
    # only when this is older than `bot.flows.directory.PROFILE_MAX_AGE`.
    directory_checked_at: Mapped[datetime | None]


class GroupMember(Base):
    """Membership of a member in a group.

    `source` says who put it there: None for the playbook's own `members` (kept by
    `sync_playbook`, never removed by a directory refresh), a playbook source such as
    `slack:usergroup:S0123` for people read from it, or `email:ana@example.com` for the
    chat user that playbook address was resolved to. One row per (group, member): a person
    both listed and in a source is held by the listing.
    """

    __tablename__ = "group_members"
    __table_args__ = (UniqueConstraint("group_id", "member_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    source: Mapped[str | None] = mapped_column(String(210))


class Conversation(Base):
    """A strategy conversation and its live settings.

    The agenda and defaults come from the playbook; `cadence_override` and `paused` are set
    in chat by admins and survive restarts and playbook reloads.
    """

    __tablename__ = "conversations"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(80))
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)  # the playbook entry, as JSON
    cadence: Mapped[str] = mapped_column(String(200))
    cadence_override: Mapped[str | None] = mapped_column(String(200))
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)  # still in the playbook
    # When the conversation came under the bot's care: first synchronised from the
    # playbook, or resumed, re-scheduled or re-added since. Rounds are owed only for
    # scheduled times from then on: the missed-round catch-up never opens or records one
    # from before (see `bot.scheduling.scheduler`).
    scheduled_since: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def effective_cadence(self) -> str:
        """The cadence in force: an admin's override, else the playbook's."""
        return self.cadence_override or self.cadence


class Round(Base):
    """One round of a conversation: opened once per scheduled time."""

    __tablename__ = "rounds"
    __table_args__ = (
        UniqueConstraint("conversation_id", "scheduled_for", name="uq_round_per_schedule"),
        Index("ix_rounds_status_deadline", "status", "deadline"),
        Index("ix_rounds_pending_work", "pending_work"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"))
    number: Mapped[int] = mapped_column(Integer)  # 1, 2, 3... within the conversation
    scheduled_for: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(12))  # open | closed | missed
    trigger: Mapped[str] = mapped_column(String(12))  # schedule | manual | catch-up
    opened_by: Mapped[str | None] = mapped_column(String(210))
    opened_at: Mapped[datetime | None]
    deadline: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    close_reason: Mapped[str | None] = mapped_column(String(40))
    agenda: Mapped[dict[str, Any]] = mapped_column(JSON)  # snapshot of the conversation spec
    # What is left of a big round's opening or closing, written in short chunks so clicks
    # are answered meanwhile (`bot.flows.rounds`): "open" (participants and their prompts
    # are still being written), "close" (closed notices and the digest), or None.
    pending_work: Mapped[str | None] = mapped_column(String(8))
    # How far that work got: the last member id (open) or participant id (close) done, so
    # a crash resumes at the next chunk.
    work_cursor: Mapped[int | None] = mapped_column(Integer)
    # Set when a retention purge deleted the round's answers: the figures computed from
    # them (who answered part, each rating's mean and measure's median), so its trend
    # points stay readable (`bot.flows.retention`, `bot.flows.history`).
    kept_figures: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    conversation: Mapped[Conversation] = relationship()


class Participant(Base):
    """A member's progress through one round.

    `prompt_due_at` is set while the opening prompt is held for the participant's local
    time of day (playbook `local_time`), and cleared once it is queued or shown to them.
    The prompt waits here rather than as a future row in the outbox, because the outbox
    delivers each destination in order: a held row would hold back everything else to
    that person (replies, other rounds' prompts) until their morning.
    """

    __tablename__ = "participants"
    __table_args__ = (
        UniqueConstraint("round_id", "member_id", name="uq_participant"),
        Index("ix_participants_member_status", "member_id", "status"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    group_key: Mapped[str] = mapped_column(String(40))
    # pending: prompted, nothing answered; answering; done; skipped (the whole round)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    current_question: Mapped[int] = mapped_column(Integer, default=0)
    snoozed_until: Mapped[datetime | None]
    reminders_sent: Mapped[int] = mapped_column(Integer, default=0)
    last_reminded_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    # When the held opening prompt is due (see above); None when it was sent, or shown by
    # `mine`, or never held. Rows with a value have not been prompted yet.
    prompt_due_at: Mapped[datetime | None]
    # When a question of this round was last shown to the member as the one to answer.
    # A member answers one round at a time: of their unfinished participations in open
    # rounds, the one shown most recently is current, and a typed reply answers it. None
    # while the round waits its turn (announced, not asked) or is held for local time.
    shown_at: Mapped[datetime | None]
    round: Mapped[Round] = relationship()
    member: Mapped[Member] = relationship()


class Answer(Base):
    """A participant's answer to one question; edits bump `revision` and keep history."""

    __tablename__ = "answers"
    __table_args__ = (UniqueConstraint("participant_id", "question_id", name="uq_answer"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id", ondelete="CASCADE"))
    question_id: Mapped[str] = mapped_column(String(40))
    value: Mapped[Any] = mapped_column(JSON)  # str | int | bool | list[str] | None when skipped
    skipped: Mapped[bool] = mapped_column(Boolean, default=False)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    answered_at: Mapped[datetime] = mapped_column(default=utcnow)


class AnswerRevision(Base):
    """Earlier values of an edited answer."""

    __tablename__ = "answer_revisions"
    id: Mapped[int] = mapped_column(primary_key=True)
    answer_id: Mapped[int] = mapped_column(ForeignKey("answers.id", ondelete="CASCADE"))
    revision: Mapped[int] = mapped_column(Integer)
    value: Mapped[Any] = mapped_column(JSON)
    skipped: Mapped[bool] = mapped_column(Boolean, default=False)
    answered_at: Mapped[datetime]


class OutboxMessage(Base):
    """A message to deliver, written before any attempt, delivered by the outbox worker."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        Index("ix_outbox_destination", "destination", "id"),  # per-destination ordering
        # The claim reads due rows in id order and stops at its limit (SQLite, see
        # `bot.delivery.outbox`), instead of sorting every due row of a big backlog.
        Index("ix_outbox_claim", "status", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    platform: Mapped[str] = mapped_column(String(16))
    destination: Mapped[str] = mapped_column(String(210))  # a platform:id address
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    # pending | sending | sent | failed (permanent)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(300))
    platform_message_id: Mapped[str | None] = mapped_column(String(200))
    round_id: Mapped[int | None] = mapped_column(ForeignKey("rounds.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class RateLimitHold(Base):
    """A platform's "retry after", for one workspace or tenant (and method), until a time.

    Kept in the database so a 429 one replica receives holds back every replica's sends to
    that workspace, and only to it (`bot.delivery.outbox`). `scope` is the adapter's
    name for what the platform limits, such as `slack:T0123:chat.postMessage` or
    `teams:<tenant id>`.
    """

    __tablename__ = "rate_limit_holds"
    scope: Mapped[str] = mapped_column(String(200), primary_key=True)
    until: Mapped[datetime]
    # Posts a second the scope takes, as learned from its 429s (the posts of the second
    # before one); the workers pace just under it. None until learned.
    rate: Mapped[float | None] = mapped_column(Float)


class SlackDmChannel(Base):
    """A person's DM channel with the bot in a workspace (`storage.dm_channels`).

    Opening a DM (`conversations.open`) is Slack's Tier 3, about 50 a minute; the channel
    never changes, so it is opened once and kept here for every replica and restart.
    `team_id` is "" for the SLACK_BOT_TOKEN workspace.
    """

    __tablename__ = "slack_dm_channels"
    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    channel_id: Mapped[str] = mapped_column(String(32))


class PendingCommand(Base):
    """A command acknowledged to the platform before it ran (Slack's slash commands).

    Slack wants a slash command acknowledged within three seconds, and opening a round
    for thousands of people takes longer; so the command is stored here first, then
    acknowledged, then carried out by the command runner (`bot.intake`), which claims a
    row like the outbox does and runs it through the engine under the row's event id:
    a crash after the ack, a restart or a replayed request runs it once.
    """

    __tablename__ = "pending_commands"
    __table_args__ = (Index("ix_pending_commands_due", "status", "received_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    # The platform's id for the request (Slack's trigger_id): a replay inserts nothing.
    dedup_key: Mapped[str] = mapped_column(String(200), unique=True)
    platform: Mapped[str] = mapped_column(String(16))
    event: Mapped[dict[str, Any]] = mapped_column(JSON)  # the serialised inbound event
    # pending | done | expired (too old to run when a runner first saw it) | failed
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class HealthCheck(Base):
    """The row `/healthz` writes and commits, so health means "an answer can be stored now".

    One row per replica: a probe that only reads (`select 1`) says "ok" while the disk is
    full or the SQLite file is read-only, and every answer fails.
    """

    __tablename__ = "health_checks"
    replica: Mapped[str] = mapped_column(String(200), primary_key=True)
    checked_at: Mapped[datetime]


class InboundEvent(Base):
    """Ids of processed inbound platform events, so retries are no-ops."""

    __tablename__ = "inbound_events"
    __table_args__ = (UniqueConstraint("platform", "event_id", name="uq_inbound_event"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    event_id: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class Digest(Base):
    """A digest that was built (on close or on demand), kept for history and comparison."""

    __tablename__ = "digests"
    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int | None] = mapped_column(ForeignKey("rounds.id", ondelete="SET NULL"))
    scope: Mapped[str] = mapped_column(String(40))  # a conversation key, or "all"
    requested_by: Mapped[str | None] = mapped_column(String(210))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)


class AuditEntry(Base):
    """An admin action (schedule change, pause, manual open/close), for accountability."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(210))
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(String(100))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


# -- Slack multi-workspace install ----------------------------------------------------------
# The tables of slack_sdk's SQLAlchemy installation and OAuth state stores
# (`SQLAlchemyInstallationStore`, `SQLAlchemyOAuthStateStore`, slack_sdk 3.x), copied here
# column for column. They are declared on our metadata on purpose: Alembic creates them
# (migration 0002, never `create_all` at runtime), `test_migrations_match_models` checks the
# migration against these copies, and `tests/slack/test_oauth.py` checks these copies
# against slack_sdk's own definitions, so a slack_sdk upgrade that changes its schema fails a
# test instead of a production install. Only slack_sdk reads and writes them (naive UTC
# datetimes, its convention), through `bot.adapters.slack.install`.
# One deliberate difference: the secret columns (SLACK_SECRET_COLUMNS) are TEXT, not
# slack_sdk's VARCHAR(200), because they hold Fernet tokens when SECRETS_KEYS is set (an
# encrypted 150-character rotating token is about 290 characters): migration 0010.

SLACK_SECRET_COLUMNS = {
    "slack_bots": ("bot_token", "bot_refresh_token"),
    "slack_installations": (
        "bot_token",
        "bot_refresh_token",
        "user_token",
        "user_refresh_token",
        "incoming_webhook_url",
    ),
}


def _slack_bots_columns() -> list[Any]:
    return [
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("client_id", String(32), nullable=False),
        Column("app_id", String(32), nullable=False),
        Column("enterprise_id", String(32)),
        Column("enterprise_name", String(200)),
        Column("team_id", String(32)),
        Column("team_name", String(200)),
        Column("bot_token", Text),
        Column("bot_id", String(32)),
        Column("bot_user_id", String(32)),
        Column("bot_scopes", String(1000)),
        Column("bot_refresh_token", Text),
        Column("bot_token_expires_at", DateTime),
    ]


slack_installations = Table(
    "slack_installations",
    Base.metadata,
    *_slack_bots_columns()[:5],
    Column("enterprise_url", String(200)),
    *_slack_bots_columns()[5:],
    Column("user_id", String(32), nullable=False),
    Column("user_token", Text),
    Column("user_scopes", String(1000)),
    Column("user_refresh_token", Text),
    Column("user_token_expires_at", DateTime),
    Column("incoming_webhook_url", Text),
    Column("incoming_webhook_channel", String(200)),
    Column("incoming_webhook_channel_id", String(200)),
    Column("incoming_webhook_configuration_url", String(200)),
    Column("is_enterprise_install", Boolean, nullable=False),
    Column("token_type", String(32)),
    Column("installed_at", DateTime, nullable=False),
    Index(
        "slack_installations_idx",
        "client_id",
        "enterprise_id",
        "team_id",
        "user_id",
        "installed_at",
    ),
)

slack_bots = Table(
    "slack_bots",
    Base.metadata,
    *_slack_bots_columns(),
    Column("is_enterprise_install", Boolean, nullable=False),
    Column("installed_at", DateTime, nullable=False),
    Index("slack_bots_idx", "client_id", "enterprise_id", "team_id", "installed_at"),
)

slack_oauth_states = Table(
    "slack_oauth_states",
    Base.metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("state", String(200), nullable=False),
    Column("expire_at", DateTime, nullable=False),
)


class TeamsReference(Base):
    """Where the Teams bot can reach a person or a channel, for proactive messages.

    Teams lets a bot post only into conversations it was installed in, and only through
    the `ConversationReference` (service URL, conversation id, tenant, bot and user) it
    saw there. The reference is stored as botbuilder serializes it, keyed by the address
    the engine uses (`teams:<AAD object id>` for a person, `teams:<conversation id>` for a
    channel). `installed` turns false when the bot is removed, or when Teams refuses a
    delivery for good (403 blocked or disabled, 404 conversation gone), so delivery fails
    at once with `unreachable_reason` instead of calling a conversation that is gone; any
    later activity from that conversation (a reinstall, a message) makes it usable again.
    """

    __tablename__ = "teams_references"
    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(String(210), unique=True)
    kind: Mapped[str] = mapped_column(String(20))  # personal | channel | groupChat
    reference: Mapped[dict[str, Any]] = mapped_column(JSON)
    installed: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    unreachable_reason: Mapped[str | None] = mapped_column(String(300), default=None)
