"""The playbook's schema: what a conversation, a question, a group and the roles are.

Pydantic validates it, so that a playbook either loads whole or fails with one message
per problem (see `bot.playbook.loader`, which adds file and line numbers). The models are
frozen: the engine snapshots a conversation's agenda into each round it opens.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import time, timedelta
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_serializer,
    field_validator,
    model_validator,
)

from bot.playbook.durations import (
    format_duration,
    parse_duration,
    parse_retention,
    retention_shortest,
)

KEY_PATTERN = r"^[a-z][a-z0-9-]{0,39}$"
# A role's name (`roles: {general_counsel: [...]}`): lower case, digits, `_` or `-`.
ROLE_NAME_PATTERN = r"^[a-z][a-z0-9_-]{0,39}$"
#: The roles every playbook has; any other key of `roles:` names a role of its own.
BUILT_IN_ROLES = ("cio", "admins")
IDENTITY_PATTERN = re.compile(r"^(console|slack|teams|email):\S{1,200}$")
EMAIL_PATTERN = re.compile(r"^email:[^@\s]+@[^@\s]+\.[^@\s]+$")
# Where a group's members can also come from, read each time a round opens (see `Group`).
# Slack ids are upper-case letters and digits; a multi-workspace install names the
# workspace first, as addresses do (`slack:T0123ABCD/usergroup:S0123ABC`).
SOURCE_PATTERN = re.compile(
    r"^slack:(?:T[A-Z0-9]{2,20}/)?(?:usergroup:S[A-Z0-9]{2,20}|channel:[CG][A-Z0-9]{2,20})$"
)
# A time of day on the 24-hour clock, as the playbook writes `local_time` ("09:30", "9:30").
LOCAL_TIME_PATTERN = re.compile(r"^([01]?[0-9]|2[0-3]):([0-5][0-9])$")
SOURCE_FORMS = (
    "slack:usergroup:S… (a Slack user group) or slack:channel:C… (a Slack channel),"
    " optionally with the workspace first (slack:T…/usergroup:S…)"
)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class QuestionType(StrEnum):
    """The kinds of agenda question a stakeholder can be asked."""

    TEXT = "text"
    RATING = "rating"
    SINGLE_CHOICE = "single_choice"
    MULTIPLE_CHOICE = "multiple_choice"
    YES_NO = "yes_no"
    NUMBER = "number"  # a measure: a figure in a unit, optionally against a target


def _known_role(value: str, info: ValidationInfo) -> str:
    """A role named by `confidential`, checked against the playbook's `roles` when known.

    The loader passes the role names as context so that an unknown one is reported at its
    own item (and YAML line); `Playbook._references` still checks without context. A
    round's agenda is read back without context: the roles it named are not re-checked.
    """
    known = (info.context or {}).get("role_names")
    if known is not None and value not in known:
        raise ValueError(_unknown_role(value, known))
    return value


def _distinct_roles(values: tuple[str, ...]) -> tuple[str, ...]:
    if not values:
        raise ValueError("name at least one role (with none, nobody could read the answers)")
    repeated = sorted({v for v in values if values.count(v) > 1})
    if repeated:
        raise ValueError(f"name each role once; repeated: {', '.join(repeated)}")
    return values


#: The roles that may read a question's answers: at least one, each named once.
Confidential = Annotated[
    tuple[Annotated[str, AfterValidator(_known_role)], ...],
    Field(max_length=20),
    AfterValidator(_distinct_roles),
]


class Question(_Frozen):
    """One agenda question.

    `maturity` marks a rating as the conversation's view of internal or external social
    maturity (seed 004), so the enterprise digest can place the organisation on that map.
    A `number` question is a measure ("ROIs should be quantifiable, easy to measure", seed
    003): its `unit` ("%", "hours"), an optional `target`, and whether `higher` or `lower`
    figures are `better`, so the digest can say whether a measure improved or fell.
    """

    id: Annotated[str, Field(pattern=KEY_PATTERN)]
    text: Annotated[str, Field(min_length=3, max_length=500)]
    # A short name for charts and the summary (a Slack chart legend holds 20 characters).
    label: Annotated[str, Field(min_length=1, max_length=20)] | None = None
    type: QuestionType = QuestionType.TEXT
    required: bool = True
    options: tuple[Annotated[str, Field(min_length=1, max_length=75)], ...] = ()
    # Rating labels: 1..5 -> label; at least the two ends.
    labels: dict[int, Annotated[str, Field(min_length=1, max_length=60)]] = Field(
        default_factory=dict
    )
    maturity: Literal["internal", "external"] | None = None
    help: Annotated[str, Field(max_length=300)] | None = None
    unit: Annotated[str, Field(min_length=1, max_length=20)] | None = None
    target: float | None = None
    better: Literal["higher", "lower"] = "higher"
    # Only these roles read this question's answers; everyone else sees how many answered
    # (`bot.flows.confidential`). Replaces the conversation's `confidential` for it.
    confidential: Confidential | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Question:
        choice = self.type in (QuestionType.SINGLE_CHOICE, QuestionType.MULTIPLE_CHOICE)
        if choice and len(self.options) < 2:
            raise ValueError(f"a {self.type.value} question needs at least two options")
        if not choice and self.options:
            raise ValueError(f"options only apply to choice questions, not {self.type.value}")
        if len(set(o.casefold() for o in self.options)) != len(self.options):
            raise ValueError("options must be distinct")
        if self.type is QuestionType.RATING:
            bad = [k for k in self.labels if not 1 <= k <= 5]
            if bad:
                raise ValueError(f"rating labels are for 1 to 5, not {bad}")
        elif self.labels:
            raise ValueError("labels only apply to rating questions")
        if self.maturity and self.type is not QuestionType.RATING:
            raise ValueError("maturity applies only to rating questions")
        if self.type is not QuestionType.NUMBER and (
            self.unit is not None or self.target is not None or self.better != "higher"
        ):
            raise ValueError("unit, target and better apply only to number questions")
        return self


class MemberSpec(_Frozen):
    """A stakeholder: a platform identity such as `slack:U012AB3CD` or `console:maria`.

    `name` and `timezone` may be left out: a Slack member then gets the name and time zone
    of their Slack profile (read when a round opens), anyone else their id and no zone.
    What the playbook says always wins over the directory.
    """

    id: str
    name: Annotated[str, Field(min_length=1, max_length=80)] | None = None
    timezone: str | None = None

    @field_validator("id")
    @classmethod
    def _identity(cls, value: str) -> str:
        if not IDENTITY_PATTERN.match(value):
            raise ValueError(
                "must be platform:id, with platform one of console, slack, teams, email"
                f" (got {value!r})"
            )
        if value.startswith("email:") and not EMAIL_PATTERN.match(value):
            # It is looked up in the chat directory as is (users.lookupByEmail).
            raise ValueError("email:… must be an address such as email:ana@example.com")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None:
            _check_zone(value)
        return value


def _check_source(value: str) -> str:
    if not SOURCE_PATTERN.match(value):
        raise ValueError(f"not a member source; use {SOURCE_FORMS}")
    return value


class Group(_Frozen):
    """A stakeholder group (marketing, HR, support, R&D, IT, legal/security).

    `members` are listed by hand. `sources` name chat-platform groups whose current
    members join too (`slack:usergroup:S…`, `slack:channel:C…`); they are read right
    before each round of the group opens, so people who join or leave the Slack group
    are asked, or not, from the next round on. A group may have both.
    """

    title: Annotated[str, Field(min_length=1, max_length=100)]
    members: tuple[MemberSpec, ...] = ()
    # Each item is checked on its own, so a bad one is reported at its own line.
    sources: tuple[Annotated[str, AfterValidator(_check_source)], ...] = ()

    @field_validator("sources")
    @classmethod
    def _distinct(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        repeated = sorted({v for v in values if values.count(v) > 1})
        if repeated:
            raise ValueError(f"sources must be distinct; repeated: {', '.join(repeated)}")
        return values


class Conversation(_Frozen):
    """One of the strategy conversations: who takes part, what is asked, how often.

    `local_time` ("09:30") holds each participant's opening prompt until that time of day
    in their own time zone (see `bot.flows.rounds.open_round` for the rule, including when
    it is sent at once instead). It is kept as the normalised "HH:MM" text rather than a
    `time` so that the JSON snapshot a round keeps of its agenda reads back unchanged.
    """

    key: Annotated[str, Field(pattern=KEY_PATTERN)]
    title: Annotated[str, Field(min_length=1, max_length=80)]
    purpose: Annotated[str, Field(min_length=1, max_length=600)]
    groups: tuple[str, ...] = Field(min_length=1)
    cadence: str
    response_window: timedelta = timedelta(days=3)
    reminders: tuple[timedelta, ...] = (timedelta(days=1),)
    anonymous: bool = False
    # In an anonymous conversation, a round with a group smaller than this shows no
    # per-group breakdown and pools its text answers across groups (bot.flows.digest).
    min_group_size: int = Field(3, ge=1, le=50)
    local_time: str | None = None
    # Close the round as soon as everyone asked has finished (answered or skipped it),
    # instead of at its deadline. Off by default: a prompt says "you can edit until the
    # round closes", and people expect that until the deadline it names.
    close_when_all_answered: bool = False
    # How many closed rounds each rating and number question trends over in the digest.
    trend_rounds: int = Field(6, ge=2, le=50)
    # When a round closes, tell each participant what the group said (no names, no quotes).
    what_we_heard: bool = True
    # How long answers are kept after their round closes ("24 months", "90d"); None: the
    # playbook's `retention`, and with neither, kept until `forget` (bot.flows.retention).
    retention: str | None = None
    # The words of this conversation's area (intellectual property, privacy → Social
    # Liability): a topic raised elsewhere with one of them is a hand-off to it.
    area: tuple[Annotated[str, Field(min_length=1, max_length=60)], ...] = ()
    # Only these roles read the answers of its questions (a question's own list wins);
    # everyone else, the CIO channel included, sees how many answered.
    confidential: Confidential | None = None
    questions: tuple[Question, ...] = Field(min_length=1, max_length=20)

    @field_validator("retention", mode="before")
    @classmethod
    def _retention(cls, value: object, info: ValidationInfo) -> object:
        if value is None:
            return None
        text = parse_retention(value)
        window = info.data.get("response_window")
        if isinstance(window, timedelta):
            _check_retention(text, window)
        return text

    @field_validator("response_window", mode="before")
    @classmethod
    def _window(cls, value: object) -> object:
        # Anything but a timedelta goes through our grammar: a bare number would otherwise
        # be taken by pydantic as seconds (`response_window: 3` meaning three seconds).
        if isinstance(value, timedelta):
            return value
        return parse_duration(value)  # type: ignore[arg-type]  # it rejects non-strings itself

    @field_validator("reminders", mode="before")
    @classmethod
    def _reminders(cls, value: object) -> object:
        if isinstance(value, list | tuple):
            return tuple(v if isinstance(v, timedelta) else parse_duration(v) for v in value)
        return value

    @field_validator("local_time", mode="before")
    @classmethod
    def _local_time(cls, value: object) -> object:
        # Before pydantic's own str check: YAML 1.1 reads an unquoted 10:00 as the base-60
        # number 600, and "Input should be a valid string" would not say why.
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 24 * 60:
            hours, minutes = divmod(value, 60)
            raise ValueError(
                f'put the time in quotes, local_time: "{hours:02d}:{minutes:02d}"; unquoted,'
                f" YAML reads {hours}:{minutes:02d} as the number {value}"
            )
        if not isinstance(value, str):
            raise ValueError('must be a time of day in quotes, e.g. local_time: "09:30"')
        match = LOCAL_TIME_PATTERN.match(value.strip())
        if match is None:
            raise ValueError(
                'must be a time of day "HH:MM" on the 24-hour clock, from "00:00" to "23:59"'
            )
        return f"{int(match[1]):02d}:{match[2]}"

    def all_confidential(self) -> set[str]:
        """Every role its `confidential` lists name, the conversation's and its questions'."""
        names = set(self.confidential or ())
        for q in self.questions:
            names.update(q.confidential or ())
        return names

    def local_time_of_day(self) -> time | None:
        """`local_time` as a `time`, or None when prompts go out as the round opens."""
        if self.local_time is None:
            return None
        hours, minutes = self.local_time.split(":")
        return time(int(hours), int(minutes))

    @field_serializer("response_window", when_used="json")
    def _dump_window(self, value: timedelta) -> str:
        # JSON dumps are read back with model_validate (storage keeps the spec as JSON), so
        # they must use the same grammar as the playbook, not pydantic's ISO 8601 "P3D".
        return format_duration(value)

    @field_serializer("reminders", when_used="json")
    def _dump_reminders(self, value: tuple[timedelta, ...]) -> list[str]:
        return [format_duration(v) for v in value]

    @field_validator("groups")
    @classmethod
    def _known_groups(cls, value: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        # The loader passes the playbook's group keys as context so that an unknown group is
        # reported at this field (and its YAML line); `Playbook._references` still checks
        # when there is no context.
        known = (info.context or {}).get("group_keys")
        if known is not None:
            unknown = [g for g in value if g not in known]
            if unknown:
                raise ValueError(_unknown_groups(str(info.data.get("key", "?")), unknown, known))
        return value

    @field_validator("cadence")
    @classmethod
    def _cadence(cls, value: str) -> str:
        from bot.flows.cadence import parse_cadence  # late import: cadence imports nothing back

        parse_cadence(value)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Conversation:
        ids = [q.id for q in self.questions]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"question ids must be unique; repeated: {', '.join(dupes)}")
        for r in self.reminders:
            if r >= self.response_window:
                raise ValueError(
                    "each reminder is a time before the deadline and must be shorter than"
                    " the response window"
                )
        return self


def _role_name(value: str) -> str:
    if not re.match(ROLE_NAME_PATTERN, value):
        raise ValueError(
            "a role's name is lower-case letters, digits, _ and -, starting with a letter,"
            " at most 40 characters (general_counsel)"
        )
    return value


def _identity(value: str) -> str:
    if not IDENTITY_PATTERN.match(value):
        raise ValueError(f"{value!r} is not a platform:id identity")
    return value


class Roles(_Frozen):
    """Who is the CIO, who administers the bot, and the playbook's own named roles.

    `cio` and `admins` are built in. Any other key names a role of its own, a list of
    identities like them (`general_counsel: [slack:U0123]`); such a role grants nothing
    but reading the answers of the conversations and questions whose `confidential`
    names it (`bot.flows.confidential`), so a role no `confidential` names would do
    nothing, and is reported (usually a typo, `admin:` for `admins:`, that would leave
    someone without the rights the author meant). `cio` and `admins` are role names too.
    """

    # Extra keys are the named roles, validated like `cio` and `admins` item by item, so a
    # bad identity is reported at its own line.
    model_config = ConfigDict(frozen=True, extra="allow")
    __pydantic_extra__: dict[
        Annotated[str, AfterValidator(_role_name)],
        tuple[Annotated[str, AfterValidator(_identity)], ...],
    ]

    cio: tuple[Annotated[str, AfterValidator(_identity)], ...] = Field(min_length=1)
    admins: tuple[Annotated[str, AfterValidator(_identity)], ...] = ()

    @property
    def named(self) -> dict[str, tuple[str, ...]]:
        """The playbook's own roles (not `cio` or `admins`): name -> identities."""
        return dict(self.__pydantic_extra__ or {})

    def names(self) -> list[str]:
        """Every role name a `confidential` list may use, built-in ones first."""
        return [*BUILT_IN_ROLES, *sorted(self.named)]

    def holders(self, name: str) -> tuple[str, ...]:
        """The identities holding a role (none for a name the playbook does not have)."""
        if name == "cio":
            return self.cio
        if name == "admins":
            return self.admins
        return self.named.get(name, ())

    def held_by(self, actor: str) -> frozenset[str]:
        """The names of the roles an identity holds."""
        return frozenset(name for name in self.names() if actor in self.holders(name))


class Playbook(_Frozen):
    """A whole playbook: the organisation's conversations, groups, roles and CIO channel."""

    version: Literal[1] = 1
    organisation: Annotated[str, Field(min_length=1, max_length=100)] = "Our organisation"
    cio_channel: str
    roles: Roles
    groups: dict[Annotated[str, Field(pattern=KEY_PATTERN)], Group]
    conversations: tuple[Conversation, ...] = Field(min_length=1)
    # The default retention of every conversation that sets none (see Conversation).
    retention: str | None = None

    @field_validator("retention", mode="before")
    @classmethod
    def _retention(cls, value: object, info: ValidationInfo) -> object:
        if value is None:
            return None
        text = parse_retention(value)
        for conv in info.data.get("conversations") or ():
            if conv.retention is None:
                try:
                    _check_retention(text, conv.response_window)
                except ValueError as exc:
                    raise ValueError(f"{conv.key}: {exc}") from None
        return text

    def retention_of(self, key: str) -> str | None:
        """The retention in force for a conversation: its own, else the playbook's."""
        conv = self.conversation(key)
        own = conv.retention if conv is not None else None
        return own or self.retention

    @field_validator("cio_channel")
    @classmethod
    def _channel(cls, value: str) -> str:
        if not IDENTITY_PATTERN.match(value):
            raise ValueError(f"{value!r} is not a platform:id channel (e.g. slack:C0123456789)")
        return value

    @model_validator(mode="after")
    def _references(self) -> Playbook:
        keys = [c.key for c in self.conversations]
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            raise ValueError(f"conversation keys must be unique; repeated: {', '.join(dupes)}")
        for conv in self.conversations:
            unknown = [g for g in conv.groups if g not in self.groups]
            if unknown:
                raise ValueError(_unknown_groups(conv.key, unknown, self.groups))
        known = self.roles.names()
        for conv in self.conversations:
            for name in conv.all_confidential():
                if name not in known:
                    raise ValueError(f"{conv.key}: {_unknown_role(name, known)}")
        return self

    def unused_roles(self) -> list[str]:
        """The playbook's own roles that no `confidential` names (they would do nothing).

        The loader reports each at its line (`bot.playbook.loader`): such a role is nearly
        always a typo (`admin:` for `admins:`) that leaves someone without the rights meant.
        """
        used = {name for conv in self.conversations for name in conv.all_confidential()}
        return sorted(set(self.roles.named) - used)

    def conversation(self, key: str) -> Conversation | None:
        """The conversation with this key, if any."""
        return next((c for c in self.conversations if c.key == key), None)

    def members_of(self, conversation: Conversation) -> list[tuple[str, MemberSpec]]:
        """(group key, member) for everyone a conversation prompts, each identity once."""
        seen: set[str] = set()
        out: list[tuple[str, MemberSpec]] = []
        for gkey in conversation.groups:
            for member in self.groups[gkey].members:
                if member.id not in seen:
                    seen.add(member.id)
                    out.append((gkey, member))
        return out


def _unknown_groups(key: str, unknown: list[str], known: Iterable[str]) -> str:
    return (
        f"conversation {key!r} names unknown group(s) {', '.join(unknown)};"
        f" known groups: {', '.join(sorted(known)) or '(none)'}"
    )


def _unknown_role(name: str, known: Iterable[str]) -> str:
    return (
        f"confidential names unknown role {name!r}; the playbook's roles are"
        f" {', '.join(known)} (add it under roles: with the identities who hold it)"
    )


def unused_role(name: str) -> str:
    """The loader's problem for a role of the playbook's own that no `confidential` names."""
    import difflib

    close = difflib.get_close_matches(name, BUILT_IN_ROLES, n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return (
        f"no conversation or question names the role {name!r} in confidential; a role of"
        f" your own only lets its holders read confidential answers{hint}"
    )


def _check_retention(retention: str, window: timedelta) -> None:
    """A retention must outlast a round: answers would go while people can still edit them."""
    if retention_shortest(retention) < window:
        raise ValueError(
            f"a retention of {retention} is shorter than the response window"
            f" ({format_duration(window)}): answers would be deleted before their round closes"
        )


def _check_zone(name: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown timezone {name!r} (use an IANA name like Europe/Berlin)"
        ) from None
